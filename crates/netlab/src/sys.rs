//! The lab's contact with the system: the `ip`, `tc`, `nft` and `sysctl` programs, the lock that
//! makes a slot of the address range one lab's, and entering a namespace from a thread.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rustix::fs::{FlockOperation, flock};
use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use crate::{LabError, Names};

/// Where the slot locks live: tmpfs, so a reboot frees them with everything else.
pub const LOCK_DIR: &str = "/run/quartet-netlab";
/// Where `ip netns` keeps its named namespaces.
pub const NETNS_DIR: &str = "/run/netns";

/// Runs `cmd`, turning a missing program or a failure into an error that quotes its stderr.
pub(crate) fn run(cmd: &mut Command) -> Result<(), LabError> {
    run_with_input(cmd, None)
}

/// Runs `cmd` with `input` on its stdin (for `nft -f -`).
pub(crate) fn run_with_input(cmd: &mut Command, input: Option<&str>) -> Result<(), LabError> {
    let described = describe(cmd);
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LabError::Missing(program_of(cmd)),
        _ => LabError::Io(e),
    })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(LabError::Command {
            command: described,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Runs `cmd` and returns its stdout.
pub(crate) fn output(cmd: &mut Command) -> Result<String, LabError> {
    let described = describe(cmd);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => LabError::Missing(program_of(cmd)),
            _ => LabError::Io(e),
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(LabError::Command {
            command: described,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

fn program_of(cmd: &Command) -> String {
    cmd.get_program().to_string_lossy().into_owned()
}

/// `ip` with the given arguments.
pub(crate) fn ip<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(args: I) -> Command {
    let mut c = Command::new("ip");
    c.args(args);
    c
}

/// The lock on one slot of the address range, held for as long as the lab lives (and released
/// by the kernel if the process dies, which is how leftovers are told from live labs).
pub(crate) struct SlotLock {
    _file: File,
}

impl SlotLock {
    /// Takes slot `index` if no living process holds it.
    pub(crate) fn try_take(index: u32) -> Result<Option<Self>, LabError> {
        std::fs::create_dir_all(LOCK_DIR)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock_path(index))?;
        match flock(file.as_fd(), FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(LabError::Io(e.into())),
        }
    }
}

fn lock_path(index: u32) -> PathBuf {
    Path::new(LOCK_DIR).join(format!("{index}.lock"))
}

/// Removes whatever a lab in this slot may have left: processes in its namespace, the namespace
/// (which takes the veth pair and the delay device with it), the host's veth end and nft table.
/// Call only while holding the slot's lock. Failures are ignored: most of it is usually absent.
pub(crate) fn clean_slot(names: &Names) {
    kill_inside(&names.netns);
    let _ = run(Command::new("nft").args(["delete", "table", "netdev", &names.table]));
    let _ = run(&mut ip(["netns", "del", &names.netns]));
    if Path::new("/sys/class/net").join(&names.host_dev).exists() {
        let _ = run(&mut ip(["link", "del", &names.host_dev]));
    }
}

/// Kills what still runs inside the namespace, which would otherwise keep it (and the veth
/// pair) alive after `ip netns del`.
fn kill_inside(netns: &str) {
    if !Path::new(NETNS_DIR).join(netns).exists() {
        return;
    }
    let Ok(pids) = output(&mut ip(["netns", "pids", netns])) else {
        return;
    };
    for pid in pids.split_whitespace() {
        let _ = run(Command::new("kill").args(["-KILL", pid]));
    }
    // A signal is delivered asynchronously: wait until the namespace is empty, so a lab that has
    // dropped has nothing running any more (a busy machine may take a moment to reap).
    let deadline = std::time::Instant::now() + KILL_WAIT;
    while std::time::Instant::now() < deadline {
        match output(&mut ip(["netns", "pids", netns])) {
            Ok(left) if !left.trim().is_empty() => std::thread::sleep(KILL_POLL),
            _ => return,
        }
    }
}

/// Longest a lab waits for what it killed inside its namespace to be gone.
const KILL_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// How often it looks meanwhile.
const KILL_POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Slots whose namespace exists now, by the name prefix.
pub(crate) fn slots_with_namespace(prefix: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            name.to_str()?.strip_prefix(prefix)?.parse().ok()
        })
        .collect()
}

/// Moves the calling thread into the named network namespace.
pub(crate) fn enter(netns_file: &File) -> io::Result<()> {
    move_into_link_name_space(netns_file.as_fd(), Some(LinkNameSpaceType::Network))
        .map_err(io::Error::from)
}

/// Opens the handle `enter` needs.
pub(crate) fn open_netns(netns: &str) -> io::Result<File> {
    File::open(Path::new(NETNS_DIR).join(netns))
}

/// Whether this process may build a lab.
pub(crate) fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

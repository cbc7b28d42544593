//! A network lab for tests and benchmarks: one call member in a network namespace of its own,
//! joined to the host by a veth pair whose two directions can be made narrow, lossy and slow.
//!
//! # Use
//!
//! ```no_run
//! use quartet_netlab::{Direction, LinkProfile, NetLab};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let lab = NetLab::new()?; // needs root
//! lab.set(Direction::Uplink, &LinkProfile::kbps(300))?;
//! // Servers listen on the host's end; the member reaches them at `lab.host_addr()`.
//! let server = format!("http://{}:18080", lab.host_addr());
//! let mut bot = lab.command("quartet");
//! bot.args(["bot", "--server", &server, "--create", "lab", "--duration", "20"]);
//! let status = bot.status()?;
//! # let _ = status;
//! # Ok(())
//! # }
//! ```
//!
//! [`NetLab::command`] runs a program inside the namespace (`ip netns exec`); code of the test
//! itself runs there through [`NetLab::spawn_inside`], a thread that enters the namespace, so
//! its std sockets are the member's. [`NetLab::play`] changes the link over time.
//!
//! # What each knob is in the kernel
//!
//! | knob | uplink (member → host) | downlink (host → member) |
//! |---|---|---|
//! | `rate_bps`, `burst_bytes`, `queue_latency` | `tc qdisc replace … root tbf rate R burst B latency L` on the member's veth end | the same on the host's veth end |
//! | `loss_percent` | nftables `numgen random mod 10000 < N drop` on ingress of the host's veth end | the same on ingress of the member's veth end |
//! | `delay` | held in the lab's delay stage before the bottleneck | held in the delay stage after the bottleneck |
//!
//! So loss strikes after the bottleneck's queue, as on a radio link, and a dropped packet has
//! already used its share of the rate. Every name a lab makes starts with [`NAME_PREFIX`] and
//! its slot number; its addresses are the slot's /30 in [`SUBNET`]. Nothing leaves these
//! namespaces: the only addresses are the two ends of the veth pair.
//!
//! # Why a delay stage of our own
//!
//! `netem`, the kernel's delay and loss emulator, is not in this kernel (nor `fq`, `cake`,
//! `htb`, `sfq`, `prio`, `red`: "Specified qdisc kind is unknown"). So the lab adds delay in
//! user space: policy routing in the namespace sends every packet between the two ends through a
//! TUN device (`qlabNd`) once, and a thread of the lab (`netlab-delay-N`) holds each for its
//! direction's delay before writing it back, in order. Packets take two extra copies, which is
//! nothing at the rates a call uses. With no delay set, packets pass straight through.
//!
//! # Lifetime
//!
//! Drop tears everything down (even while a panic unwinds): the schedule and delay threads are
//! stopped and joined, anything still running in the namespace is killed, the namespace, veth
//! pair and nft tables are deleted. A slot is held through a lock under [`sys::LOCK_DIR`] that
//! the kernel releases when the process dies, so a new lab knows leftovers of a crashed run
//! (a namespace with the prefix whose lock is free) and removes them first.
//!
//! # Root
//!
//! Building a lab needs root (`CAP_NET_ADMIN` and `CAP_SYS_ADMIN`): [`NetLab::new`] says so with
//! [`LabError::NotRoot`]. Tests that need it are `#[ignore = "needs root: network lab"]` and
//! named `netlab_…`, and `cargo xtask test` runs them when it is root.

mod delay;
pub mod profile;
pub mod schedule;
mod setup;
pub mod sys;

use std::ffi::OsStr;
use std::io;
use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

pub use delay::MAX_HELD_PACKETS;
pub use profile::{Direction, LinkProfile, ProfileError};
pub use schedule::{Schedule, Step};

use delay::{DelayStage, Delays};
use schedule::Player;
use setup::Link;

/// Start of every name a lab makes: namespace `qlabN`, veth ends `qlabNh` (host) and `qlabNm`
/// (member), delay device `qlabNd`, nft tables `qlabN`. Short, because interface names have 15
/// bytes at most.
pub const NAME_PREFIX: &str = "qlab";
/// The private range the labs' /30s come from; slot N has the Nth /30.
pub const SUBNET: Ipv4Addr = Ipv4Addr::new(10, 231, 0, 0);
/// Labs that may exist at once on one machine: bounds the slots a new lab tries, and keeps the
/// addresses inside 10.231.0.0/20.
pub const MAX_LABS: u32 = 1024;

/// What went wrong building or changing a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Namespaces, veth pairs and qdiscs need root.
    #[error("the network lab needs root (network namespaces, veth pairs, tc, nftables)")]
    NotRoot,
    /// A program the lab drives is not installed.
    #[error("{0} is not installed (Debian: iproute2, nftables, procps); run `cargo xtask setup`")]
    Missing(String),
    /// A program the lab drives refused.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line.
        command: String,
        /// What it said.
        stderr: String,
    },
    /// Every slot is held by a living lab.
    #[error("all {MAX_LABS} lab slots are in use")]
    NoFreeSlot,
    /// The profile is outside what the link accepts.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// The thread applying a schedule panicked.
    #[error("the schedule thread panicked")]
    SchedulePanicked,
    /// A system call failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// The names of everything one slot's lab makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) netns: String,
    pub(crate) host_dev: String,
    pub(crate) member_dev: String,
    pub(crate) delay_dev: String,
    pub(crate) table: String,
}

impl Names {
    fn of(slot: u32) -> Self {
        let base = format!("{NAME_PREFIX}{slot}");
        Self {
            netns: base.clone(),
            host_dev: format!("{base}h"),
            member_dev: format!("{base}m"),
            delay_dev: format!("{base}d"),
            table: base,
        }
    }
}

/// The host's and the member's address in slot `slot` (`.1` and `.2` of its /30).
pub fn slot_addrs(slot: u32) -> (Ipv4Addr, Ipv4Addr) {
    let base = u32::from(SUBNET) + slot * 4;
    (Ipv4Addr::from(base + 1), Ipv4Addr::from(base + 2))
}

/// One member behind a shaped link: a namespace, a veth pair to the host, a delay stage.
pub struct NetLab {
    slot: u32,
    host: Ipv4Addr,
    member: Ipv4Addr,
    link: Arc<Link>,
    player: Option<Player>,
    delay: Option<DelayStage>,
    _lock: sys::SlotLock,
}

impl NetLab {
    /// Builds a lab in the first free slot, after removing leftovers of crashed runs.
    pub fn new() -> Result<Self, LabError> {
        if !sys::is_root() {
            return Err(LabError::NotRoot);
        }
        sweep_leftovers()?;
        for slot in 0..MAX_LABS {
            if let Some(lock) = sys::SlotLock::try_take(slot)? {
                return Self::build(slot, lock);
            }
        }
        Err(LabError::NoFreeSlot)
    }

    fn build(slot: u32, lock: sys::SlotLock) -> Result<Self, LabError> {
        let names = Names::of(slot);
        sys::clean_slot(&names);
        let (host, member) = slot_addrs(slot);
        let delays = Arc::new(Delays::default());
        // From here on, Drop removes whatever part was made if a later step fails.
        let mut lab = Self {
            slot,
            host,
            member,
            link: Arc::new(Link::new(names.clone(), delays.clone())),
            player: None,
            delay: None,
            _lock: lock,
        };
        setup::create_link(&names, host, member)?;
        let netns = sys::open_netns(&names.netns)?;
        let dev_name = names.delay_dev.clone();
        // The device is created in the namespace of the thread that opens it.
        let device = std::thread::scope(|s| {
            s.spawn(|| -> io::Result<tun_rs::SyncDevice> {
                sys::enter(&netns)?;
                tun_rs::DeviceBuilder::new()
                    .name(dev_name)
                    .packet_information(false)
                    .build_sync()
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("creating the delay device panicked")))
        })?;
        lab.delay = Some(DelayStage::start(
            format!("netlab-delay-{slot}"),
            device,
            host,
            delays,
        )?);
        setup::route_through_delay(&names, host, member)?;
        setup::create_loss_tables(&names)?;
        Ok(lab)
    }

    /// The lab's slot number, which its names and addresses derive from.
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// The namespace's name, for `ip netns exec` and `ip -n`.
    pub fn namespace(&self) -> &str {
        &self.link.names.netns
    }

    /// The host's end of the link: where servers listen for the member.
    pub fn host_addr(&self) -> Ipv4Addr {
        self.host
    }

    /// The member's address inside the namespace.
    pub fn member_addr(&self) -> Ipv4Addr {
        self.member
    }

    /// A command that runs `program` inside the namespace (`ip netns exec NS program`); add its
    /// arguments and spawn it as usual. End it before the lab drops, or the drop kills it.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", self.namespace()]).arg(program);
        c
    }

    /// Runs `f` on a new thread (named `name`) inside the namespace: its sockets are the
    /// member's. The thread's result is an error if entering the namespace failed.
    pub fn spawn_inside<T, F>(&self, name: &str, f: F) -> io::Result<JoinHandle<io::Result<T>>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let netns = sys::open_netns(self.namespace())?;
        std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || {
                sys::enter(&netns)?;
                Ok(f())
            })
    }

    /// Gives one direction of the link this profile, replacing what it had.
    pub fn set(&self, direction: Direction, profile: &LinkProfile) -> Result<(), LabError> {
        self.link.apply(direction, profile)
    }

    /// The profile one direction has now.
    pub fn profile(&self, direction: Direction) -> LinkProfile {
        self.link.current(direction)
    }

    /// Starts applying `schedule`, counted from now (which it returns), replacing a schedule
    /// still running. Every profile is checked before anything starts.
    pub fn play(&mut self, schedule: Schedule) -> Result<Instant, LabError> {
        self.stop_schedule()?;
        let start = Instant::now();
        let name = format!("netlab-schedule-{}", self.slot);
        self.player = Some(Player::start(name, self.link.clone(), schedule, start)?);
        Ok(start)
    }

    /// Stops the running schedule, if any, and says whether all its steps so far applied.
    pub fn stop_schedule(&mut self) -> Result<(), LabError> {
        self.player.take().map_or(Ok(()), Player::stop)
    }
}

impl Drop for NetLab {
    fn drop(&mut self) {
        drop(self.player.take());
        drop(self.delay.take());
        sys::clean_slot(&self.link.names);
    }
}

/// Removes the namespaces (and what hangs on them) of labs whose process died.
fn sweep_leftovers() -> Result<(), LabError> {
    for slot in sys::slots_with_namespace(NAME_PREFIX) {
        if slot >= MAX_LABS {
            continue;
        }
        if let Some(_lock) = sys::SlotLock::try_take(slot)? {
            sys::clean_slot(&Names::of(slot));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_get_disjoint_thirty_twos_inside_the_subnet() {
        assert_eq!(
            slot_addrs(0),
            (Ipv4Addr::new(10, 231, 0, 1), Ipv4Addr::new(10, 231, 0, 2))
        );
        assert_eq!(
            slot_addrs(1),
            (Ipv4Addr::new(10, 231, 0, 5), Ipv4Addr::new(10, 231, 0, 6))
        );
        assert_eq!(
            slot_addrs(MAX_LABS - 1),
            (
                Ipv4Addr::new(10, 231, 15, 253),
                Ipv4Addr::new(10, 231, 15, 254)
            )
        );
    }

    #[test]
    fn names_fit_an_interface_name() {
        let n = Names::of(MAX_LABS - 1);
        for dev in [&n.host_dev, &n.member_dev, &n.delay_dev] {
            assert!(dev.len() <= 15, "{dev} is too long for an interface name");
        }
        assert_eq!(n.netns, "qlab1023");
        assert_eq!(n.host_dev, "qlab1023h");
    }
}

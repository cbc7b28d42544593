//! The app's CPU while a call runs, per process: the app itself and every process it started
//! (WebKit's web, network and GPU processes), read from Linux's `/proc` before and after a
//! steady stretch. Elsewhere there is nothing to read, and the figures say so.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The app's executable name, as `/proc/<pid>/stat` shows it (15 characters at most).
pub const APP_COMM: &str = "quartet-app";
/// Clock ticks per second of `/proc`'s CPU times (Linux's `USER_HZ`, 100 on every mainstream
/// architecture).
const TICKS_PER_SECOND: f64 = 100.0;

/// One process at one moment.
#[derive(Debug, Clone, PartialEq)]
struct Process {
    name: String,
    parent: u32,
    /// User and system time so far, in ticks.
    ticks: u64,
}

/// The app's processes at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    processes: BTreeMap<u32, Process>,
}

/// The name, parent and CPU ticks of a `/proc/<pid>/stat` line.
fn parse_stat(text: &str) -> Option<Process> {
    // The name is in parentheses and may hold spaces or parentheses itself.
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state, ppid, …; utime and stime are fields 14 and 15 of the whole line.
    let parent = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Process {
        name,
        parent,
        ticks: utime + stime,
    })
}

/// Every app process now: those named [`APP_COMM`] and all their descendants.
pub fn sample() -> Sample {
    let mut all = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some(p) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|t| parse_stat(&t))
            {
                all.insert(pid, p);
            }
        }
    }
    Sample {
        at: Instant::now(),
        processes: family(all),
    }
}

/// The processes named [`APP_COMM`] and their descendants.
fn family(all: BTreeMap<u32, Process>) -> BTreeMap<u32, Process> {
    let belongs = |mut pid: u32| {
        // Bounded: a process tree is never this deep, and a cycle cannot hang the test.
        for _ in 0..64 {
            match all.get(&pid) {
                Some(p) if p.name == APP_COMM => return true,
                Some(p) if p.parent != 0 => pid = p.parent,
                _ => return false,
            }
        }
        false
    };
    all.iter()
        .filter(|(pid, _)| belongs(**pid))
        .map(|(pid, p)| (*pid, p.clone()))
        .collect()
}

/// Each process's share of one core between two samples, by name (processes of one name
/// summed), and the total; empty where `/proc` had nothing.
pub fn shares(before: &Sample, after: &Sample) -> (Vec<(String, f64)>, f64) {
    let seconds = after
        .at
        .duration_since(before.at)
        .max(Duration::from_millis(1))
        .as_secs_f64();
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    for (pid, p) in &after.processes {
        let was = before.processes.get(pid).map_or(0, |b| b.ticks);
        let used = p.ticks.saturating_sub(was) as f64 / TICKS_PER_SECOND;
        *by_name.entry(p.name.clone()).or_default() += used / seconds * 100.0;
    }
    let total = by_name.values().sum();
    (by_name.into_iter().collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_name_parent_and_ticks_even_with_spaces_in_the_name() {
        let line =
            "4242 (WebKit Web (x)) S 4200 4242 4200 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 9 0";
        let p = parse_stat(line).expect("a stat line");
        assert_eq!(p.name, "WebKit Web (x)");
        assert_eq!(p.parent, 4200);
        assert_eq!(p.ticks, 200);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn the_family_is_the_app_and_what_it_started_and_shares_add_up() {
        let p = |name: &str, parent: u32, ticks: u64| Process {
            name: name.into(),
            parent,
            ticks,
        };
        let before = BTreeMap::from([
            (1, p("init", 0, 0)),
            (10, p(APP_COMM, 1, 100)),
            (11, p("WebKitWebProcess", 10, 50)),
            (20, p("nginx", 1, 500)),
        ]);
        let mut after = before.clone();
        after.insert(10, p(APP_COMM, 1, 150));
        after.insert(11, p("WebKitWebProcess", 10, 75));
        after.insert(12, p("WebKitNetworkProcess", 10, 5));
        after.insert(20, p("nginx", 1, 900));
        let at = Instant::now();
        let before = Sample {
            at,
            processes: family(before),
        };
        let after = Sample {
            at: at + Duration::from_secs(1),
            processes: family(after),
        };
        assert_eq!(before.processes.len(), 2);
        let (each, total) = shares(&before, &after);
        let names: Vec<&str> = each.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["WebKitNetworkProcess", "WebKitWebProcess", APP_COMM]
        );
        assert!((total - 80.0).abs() < 1e-9, "{total}");
    }
}

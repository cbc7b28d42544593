//! The app's CPU while a call runs, per process: the app itself and every process it started
//! (WebKit's web, network and GPU processes), read from Linux's `/proc` before and after a
//! steady stretch. Elsewhere there is nothing to read, and the figures say so.

use quartet_testkit::{ProcessStat, process_stat};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The app's executable name, as `/proc/<pid>/stat` shows it (15 characters at most).
pub const APP_COMM: &str = "quartet-app";

/// The app's processes at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    processes: BTreeMap<u32, ProcessStat>,
}

/// Every app process now: those named [`APP_COMM`] and all their descendants.
pub fn sample() -> Sample {
    let mut all = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some(p) = process_stat(pid) {
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
fn family(all: BTreeMap<u32, ProcessStat>) -> BTreeMap<u32, ProcessStat> {
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
        let was = before.processes.get(pid).map_or(0.0, |b| b.cpu_seconds);
        let used = (p.cpu_seconds - was).max(0.0);
        *by_name.entry(p.name.clone()).or_default() += used / seconds * 100.0;
    }
    let total = by_name.values().sum();
    (by_name.into_iter().collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_family_is_the_app_and_what_it_started_and_shares_add_up() {
        let p = |name: &str, parent: u32, ticks: u32| ProcessStat {
            name: name.into(),
            parent,
            cpu_seconds: f64::from(ticks) / 100.0,
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

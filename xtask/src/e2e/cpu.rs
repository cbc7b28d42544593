//! The app's CPU while a call runs, per process: the app itself and every process it started
//! (WebKit's web, network and GPU processes), read from Linux's `/proc` before and after a
//! steady stretch, and within them by thread (`/proc/<pid>/task`), so a figure says where the
//! time goes. Elsewhere there is nothing to read, and the figures say so.

use quartet_testkit::{ProcessStat, parse_stat, process_stat};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The app's executable name, as `/proc/<pid>/stat` shows it (15 characters at most).
pub const APP_COMM: &str = "quartet-app";

/// Threads listed in the report, busiest first; the rest are summed as "other".
pub const THREADS_LISTED: usize = 10;

/// The app's processes at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    processes: BTreeMap<u32, ProcessStat>,
    /// Each thread of those processes, by (process name, thread id).
    threads: BTreeMap<(String, u32), ProcessStat>,
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
    let processes = family(all);
    let mut threads = BTreeMap::new();
    for (pid, p) in &processes {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for entry in dir.flatten() {
            let Ok(tid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat"));
            if let Some(t) = stat.ok().as_deref().and_then(parse_stat) {
                threads.insert((p.name.clone(), tid), t);
            }
        }
    }
    Sample {
        at: Instant::now(),
        processes,
        threads,
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
    let seconds = seconds_between(before, after);
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    for (pid, p) in &after.processes {
        let was = before.processes.get(pid).map_or(0.0, |b| b.cpu_seconds);
        let used = (p.cpu_seconds - was).max(0.0);
        *by_name.entry(p.name.clone()).or_default() += used / seconds * 100.0;
    }
    let total = by_name.values().sum();
    (by_name.into_iter().collect(), total)
}

/// The busiest threads' shares of one core between two samples, as "process/thread" (threads
/// of one name in one process summed, e.g. a player's per member), busiest first: at most
/// [`THREADS_LISTED`], then "other" for the rest.
pub fn thread_shares(before: &Sample, after: &Sample) -> Vec<(String, f64)> {
    let seconds = seconds_between(before, after);
    let mut by_name: BTreeMap<String, f64> = BTreeMap::new();
    for (key, t) in &after.threads {
        let was = before.threads.get(key).map_or(0.0, |b| b.cpu_seconds);
        let used = (t.cpu_seconds - was).max(0.0);
        *by_name.entry(format!("{}/{}", key.0, t.name)).or_default() += used / seconds * 100.0;
    }
    let mut all: Vec<(String, f64)> = by_name.into_iter().collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1));
    if all.len() > THREADS_LISTED {
        let other: f64 = all.drain(THREADS_LISTED..).map(|(_, v)| v).sum();
        all.push(("other".to_owned(), other));
    }
    all
}

fn seconds_between(before: &Sample, after: &Sample) -> f64 {
    after
        .at
        .duration_since(before.at)
        .max(Duration::from_millis(1))
        .as_secs_f64()
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
            threads: BTreeMap::new(),
        };
        let after = Sample {
            at: at + Duration::from_secs(1),
            processes: family(after),
            threads: BTreeMap::new(),
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

    #[test]
    fn threads_of_one_name_add_up_and_the_quiet_ones_are_summed_as_other() {
        let t = |name: &str, ticks: u32| ProcessStat {
            name: name.into(),
            parent: 0,
            cpu_seconds: f64::from(ticks) / 100.0,
        };
        let at = Instant::now();
        let mut before = BTreeMap::new();
        let mut after = BTreeMap::new();
        for tid in 0..2 {
            before.insert((APP_COMM.to_owned(), tid), t("media-play-deco", 0));
            after.insert((APP_COMM.to_owned(), tid), t("media-play-deco", 20));
        }
        for tid in 10..(10 + THREADS_LISTED as u32 + 2) {
            after.insert((APP_COMM.to_owned(), tid), t(&format!("worker-{tid}"), 1));
        }
        let sample = |threads, at| Sample {
            at,
            processes: BTreeMap::new(),
            threads,
        };
        let shares = thread_shares(
            &sample(before, at),
            &sample(after, at + Duration::from_secs(1)),
        );
        assert_eq!(shares.len(), THREADS_LISTED + 1);
        assert_eq!(shares[0].0, format!("{APP_COMM}/media-play-deco"));
        assert!((shares[0].1 - 40.0).abs() < 1e-9, "{shares:?}");
        let (name, other) = shares.last().expect("other");
        assert_eq!(name, "other");
        assert!((other - 3.0).abs() < 1e-9, "{shares:?}");
    }
}

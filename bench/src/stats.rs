//! Percentiles, CPU time and resident memory.

/// The `q` quantile (0..=1) of `samples` by nearest rank; 0 for no samples.
pub(crate) fn percentile(samples: &[u64], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64
}

/// CPU seconds (user + system) process `pid` has used, from `/proc/<pid>/stat`.
pub(crate) fn cpu_seconds(pid: u32) -> f64 {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// CPU seconds each thread of process `pid` has used, by thread id, from
/// `/proc/<pid>/task/<tid>/stat`.
pub(crate) fn thread_cpu_seconds(pid: u32) -> Vec<(u32, f64)> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| {
            let tid = task.file_name().to_str()?.parse().ok()?;
            Some((tid, stat_cpu_seconds(&task.path().join("stat").to_string_lossy())))
        })
        .collect()
}

/// User + system CPU seconds from a `stat` file of `/proc`.
fn stat_cpu_seconds(path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(path) else { return 0.0 };
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / clock_ticks_per_sec()
}

/// CPU seconds the hypervisor has given to other guests while this machine's CPUs wanted to run
/// ("steal", the eighth field of `/proc/stat`'s `cpu` line), summed over all CPUs; 0 where the
/// kernel does not report it. A latency figure measured while this grows says more about the
/// neighbours than about the server.
pub(crate) fn host_steal_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0.0 };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0.0 };
    let steal = line.split_whitespace().nth(8).and_then(|f| f.parse::<f64>().ok());
    steal.unwrap_or(0.0) / clock_ticks_per_sec()
}

/// Resident memory of process `pid` in bytes, from `VmRSS` in `/proc/<pid>/status`.
pub(crate) fn rss_bytes(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else { return 0 };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// How a node's CPU time spread over its threads between two readings.
pub(crate) struct Spread {
    /// Threads that used any CPU.
    pub(crate) busy: usize,
    /// The busiest thread's CPU seconds.
    pub(crate) busiest: f64,
    /// The busiest thread's over the mean of the `top` busiest (1 is a perfect spread).
    pub(crate) ratio: f64,
}

/// The spread of CPU time from `before` to `after` (by thread id) over the `top` busiest
/// threads.
pub(crate) fn spread(before: &[(u32, f64)], after: &[(u32, f64)], top: usize) -> Spread {
    let mut used: Vec<f64> = after
        .iter()
        .map(|(tid, now)| now - before.iter().find(|(t, _)| t == tid).map_or(0.0, |(_, b)| *b))
        .collect();
    used.sort_by(|a, b| b.total_cmp(a));
    let busy = used.iter().filter(|s| **s > 0.0).count();
    let top: Vec<f64> = used.into_iter().take(top.max(1)).collect();
    let busiest = top.first().copied().unwrap_or(0.0);
    let mean = top.iter().sum::<f64>() / top.len().max(1) as f64;
    Spread { busy, busiest, ratio: if mean > 0.0 { busiest / mean } else { 0.0 } }
}

fn clock_ticks_per_sec() -> f64 {
    // USER_HZ is 100 on every Linux architecture this runs on.
    100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 0.5), 50.0);
        assert_eq!(percentile(&samples, 0.99), 99.0);
        assert_eq!(percentile(&samples, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
        assert!(cpu_seconds(std::process::id()) >= 0.0);
        assert!(!thread_cpu_seconds(std::process::id()).is_empty());
        assert!(rss_bytes(std::process::id()) > 0);
        assert!(host_steal_seconds() >= 0.0);
    }

    #[test]
    fn spread_compares_the_busiest_thread_with_the_mean_of_the_top() {
        let before = [(1, 1.0), (2, 0.0), (3, 5.0)];
        let after = [(1, 3.0), (2, 1.0), (3, 5.0), (4, 1.0)];
        let s = spread(&before, &after, 2);
        assert_eq!(s.busy, 3);
        assert_eq!(s.busiest, 2.0);
        assert!((s.ratio - 2.0 / 1.5).abs() < 1e-9);
    }
}

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
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
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
        assert!(rss_bytes(std::process::id()) > 0);
        assert!(host_steal_seconds() >= 0.0);
    }
}

//! How many clients this process can really hold: every client is an open file, so the node
//! raises its soft open-file limit to the hard limit at start and fits its client limit under
//! what is left once its own needs are reserved. A full node then refuses with 503 (and turns
//! not ready) while it still has descriptors to answer with, and its listener stops accepting
//! before an accept could fail with "Too many open files".

/// Descriptors the process needs whatever its clients do: standard streams, the listener, the
/// runtimes' pollers and wakers, Redis connections, log files.
const INTERNAL_BASE: u64 = 64;
/// Descriptors each worker thread adds (its runtime's poller and waker, and slack).
const INTERNAL_PER_WORKER: u64 = 4;
/// Plain HTTP requests (health checks, metrics, refusals, polling requests) get at least this
/// many descriptors beside the clients...
const HTTP_MIN: u64 = 16;
/// ...and at most this many; in between, a sixteenth of what is usable.
const HTTP_MAX: u64 = 1024;

/// What the node can hold, worked out from its open-file limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    /// The soft open-file limit the process runs with.
    pub open_files: u64,
    /// Clients the node admits: the configured `max_clients`, or fewer when the open-file
    /// limit cannot hold that many.
    pub max_clients: usize,
    /// Connections each HTTP worker accepts at most (clients and plain HTTP together), so the
    /// workers together never take more descriptors than the process has.
    pub per_worker: usize,
}

impl Capacity {
    /// The capacity of a process with `open_files` descriptors, `workers` HTTP workers and a
    /// configured limit of `configured` clients.
    pub fn plan(open_files: u64, workers: usize, configured: usize) -> Self {
        let workers = workers.max(1) as u64;
        let internal = INTERNAL_BASE + INTERNAL_PER_WORKER * workers;
        let usable = open_files.saturating_sub(internal);
        let http = (usable / 16).clamp(HTTP_MIN, HTTP_MAX);
        let clients = usable.saturating_sub(http).max(1);
        let max_clients = usize::try_from(clients).unwrap_or(usize::MAX).min(configured);
        // Clients plus the HTTP room, spread over the workers; at least one each, so a tiny
        // limit still serves something.
        let total = (max_clients as u64 + http).min(usable.max(workers));
        let per_worker = usize::try_from((total / workers).max(1)).unwrap_or(usize::MAX);
        Self { open_files, max_clients, per_worker }
    }

    /// Raises the soft open-file limit to the hard limit and plans for what it then is. Logs the
    /// result, and warns when `configured` clients do not fit.
    pub fn raise_and_plan(workers: usize, configured: usize) -> Self {
        let open_files = match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(limit) => limit,
            Err(e) => {
                let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(s, _)| s);
                log::warn!("cannot raise the open-file limit ({e}); it stays at {soft}");
                soft
            }
        };
        let capacity = Self::plan(open_files, workers, configured);
        if capacity.max_clients < configured {
            log::warn!(
                "limits.max_clients is {configured} but {open_files} open files hold only {} \
                 clients beside the node's own needs: admitting {} (raise the hard limit, e.g. \
                 `ulimit -Hn` or docker's `ulimits: nofile`, to admit more)",
                capacity.max_clients,
                capacity.max_clients,
            );
        }
        log::info!(
            "open-file limit {open_files}: up to {} clients, {} connections per worker",
            capacity.max_clients,
            capacity.per_worker,
        );
        capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_default_limit_caps_clients_below_it() {
        let c = Capacity::plan(1024, 2, 20_000);
        // 1024 - 72 internal = 952 usable; 59 kept for plain HTTP.
        assert_eq!(c.max_clients, 893);
        assert_eq!(c.per_worker, 476);
        assert!(c.per_worker * 2 <= 1024 - 72, "the workers never take more than is usable");
    }

    #[test]
    fn a_configured_limit_that_fits_is_kept() {
        let c = Capacity::plan(65_536, 4, 20_000);
        assert_eq!(c.max_clients, 20_000);
        // Room for the clients and 1024 plain requests, shared by the workers.
        assert_eq!(c.per_worker, (20_000 + 1024) / 4);
    }

    #[test]
    fn a_limit_equal_to_max_clients_still_leaves_room_for_health_checks() {
        let c = Capacity::plan(20_000, 2, 20_000);
        assert_eq!(c.max_clients, 20_000 - 72 - 1024);
        assert!(c.per_worker * 2 <= 20_000 - 72);
        assert!(c.per_worker * 2 > c.max_clients, "refusals and probes still get through");
    }

    #[test]
    fn a_tiny_limit_still_plans_something() {
        let c = Capacity::plan(10, 3, 100);
        assert_eq!(c.max_clients, 1);
        assert_eq!(c.per_worker, 1);
    }
}

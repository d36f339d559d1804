//! Each tenant's limits on this node: how many of its clients may be connected at once, and
//! how many messages per second they may send together. A client holds a [`Seat`] in its
//! tenant's [`Quota`] while connected; the default tenant and tenants without limits have
//! none to hold.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

use switchboard_actors::Tenant;

use crate::config::Config;

/// The node's quotas, by tenant; fixed at start.
#[derive(Debug, Default)]
pub(crate) struct Quotas(HashMap<Tenant, Arc<Quota>>);

/// One tenant's limits on this node and what it uses of them.
#[derive(Debug)]
pub(crate) struct Quota {
    max_clients: usize,
    clients: AtomicUsize,
    rate: Option<Gcra>,
}

/// A client's place in its tenant's quota, given back when dropped.
#[derive(Debug, Default)]
pub(crate) struct Seat(Option<Arc<Quota>>);

/// Why a tenant's client was refused a seat.
#[derive(Debug, thiserror::Error)]
#[error("tenant {tenant} has its {max} clients on this node")]
pub(crate) struct Full {
    tenant: Tenant,
    max: usize,
}

impl Quotas {
    /// The quotas of `config`'s tenants that have limits.
    pub(crate) fn new(config: &Config) -> Self {
        let quotas = config.tenants.iter().filter_map(|(name, section)| {
            let tenant = Tenant::new(name)?;
            let limited = section.max_clients > 0 || section.max_messages_per_s > 0;
            let rate =
                (section.max_messages_per_s > 0).then(|| Gcra::new(section.max_messages_per_s));
            let quota =
                Quota { max_clients: section.max_clients, clients: AtomicUsize::new(0), rate };
            limited.then(|| (tenant, Arc::new(quota)))
        });
        Self(quotas.collect())
    }

    /// A seat for a client of `tenant`, unless the tenant has all its clients on this node.
    pub(crate) fn seat(&self, tenant: &Tenant) -> Result<Seat, Full> {
        let Some(quota) = self.0.get(tenant) else { return Ok(Seat(None)) };
        let before = quota.clients.fetch_add(1, Ordering::AcqRel);
        let seat = Seat(Some(quota.clone()));
        if quota.max_clients > 0 && before >= quota.max_clients {
            return Err(Full { tenant: tenant.clone(), max: quota.max_clients });
        }
        Ok(seat)
    }
}

impl Seat {
    /// Whether the tenant may send one more message now (taking it from the tenant's rate).
    pub(crate) fn allow_message(&self) -> bool {
        self.0.as_ref().and_then(|q| q.rate.as_ref()).is_none_or(Gcra::allow)
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if let Some(quota) = &self.0 {
            quota.clients.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// A rate limit shared by many clients without a lock (the generic cell rate algorithm):
/// `rate` messages per second, in bursts of up to `rate`.
#[derive(Debug)]
struct Gcra {
    epoch: Instant,
    /// Nanoseconds between two messages at the sustained rate.
    interval: u64,
    /// How far ahead of now the next message's time may run (the burst).
    tolerance: u64,
    /// The theoretical arrival time of the next message, in nanoseconds since `epoch`.
    tat: AtomicU64,
}

impl Gcra {
    fn new(rate: u32) -> Self {
        let interval = 1_000_000_000 / u64::from(rate.max(1));
        let tolerance = interval * u64::from(rate.max(1) - 1);
        Self { epoch: Instant::now(), interval, tolerance, tat: AtomicU64::new(0) }
    }

    fn allow(&self) -> bool {
        self.allow_at(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    fn allow_at(&self, now: u64) -> bool {
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let start = tat.max(now);
            if start - now > self.tolerance {
                return false;
            }
            match self.tat.compare_exchange_weak(
                tat,
                start + self.interval,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(current) => tat = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_rate_allows_a_second_s_worth_then_the_sustained_rate() {
        let gcra = Gcra::new(10);
        assert_eq!((0..20).filter(|_| gcra.allow_at(0)).count(), 10);
        // One more every 100 ms.
        assert!(gcra.allow_at(100_000_000) && !gcra.allow_at(150_000_000));
        let later = 60_000_000_000;
        assert_eq!((0..20).filter(|_| gcra.allow_at(later)).count(), 10);
    }

    #[test]
    fn a_tenant_has_its_seats_and_gets_them_back() {
        let config: Config = toml::from_str(
            "[tenants.acme]\nsecret = \"s\"\nmax_clients = 2\n[tenants.free]\nsecret = \"t\"",
        )
        .expect("parses");
        let quotas = Quotas::new(&config);
        let acme = Tenant::new("acme").expect("valid");
        let (a, b) = (quotas.seat(&acme).expect("1"), quotas.seat(&acme).expect("2"));
        let full = quotas.seat(&acme).expect_err("a third");
        assert_eq!(full.to_string(), "tenant acme has its 2 clients on this node");
        drop(a);
        let c = quotas.seat(&acme).expect("a place again");
        let free = Tenant::new("free").expect("valid");
        assert!((0..100).all(|_| quotas.seat(&free).is_ok()));
        assert!(quotas.seat(&Tenant::default()).expect("no limit").allow_message());
        drop((b, c));
    }
}

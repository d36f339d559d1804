//! Each tenant's clients on this node, by dialect, and its limits: how many of its clients may
//! be connected at once, and how many messages per second they may send together. Both hold
//! across the cluster ([`super::load`]): its clients on the other nodes, as they last reported
//! them, count too, and this node lets them send what the others leave of the rate (at least
//! its even share). A client holds a [`Seat`] in its tenant's [`Quota`] while connected (the
//! default tenant's has no limits); the metrics and the admin API read the counts.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};

use actix::Addr;
use switchboard_actors::{ClientLink, ConnId, Tenant};

use crate::{
    config::Config,
    http::admin::index::{ClientIndex, Listed, Unlisted},
};

/// The four dialects, as their clients are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientKind {
    /// `/cmd`.
    Cmd,
    /// `/signals`.
    Signals,
    /// Socket.IO (`/socket.io/`).
    Rooms,
    /// `/mediasoup`.
    Mediasoup,
}

impl ClientKind {
    /// Every dialect, in the order counts are kept.
    pub(crate) const ALL: [ClientKind; 4] =
        [ClientKind::Cmd, ClientKind::Signals, ClientKind::Rooms, ClientKind::Mediasoup];

    /// Its name, as the metrics and the admin API show it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ClientKind::Cmd => "cmd",
            ClientKind::Signals => "signals",
            ClientKind::Rooms => "rooms",
            ClientKind::Mediasoup => "mediasoup",
        }
    }
}

/// The node's quotas, by tenant (the default tenant's among them); fixed at start.
#[derive(Debug)]
pub(crate) struct Quotas(HashMap<Tenant, Arc<Quota>>);

/// One tenant's limits on this node and what it uses of them.
#[derive(Debug)]
pub(crate) struct Quota {
    tenant: Tenant,
    /// 0: none.
    max_clients: usize,
    /// Its clients here now, together.
    clients: AtomicUsize,
    /// Its clients on the other nodes, as they last reported them.
    elsewhere: AtomicUsize,
    /// Its clients here now, by dialect (in [`ClientKind::ALL`]'s order).
    by_dialect: [AtomicUsize; 4],
    /// Messages its clients sent, by dialect.
    messages_in: [AtomicU64; 4],
    /// Messages its clients were sent, by dialect.
    messages_out: [AtomicU64; 4],
    /// 0: none.
    max_messages_per_s: u32,
    /// Its clients' messages to this node: at most this node's share of the rate.
    rate: Option<Gcra>,
}

/// A client's place in its tenant's quota, given back when dropped.
#[derive(Debug)]
pub(crate) struct Seat {
    quota: Arc<Quota>,
    dialect: ClientKind,
    /// Where the client is listed by its token's `sub`, if it is.
    listed: Option<(Addr<ClientIndex>, Arc<str>, ConnId)>,
}

/// Counts the messages one client is sent, for a writer that does not hold its seat (a
/// Socket.IO session's).
#[derive(Debug, Clone)]
pub(crate) struct SentCounter {
    quota: Arc<Quota>,
    dialect: ClientKind,
}

impl SentCounter {
    /// Counts one message the client is sent.
    pub(crate) fn count(&self) {
        self.quota.messages_out[self.dialect as usize].fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a tenant's client was refused a seat.
#[derive(Debug, thiserror::Error)]
#[error("tenant {tenant} has its {max} clients")]
pub(crate) struct Full {
    tenant: Tenant,
    max: usize,
}

impl Quota {
    fn new(tenant: Tenant, max_clients: usize, max_messages_per_s: u32) -> Self {
        Self {
            tenant,
            max_clients,
            clients: AtomicUsize::new(0),
            elsewhere: AtomicUsize::new(0),
            by_dialect: Default::default(),
            messages_in: Default::default(),
            messages_out: Default::default(),
            max_messages_per_s,
            rate: (max_messages_per_s > 0).then(|| Gcra::new(max_messages_per_s)),
        }
    }
}

impl Quotas {
    /// The quotas of the default tenant and of `config`'s tenants.
    pub(crate) fn new(config: &Config) -> Self {
        let default = (Tenant::default(), Arc::new(Quota::new(Tenant::default(), 0, 0)));
        let tenants = config.tenants.iter().filter_map(|(name, section)| {
            let tenant = Tenant::new(name)?;
            let quota = Quota::new(tenant.clone(), section.max_clients, section.max_messages_per_s);
            Some((tenant, Arc::new(quota)))
        });
        Self(std::iter::once(default).chain(tenants).collect())
    }

    /// A seat for a `dialect` client of `tenant`, unless the tenant has all its clients on
    /// this node.
    pub(crate) fn seat(&self, tenant: &Tenant, dialect: ClientKind) -> Result<Seat, Full> {
        let quota = self.0.get(tenant).unwrap_or_else(|| &self.0[&Tenant::default()]).clone();
        let before = quota.clients.fetch_add(1, Ordering::AcqRel);
        quota.by_dialect[dialect as usize].fetch_add(1, Ordering::AcqRel);
        let elsewhere = quota.elsewhere.load(Ordering::Acquire);
        let (max, tenant) = (quota.max_clients, quota.tenant.clone());
        let seat = Seat { quota, dialect, listed: None };
        if max > 0 && before + elsewhere >= max {
            return Err(Full { tenant, max });
        }
        Ok(seat)
    }

    /// Each tenant with a client or message limit: its clients here now, and the messages they
    /// ever sent here.
    pub(crate) fn limited(&self) -> impl Iterator<Item = (&Tenant, usize, u64)> + '_ {
        let limited = |quota: &Quota| quota.max_clients > 0 || quota.max_messages_per_s > 0;
        self.0.iter().filter(move |(_, quota)| limited(quota)).map(|(tenant, quota)| {
            let sent = quota.messages_in.iter().map(|n| n.load(Ordering::Relaxed)).sum();
            (tenant, quota.clients.load(Ordering::Acquire), sent)
        })
    }

    /// What `tenant` holds on the other nodes (`peers` of them): `clients` clients, whose
    /// messages come at `rate` a second. This node's share of its message rate is what they
    /// leave, and at least an even share.
    pub(crate) fn set_elsewhere(&self, tenant: &Tenant, clients: usize, rate: u64, peers: usize) {
        let Some(quota) = self.0.get(tenant) else { return };
        quota.elsewhere.store(clients, Ordering::Release);
        if let Some(gcra) = &quota.rate {
            let max = u64::from(quota.max_messages_per_s);
            let even = max.div_ceil(peers as u64 + 1);
            let share = max.saturating_sub(rate).max(even).max(1);
            gcra.set_rate(u32::try_from(share).unwrap_or(u32::MAX));
        }
    }

    /// Each tenant with a message limit, and the messages per second this node lets its
    /// clients send.
    pub(crate) fn rate_shares(&self) -> impl Iterator<Item = (&Tenant, u32)> + '_ {
        self.0.iter().filter_map(|(tenant, quota)| Some((tenant, quota.rate.as_ref()?.rate())))
    }

    /// Every tenant's clients here now, by dialect.
    pub(crate) fn clients(&self) -> impl Iterator<Item = (&Tenant, ClientKind, usize)> + '_ {
        self.0.iter().flat_map(|(tenant, quota)| {
            ClientKind::ALL
                .into_iter()
                .map(move |d| (tenant, d, quota.by_dialect[d as usize].load(Ordering::Relaxed)))
        })
    }

    /// Every tenant's messages in and out since the start, by dialect.
    pub(crate) fn messages(&self) -> impl Iterator<Item = (&Tenant, ClientKind, u64, u64)> + '_ {
        self.0.iter().flat_map(|(tenant, quota)| {
            ClientKind::ALL.into_iter().map(move |d| {
                let i = d as usize;
                let load = |counts: &[AtomicU64; 4]| counts[i].load(Ordering::Relaxed);
                (tenant, d, load(&quota.messages_in), load(&quota.messages_out))
            })
        })
    }
}

impl Seat {
    /// Lists the client, reached through `link`, in `index` as `sub` of its tenant until the
    /// seat goes.
    pub(crate) fn list(&mut self, index: &Addr<ClientIndex>, sub: &str, link: &ClientLink) {
        let sub: Arc<str> = sub.into();
        let (tenant, kind) = (self.quota.tenant.clone(), self.dialect);
        index.do_send(Listed { tenant, sub: sub.clone(), kind, link: link.clone() });
        self.listed = Some((index.clone(), sub, link.conn()));
    }

    /// Counts a message the client sent; whether its tenant may send one more now (taking it
    /// from the tenant's rate).
    pub(crate) fn message_in(&self) -> bool {
        self.quota.messages_in[self.dialect as usize].fetch_add(1, Ordering::Relaxed);
        self.quota.rate.as_ref().is_none_or(Gcra::allow)
    }

    /// Counts a message the client is sent.
    pub(crate) fn message_out(&self) {
        self.quota.messages_out[self.dialect as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// What counts the messages the client is sent, apart from the seat.
    pub(crate) fn sent_counter(&self) -> SentCounter {
        SentCounter { quota: self.quota.clone(), dialect: self.dialect }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        if let Some((index, sub, conn)) = self.listed.take() {
            index.do_send(Unlisted { tenant: self.quota.tenant.clone(), sub, conn });
        }
        self.quota.clients.fetch_sub(1, Ordering::AcqRel);
        self.quota.by_dialect[self.dialect as usize].fetch_sub(1, Ordering::AcqRel);
    }
}

/// A rate limit shared by many clients without a lock (the generic cell rate algorithm):
/// `rate` messages per second, in bursts of up to `rate`; the rate may change at any time.
#[derive(Debug)]
struct Gcra {
    epoch: Instant,
    /// Messages per second.
    rate: AtomicU32,
    /// Nanoseconds between two messages at the sustained rate.
    interval: AtomicU64,
    /// How far ahead of now the next message's time may run (the burst).
    tolerance: AtomicU64,
    /// The theoretical arrival time of the next message, in nanoseconds since `epoch`.
    tat: AtomicU64,
}

impl Gcra {
    fn new(rate: u32) -> Self {
        let gcra = Self {
            epoch: Instant::now(),
            rate: AtomicU32::new(0),
            interval: AtomicU64::new(0),
            tolerance: AtomicU64::new(0),
            tat: AtomicU64::new(0),
        };
        gcra.set_rate(rate);
        gcra
    }

    /// From now on, `rate` messages per second (at least one).
    fn set_rate(&self, rate: u32) {
        let rate = rate.max(1);
        if self.rate.swap(rate, Ordering::Relaxed) == rate {
            return;
        }
        let interval = 1_000_000_000 / u64::from(rate);
        self.interval.store(interval, Ordering::Relaxed);
        self.tolerance.store(interval * u64::from(rate - 1), Ordering::Relaxed);
    }

    fn rate(&self) -> u32 {
        self.rate.load(Ordering::Relaxed)
    }

    fn allow(&self) -> bool {
        self.allow_at(u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }

    fn allow_at(&self, now: u64) -> bool {
        let (interval, tolerance) =
            (self.interval.load(Ordering::Relaxed), self.tolerance.load(Ordering::Relaxed));
        let mut tat = self.tat.load(Ordering::Acquire);
        loop {
            let start = tat.max(now);
            if start - now > tolerance {
                return false;
            }
            match self.tat.compare_exchange_weak(
                tat,
                start + interval,
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
        // Halved: five a second, in bursts of five.
        gcra.set_rate(5);
        let later = 120_000_000_000;
        assert_eq!((0..20).filter(|_| gcra.allow_at(later)).count(), 5);
        assert_eq!(gcra.rate(), 5);
    }

    #[test]
    fn a_tenant_has_its_seats_and_gets_them_back() {
        let config: Config = toml::from_str(
            "[tenants.acme]\nsecret = \"s\"\nmax_clients = 2\n[tenants.free]\nsecret = \"t\"",
        )
        .expect("parses");
        let quotas = Quotas::new(&config);
        let acme = Tenant::new("acme").expect("valid");
        let seat = |tenant: &Tenant, dialect| quotas.seat(tenant, dialect);
        let (a, b) =
            (seat(&acme, ClientKind::Cmd).expect("1"), seat(&acme, ClientKind::Rooms).expect("2"));
        let full = seat(&acme, ClientKind::Cmd).expect_err("a third");
        assert_eq!(full.to_string(), "tenant acme has its 2 clients");
        let count = |d| quotas.clients().find(|(t, dd, _)| **t == acme && *dd == d).map(|c| c.2);
        assert_eq!((count(ClientKind::Cmd), count(ClientKind::Rooms)), (Some(1), Some(1)));
        drop(a);
        let c = seat(&acme, ClientKind::Signals).expect("a place again");
        let free = Tenant::new("free").expect("valid");
        assert!((0..100).all(|_| seat(&free, ClientKind::Mediasoup).is_ok()));
        assert!(seat(&Tenant::default(), ClientKind::Cmd).expect("no limit").message_in());
        drop((b, c));
        assert!(quotas.clients().all(|(_, _, n)| n == 0), "every seat was given back");
        // One more on another node: a single place left here.
        quotas.set_elsewhere(&acme, 1, 0, 1);
        assert_eq!(quotas.limited().collect::<Vec<_>>(), [(&acme, 0, 0)]);
        let d = seat(&acme, ClientKind::Cmd).expect("the second in the cluster");
        assert!(seat(&acme, ClientKind::Cmd).is_err(), "a third in the cluster");
        drop(d);
    }

    #[test]
    fn a_node_lets_a_tenant_send_what_the_others_leave_of_its_rate_and_at_least_its_share() {
        let config: Config =
            toml::from_str("[tenants.acme]\nsecret = \"s\"\nmax_messages_per_s = 100")
                .expect("parses");
        let quotas = Quotas::new(&config);
        let acme = Tenant::new("acme").expect("valid");
        let share = || quotas.rate_shares().find(|(t, _)| **t == acme).map(|(_, r)| r);
        assert_eq!(share(), Some(100), "alone");
        for ((rate, peers), expected) in
            [((10, 1), 90), ((80, 1), 50), ((0, 1), 100), ((400, 3), 25), ((0, 0), 100)]
        {
            quotas.set_elsewhere(&acme, 0, rate, peers);
            assert_eq!(share(), Some(expected), "{rate}/s on {peers} others");
        }
    }
}

//! Each tenant's rooms (of every dialect together) and, for those with one, its most rooms in
//! the whole cluster: a room's shard counts those homed here from its actor's start to its end,
//! and the edge tells what the other nodes last reported ([`RoomQuotas::set_elsewhere`]); a room
//! to be created past its tenant's limit is refused ([`super::Absent::Limited`]), one moving
//! here from a dead home is not.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicUsize, Ordering},
};

use crate::ids::Tenant;

/// The tenants' rooms homed here and their limits in the cluster, by tenant (the tenants are
/// fixed at start; a tenant not among them is not counted).
#[derive(Debug, Default)]
pub struct RoomQuotas(HashMap<Tenant, Counted>);

#[derive(Debug)]
struct Counted {
    /// 0: none.
    max: usize,
    /// Its rooms homed here.
    open: AtomicUsize,
    /// Its rooms homed on the other nodes, as they last reported them.
    elsewhere: AtomicUsize,
}

impl RoomQuotas {
    /// The counts of the tenants of `limits`, each with its most rooms (0: no limit).
    pub fn new(limits: impl IntoIterator<Item = (Tenant, usize)>) -> Self {
        let counted =
            |max| Counted { max, open: AtomicUsize::new(0), elsewhere: AtomicUsize::new(0) };
        Self(limits.into_iter().map(|(t, max)| (t, counted(max))).collect())
    }

    /// Counts a new room of `tenant`, unless `checked` and the tenant has all its rooms.
    pub(super) fn open(&self, tenant: &Tenant, checked: bool) -> bool {
        let Some(counted) = self.0.get(tenant) else { return true };
        let before = counted.open.fetch_add(1, Ordering::AcqRel);
        let limited = checked && counted.max > 0;
        if limited && before + counted.elsewhere.load(Ordering::Acquire) >= counted.max {
            counted.open.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        true
    }

    /// A room of `tenant` ended here.
    pub(super) fn close(&self, tenant: &Tenant) {
        if let Some(counted) = self.0.get(tenant) {
            counted.open.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Each tenant's rooms homed here now.
    pub fn here(&self) -> impl Iterator<Item = (&Tenant, usize)> + '_ {
        self.0.iter().map(|(tenant, counted)| (tenant, counted.open.load(Ordering::Acquire)))
    }

    /// Each tenant with a room limit, and its rooms homed here now.
    pub fn limited_here(&self) -> impl Iterator<Item = (&Tenant, usize)> + '_ {
        let limited = self.0.iter().filter(|(_, counted)| counted.max > 0);
        limited.map(|(tenant, counted)| (tenant, counted.open.load(Ordering::Acquire)))
    }

    /// `tenant` has `rooms` rooms homed on the other nodes.
    pub fn set_elsewhere(&self, tenant: &Tenant, rooms: usize) {
        if let Some(counted) = self.0.get(tenant) {
            counted.elsewhere.store(rooms, Ordering::Release);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_opens_up_to_its_limit_and_rooms_moving_here_are_counted_anyway() {
        let acme = Tenant::new("acme").expect("valid");
        let quotas = RoomQuotas::new([(acme.clone(), 2), (Tenant::new("free").expect("ok"), 0)]);
        assert!(quotas.open(&acme, true) && quotas.open(&acme, true));
        assert!(!quotas.open(&acme, true), "a third");
        assert!(quotas.open(&acme, false), "a room moving here");
        quotas.close(&acme);
        quotas.close(&acme);
        assert!(quotas.open(&acme, true), "a place again");
        assert!((0..100).all(|_| quotas.open(&Tenant::new("free").expect("ok"), true)));
        assert!(quotas.open(&Tenant::default(), true), "a tenant not among them");
        let mut here: Vec<_> = quotas.here().map(|(t, n)| (t.to_string(), n)).collect();
        here.sort();
        assert_eq!(here, [("acme".to_owned(), 2), ("free".to_owned(), 100)]);
        assert_eq!(quotas.limited_here().map(|(_, n)| n).collect::<Vec<_>>(), [2]);
    }

    #[test]
    fn rooms_elsewhere_count_against_the_limit() {
        let acme = Tenant::new("acme").expect("valid");
        let quotas = RoomQuotas::new([(acme.clone(), 3)]);
        quotas.set_elsewhere(&acme, 2);
        assert!(quotas.open(&acme, true), "a third in the cluster");
        assert!(!quotas.open(&acme, true), "a fourth");
        assert_eq!(quotas.limited_here().collect::<Vec<_>>(), [(&acme, 1)]);
        quotas.set_elsewhere(&acme, 0);
        assert!(quotas.open(&acme, true), "the others' closed");
    }
}

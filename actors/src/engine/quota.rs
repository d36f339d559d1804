//! Each tenant's most rooms homed on one node (its rooms of every dialect together), and how
//! many it has: a room's shard counts it from its actor's start to its end; a room to be
//! created past its tenant's limit is refused ([`super::Absent::Limited`]), one moving here
//! from a dead home is not.

use std::{
    collections::HashMap,
    sync::atomic::{AtomicUsize, Ordering},
};

use crate::ids::Tenant;

/// The node's room limits, by tenant (those without one are not counted); fixed at start.
#[derive(Debug, Default)]
pub struct RoomQuotas(HashMap<Tenant, Counted>);

#[derive(Debug)]
struct Counted {
    max: usize,
    open: AtomicUsize,
}

impl RoomQuotas {
    /// Limits of `limits` (a tenant and its most rooms on this node; 0: none).
    pub fn new(limits: impl IntoIterator<Item = (Tenant, usize)>) -> Self {
        let limited = limits.into_iter().filter(|(_, max)| *max > 0);
        Self(limited.map(|(t, max)| (t, Counted { max, open: AtomicUsize::new(0) })).collect())
    }

    /// Counts a new room of `tenant`, unless `checked` and the tenant has all its rooms.
    pub(super) fn open(&self, tenant: &Tenant, checked: bool) -> bool {
        let Some(counted) = self.0.get(tenant) else { return true };
        let before = counted.open.fetch_add(1, Ordering::AcqRel);
        if checked && before >= counted.max {
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
        assert!(quotas.open(&Tenant::default(), true));
    }
}

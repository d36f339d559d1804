//! Webhooks: each tenant with a `webhook_url` is told when its rooms are created and closed
//! and when participants join and leave, by signed POSTs.
//!
//! The core turns its rooms' hooks into each tenant's events and keeps them until they are
//! delivered ([`switchboard_actors::hooks`]): on a single node in a queue per tenant; in a
//! cluster in Redis, exactly once per event across the death of any node, delivered by one
//! node at a time. Here, one task per tenant posts the events its feed hands it, one at a
//! time, in order (so in order per room), so a receiver that is slow or down holds back its
//! own tenant's later events and nothing else (never the relay path). A failed POST (no
//! answer, or not 2xx) is retried with backoff, up to [`ATTEMPTS`] times, and then dropped and
//! logged.
//!
//! Each POST's body is one JSON event (`id`, `event`, `tenant`, `dialect`, `room`,
//! `participant`, `node`, `seq`, `at`), signed in `X-Switchboard-Signature: sha256=<hex of
//! HMAC-SHA256(secret, body)>`. A node that dies between a receiver's 2xx and recording the
//! delivery leaves the event to be posted again by the next node: a receiver that must not
//! see one twice drops an `id` it has seen.

pub mod post;

use std::{collections::HashMap, time::Duration};

use hmac::{Hmac, Mac};
use serde_json::json;
use switchboard_actors::{
    hooks::{Entry, Feed},
    node::HookFeeds,
    NodeId, Tenant,
};

use self::post::Target;

/// Most POSTs of one event.
pub const ATTEMPTS: u32 = 10;
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait between two renewals of the lead of a tenant's deliveries while an event is
/// retried (with [`POST_TIMEOUT`], well within the lease the cluster gives).
const HOLD_EVERY: Duration = Duration::from_secs(2);

/// Where one tenant's events go.
#[derive(Clone)]
pub struct Receiver {
    /// The receiver's URL.
    pub target: Target,
    /// The key of the body's HMAC.
    pub secret: Vec<u8>,
    /// How it is reached over TLS, for an `https://` target.
    pub tls: Option<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("target", &self.target).finish_non_exhaustive()
    }
}

/// Starts one delivery task per tenant of `receivers` (on the current thread's runtime),
/// posting what its feed of `feeds` hands it, as node `node`.
pub fn start(node: &NodeId, receivers: HashMap<Tenant, Receiver>, mut feeds: HookFeeds) {
    for (tenant, receiver) in receivers {
        match feeds.remove(&tenant) {
            Some(feed) => drop(actix::spawn(deliver(node.clone(), tenant, receiver, feed))),
            None => log::error!("webhook {tenant}: the core keeps no events for it"),
        }
    }
}

/// The body of `event`, of `tenant`.
fn body(tenant: &Tenant, event: &Entry) -> Vec<u8> {
    let value = json!({
        "id": event.id,
        "event": event.event,
        "tenant": tenant.name().unwrap_or_default(),
        "dialect": event.dialect,
        "room": event.room,
        "participant": event.participant,
        "node": event.node,
        "seq": event.seq,
        "at": event.at,
    });
    value.to_string().into_bytes()
}

/// `sha256=` and the hex of HMAC-SHA256(`secret`, `body`).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key size");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Posts `tenant`'s events from `feed` to `receiver`, one at a time, in order, as `node`.
async fn deliver(node: NodeId, tenant: Tenant, receiver: Receiver, mut feed: Feed) {
    while let Some(batch) = feed.next().await {
        for event in batch {
            if !post_one(&node, &tenant, &receiver, &event, &mut feed).await
                || !feed.done(&event.id).await
            {
                // Another node delivers the tenant's events now (from this one on).
                break;
            }
        }
    }
}

/// Posts `event` until the receiver takes it or [`ATTEMPTS`] failed: false if this node
/// stopped leading the deliveries meanwhile.
async fn post_one(
    node: &NodeId,
    tenant: &Tenant,
    receiver: &Receiver,
    event: &Entry,
    feed: &mut Feed,
) -> bool {
    let body = body(tenant, event);
    let signature = signature(&receiver.secret, &body);
    let headers = [
        ("X-Switchboard-Signature", signature.as_str()),
        ("X-Switchboard-Event", event.event.as_str()),
        ("X-Switchboard-Delivery", event.id.as_str()),
        ("X-Switchboard-Node", node.name()),
    ];
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        let why = match post::post(
            &receiver.target,
            receiver.tls.as_ref(),
            &headers,
            &body,
            POST_TIMEOUT,
        )
        .await
        {
            Ok(status) if (200..300).contains(&status) => return true,
            Ok(status) => format!("answered {status}"),
            Err(e) => e,
        };
        if attempt == ATTEMPTS {
            log::error!(
                "webhook {tenant}: event {} dropped after {ATTEMPTS} attempts: {why}",
                event.id
            );
            return true;
        }
        log::warn!("webhook {tenant}: event {} attempt {attempt}: {why}", event.id);
        if !wait(backoff, feed).await {
            return false;
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    true
}

/// Waits `total`, keeping the lead of the deliveries (renewed every [`HOLD_EVERY`] at most):
/// false if it was lost.
async fn wait(total: Duration, feed: &mut Feed) -> bool {
    let mut left = total;
    while !left.is_zero() {
        let step = left.min(HOLD_EVERY);
        tokio::time::sleep(step).await;
        left -= step;
        if !feed.hold().await {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        let signed = super::signature(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            signed,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

//! Webhooks: each tenant with a `webhook_url` is told when its rooms are created and closed
//! and when participants join and leave, by signed POSTs from the room's home node.
//!
//! The room actors hand their hooks ([`switchboard_actors::hooks`]) to the node's sink, which
//! only queues them: one bounded queue and one delivery task per tenant, so a receiver that is
//! slow or down holds back its own tenant's later events and nothing else (never the relay
//! path). A tenant's events are posted one at a time, in order (so in order per room); a
//! failed POST (no answer, or not 2xx) is retried with backoff, up to [`ATTEMPTS`] times, and
//! then dropped and logged. A full queue drops the newest event and logs it.
//!
//! Each POST's body is one JSON event (`id`, `event`, `tenant`, `dialect`, `room`,
//! `participant`, `node`, `seq`, `at`), signed in `X-Switchboard-Signature: sha256=<hex of
//! HMAC-SHA256(secret, body)>`.

pub mod post;

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use hmac::{Hmac, Mac};
use serde_json::json;
use switchboard_actors::{
    hooks::{HookSink, RoomHook},
    NodeId, Tenant,
};
use tokio::sync::mpsc;

use self::post::Target;

/// Most events one tenant may have waiting.
const QUEUE: usize = 10_000;
/// Most POSTs of one event.
pub const ATTEMPTS: u32 = 10;
/// The first retry's delay; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// How long one POST may take.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where one tenant's events go.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// The receiver's URL.
    pub target: Target,
    /// The key of the body's HMAC.
    pub secret: Vec<u8>,
}

/// An event as posted.
struct Event {
    hook: RoomHook,
    id: String,
    at: u128,
}

/// Starts one delivery task per tenant of `receivers` (on the current thread's runtime) and
/// returns the sink the room engines announce to; `None` when no tenant has a webhook.
pub fn start(node: &NodeId, receivers: HashMap<Tenant, Receiver>) -> Option<HookSink> {
    if receivers.is_empty() {
        return None;
    }
    let tenants: HashSet<Tenant> = receivers.keys().cloned().collect();
    let mut queues = HashMap::new();
    for (tenant, receiver) in receivers {
        let (tx, rx) = mpsc::channel::<Event>(QUEUE);
        actix::spawn(deliver(node.clone(), tenant.clone(), receiver, rx));
        queues.insert(tenant, tx);
    }
    let next = Arc::new(AtomicU64::new(1));
    let node = node.clone();
    Some(HookSink::new(tenants, move |hook: RoomHook| {
        let Some(queue) = queues.get(hook.room.tenant()) else { return };
        let id = format!("{node}-{}", next.fetch_add(1, Ordering::Relaxed));
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        if let Err(e) = queue.try_send(Event { hook, id, at }) {
            log::warn!("webhook: tenant queue full or gone, an event is dropped: {e}");
        }
    }))
}

/// The body of `event` as `node` posts it.
fn body(node: &NodeId, event: &Event) -> Vec<u8> {
    let hook = &event.hook;
    let value = json!({
        "id": event.id,
        "event": hook.kind.name(),
        "tenant": hook.room.tenant().name().unwrap_or_default(),
        "dialect": hook.dialect,
        "room": hook.room.as_str(),
        "participant": hook.participant,
        "node": node.as_str(),
        "seq": hook.seq,
        "at": event.at as u64,
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

/// Posts `tenant`'s events from `events` to `receiver`, one at a time, in order.
async fn deliver(
    node: NodeId,
    tenant: Tenant,
    receiver: Receiver,
    mut events: mpsc::Receiver<Event>,
) {
    while let Some(event) = events.recv().await {
        let body = body(&node, &event);
        let signature = signature(&receiver.secret, &body);
        let headers = [
            ("X-Switchboard-Signature", signature.as_str()),
            ("X-Switchboard-Event", event.hook.kind.name()),
            ("X-Switchboard-Delivery", event.id.as_str()),
        ];
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=ATTEMPTS {
            match post::post(&receiver.target, &headers, &body, POST_TIMEOUT).await {
                Ok(status) if (200..300).contains(&status) => break,
                outcome => {
                    let why = outcome.map_or_else(|e| e, |status| format!("answered {status}"));
                    if attempt == ATTEMPTS {
                        log::error!(
                            "webhook {tenant}: event {} dropped after {ATTEMPTS} attempts: {why}",
                            event.id
                        );
                        break;
                    }
                    log::warn!("webhook {tenant}: event {} attempt {attempt}: {why}", event.id);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
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

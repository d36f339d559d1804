//! The `mediasoup` endpoint, `GET /mediasoup?roomId=R&peerName=P`: a WebSocket speaking protoo
//! (the subprotocol must be offered: 403 otherwise, as protoo's server refuses; a missing
//! `roomId` or `peerName` is 400, as mediasoup-demo's is). The connection is one peer of one
//! room, seated in the `mediasoup` room engine; its frames are decoded with the `mediasoup`
//! codec, and what the edge can answer alone (`queryRoom`, refusals of frames it cannot read)
//! it answers at once. A peer silent to pings for two intervals is gone.

use crate::metrics::Code;
use std::{
    cell::Cell,
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};

use actix_http::StatusCode;
use futures_util::future::LocalBoxFuture;
use switchboard_actors::{
    engine::Seat,
    ids::RoomId,
    mediasoup::{MediasoupRoom, PeerId, Request},
    ClientLink, CloseReason, Credit, Event,
};

use super::{
    quota::ClientKind,
    upgrade::Handshake,
    ws::{self, Endpoint, FrameLimits},
    NodeState,
};
use crate::protocol::{
    cmd::codes::close_code,
    mediasoup::{
        decode::{decode, Decoded, Vocabulary},
        encode::encode_into,
    },
    protoo,
};

/// How often the server pings a peer; two intervals without a pong and the peer is gone.
const KEEPALIVE: Duration = Duration::from_secs(10);

/// The longest `roomId` or `peerName` served.
const MAX_NAME: usize = 256;

struct MediasoupEndpoint {
    seat: Seat<MediasoupRoom>,
    room: RoomId,
    link: ClientLink,
    /// The names the peer speaks (and is spoken to in): released until it shows otherwise.
    vocabulary: Cell<Vocabulary>,
    /// When the peer last answered a ping.
    heard: Rc<Cell<Instant>>,
    /// Counts the requests the edge refuses itself.
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl MediasoupEndpoint {
    fn handle(&self, decoded: Decoded, credit: Credit) {
        match decoded {
            Decoded::Room { id, ask, speaks } => {
                if let Some(vocabulary) = speaks {
                    self.vocabulary.set(vocabulary);
                }
                self.seat.send(Request { room: self.room.clone(), id, ask: *ask }, credit);
            }
            Decoded::Answer(id, data) => {
                let _ = self.link.frame(protoo::ok(&id, &data));
            }
            Decoded::Refuse(id, code, why) => {
                self.metrics.protocol_refused("mediasoup", Code::Number(code));
                let _ = self.link.frame(protoo::error(&id, code, &why));
            }
            Decoded::Accepted(id, then) => {
                let _ = self.link.frame(protoo::ok(&id, "{}"));
                self.handle(*then, credit);
            }
            Decoded::Drop(why) => log::debug!("{}: dropped a frame: {why}", self.link.conn()),
        }
    }
}

impl Endpoint for MediasoupEndpoint {
    fn name(&self) -> &'static str {
        "mediasoup"
    }

    fn text(&self, text: &str, credit: Credit) -> bool {
        self.handle(decode(text, &self.seat.member().name), credit);
        true
    }

    fn pong(&self) {
        self.heard.set(Instant::now());
    }

    fn gone(&self, _reason: Option<CloseReason>) -> LocalBoxFuture<'static, ()> {
        // The seat goes with the endpoint: the peer leaves its room.
        Box::pin(async {})
    }

    fn encode_into(&self, event: &Event, into: &mut String) {
        match event {
            Event::Mediasoup(told) => encode_into(told, self.vocabulary.get(), into),
            // Only `mediasoup` answers and notices are ever pushed to a `mediasoup` peer.
            _ => log::warn!("{}: an event of another dialect: {event:?}", self.link.conn()),
        }
    }

    fn refusal(&self, event: &Event) -> Option<Code> {
        match event {
            Event::Mediasoup(told) => {
                crate::protocol::mediasoup::encode::refusal_of(told).map(Code::Number)
            }
            _ => None,
        }
    }

    fn close_code(&self, reason: CloseReason) -> u16 {
        close_code(reason)
    }
}

/// The room and peer a URL names, or why it names none.
fn names(query: &str) -> Result<(String, String), &'static str> {
    let params =
        actix_web::web::Query::<std::collections::HashMap<String, String>>::from_query(query)
            .map_err(|_| "the query string cannot be read\n")?;
    let get = |key: &str| params.get(key).filter(|v| !v.is_empty()).cloned();
    let room = get("roomId").ok_or("roomId is missing\n")?;
    let peer = get("peerName").ok_or("peerName is missing\n")?;
    if room.len() > MAX_NAME || peer.len() > MAX_NAME {
        return Err("roomId and peerName are at most 256 bytes\n");
    }
    Ok((room, peer))
}

/// `GET /mediasoup` with a WebSocket upgrade.
pub(super) async fn accept(handshake: Handshake, node: Arc<NodeState>) {
    let (room, peer) = match names(handshake.query()) {
        Ok(names) => names,
        Err(why) => return handshake.refuse(StatusCode::BAD_REQUEST, "text/plain", why).await,
    };
    if !handshake.offers("protoo") {
        let why = "the WebSocket subprotocol must be protoo\n";
        return handshake.refuse(StatusCode::FORBIDDEN, "text/plain", why).await;
    }
    // The token (if auth is on) must grant this peer name and room; one it refuses outright
    // is 401, from `ws::accept`.
    if let Ok(grant) = node.grant(handshake.query()) {
        if !grant.may_be(&peer) || !grant.may_enter(&room) {
            let why = "the access token does not grant this peerName or roomId\n";
            return handshake.refuse(StatusCode::FORBIDDEN, "text/plain", why).await;
        }
    }
    let max = node.config.limits.max_frame_bytes;
    let frames = FrameLimits { frame: max, message: max };
    let engine = node.core.mediasoup.clone();
    let metrics = node.metrics.clone();
    let protoo = Some("protoo");
    ws::accept(
        handshake,
        node,
        ClientKind::Mediasoup,
        frames,
        protoo,
        move |link: ClientLink, grant| {
            let member = PeerId {
                name: peer.as_str().into(),
                conn: format!("{}/{}", engine.node(), link.conn()).into(),
            };
            let heard = Rc::new(Cell::new(Instant::now()));
            keepalive(link.clone(), heard.clone());
            Box::new(MediasoupEndpoint {
                seat: engine.seat(member, link.clone()),
                // The room of that name in the peer's tenant's namespace.
                room: RoomId::new(&room).in_tenant(&grant.tenant),
                link,
                vocabulary: Cell::new(Vocabulary::Released),
                heard,
                metrics: metrics.clone(),
            }) as Box<dyn Endpoint>
        },
    )
    .await;
}

/// Pings the peer every [`KEEPALIVE`]; closes it after two intervals without a pong.
fn keepalive(link: ClientLink, heard: Rc<Cell<Instant>>) {
    actix::spawn(async move {
        let mut tick = tokio::time::interval(KEEPALIVE);
        tick.tick().await;
        while link.is_open() {
            tick.tick().await;
            if heard.get().elapsed() > 2 * KEEPALIVE {
                link.close(CloseReason::PingTimeout);
                return;
            }
            let _ = link.ping();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::names;

    #[test]
    fn a_url_names_its_room_and_peer() {
        assert_eq!(names("roomId=r%201&peerName=al%C3%AEce"), Ok(("r 1".into(), "alîce".into())));
        assert!(names("roomId=r").is_err());
        assert!(names("peerName=p").is_err());
        assert!(names("roomId=&peerName=p").is_err());
        assert!(names(&format!("roomId={}&peerName=p", "x".repeat(300))).is_err());
    }
}

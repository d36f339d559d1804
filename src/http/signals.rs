//! The `signals` endpoint, `GET /signals`: a WebSocket whose frames are decoded with the
//! `signals` codec for a `SignalSessionActor`, with the seed's transport limits (32 KB frames,
//! 128 KB messages, both configurable) and a server keepalive.

use crate::metrics::Code;
use std::{sync::Arc, time::Duration};

use actix::Addr;
use futures_util::future::LocalBoxFuture;
use switchboard_actors::{
    signals::{
        session::{Closed, SignalInbound},
        state::{Refusal, Reply},
        SignalSessionActor,
    },
    CloseReason, Credit, Event,
};

use super::{
    quota::ClientKind,
    upgrade::Handshake,
    ws::{self, Endpoint, FrameLimits},
    NodeState,
};
use crate::{
    auth::Grant,
    protocol::{
        cmd::codes::close_code,
        signals::{
            decode::{decode, UNSUPPORTED_CHANNEL},
            encode::{encode, IceConfig},
        },
    },
};

struct SignalsEndpoint {
    actor: Addr<SignalSessionActor>,
    ice: Arc<IceConfig>,
    /// What the client's token grants: the userId it may be, the rooms it may enter.
    grant: Grant,
    /// How TURN credentials are minted, if they are: for the session's user, in its JOIN acks.
    turn: Arc<crate::config::TurnSection>,
    /// The session's user, once a signal named it.
    user: std::cell::RefCell<Option<Arc<str>>>,
}

impl Endpoint for SignalsEndpoint {
    fn name(&self) -> &'static str {
        "signals"
    }

    fn text(&self, text: &str, credit: Credit) -> bool {
        let inbound = match decode(text) {
            Err(r) => Err(Reply::Invalid {
                unsupported: r.code == UNSUPPORTED_CHANNEL,
                name: r.name,
                req: r.req,
                msg: r.msg,
            }),
            // Another user than the token's, or a room outside its grant: 4051.
            Ok(mut signal) => match self.grant.room(signal.rid.clone()) {
                Some(rid) if self.grant.may_be(&signal.from.user) => {
                    // The room of that name in the client's tenant's namespace.
                    signal.rid = rid;
                    self.user.borrow_mut().get_or_insert_with(|| signal.from.user.clone());
                    Ok(signal)
                }
                _ => {
                    let (action, req) = (signal.action, signal.raw);
                    Err(Reply::Refused { action, refusal: Refusal::PermissionDenied, req })
                }
            },
        };
        // The session applies its signals one at a time, in order.
        self.actor.connected() && {
            self.actor.do_send(SignalInbound(inbound, credit));
            true
        }
    }

    fn pong(&self) {}

    fn gone(&self, _reason: Option<CloseReason>) -> LocalBoxFuture<'static, ()> {
        let told = self.actor.send(Closed);
        Box::pin(async move {
            let _ = told.await;
        })
    }

    fn encode_into(&self, event: &Event, into: &mut String) {
        match event {
            Event::Signals(reply @ Reply::Joined { .. }) if self.turn.enabled() => {
                let user = self.user.borrow().clone().unwrap_or_else(|| "anonymous".into());
                let ice =
                    IceConfig { servers: self.ice.servers.clone(), turn: self.turn.mint(&user) };
                into.push_str(&encode(reply, &ice));
            }
            Event::Signals(reply) => into.push_str(&encode(reply, &self.ice)),
            // Only `signals` replies are ever pushed to a `signals` session.
            _ => into.push_str(r#"{"c":500,"s":"","b":{"req":null,"msg":"internal"}}"#),
        }
    }

    fn refusal(&self, event: &Event) -> Option<Code> {
        match event {
            Event::Signals(reply) => {
                crate::protocol::signals::codes::refusal_of(reply).map(Code::Number)
            }
            _ => None,
        }
    }

    fn close_code(&self, reason: CloseReason) -> u16 {
        close_code(reason)
    }
}

/// `GET /signals` with a WebSocket upgrade.
pub(super) async fn accept(handshake: Handshake, node: Arc<NodeState>) {
    let settings = &node.config.signals;
    let frames =
        FrameLimits { frame: settings.max_frame_bytes, message: settings.max_message_bytes };
    let heartbeat = Duration::from_millis(settings.heartbeat_timeout_ms);
    let keepalive = Duration::from_millis(settings.keepalive_ms);
    let ice = Arc::new(IceConfig { servers: settings.ice_servers.clone(), turn: None });
    let turn = Arc::new(node.config.turn.clone());
    let core = node.core.clone();
    ws::accept(handshake, node, ClientKind::Signals, frames, None, move |link, grant| {
        let actor = core.connect_signals(link, heartbeat, keepalive);
        let user = std::cell::RefCell::new(None);
        Box::new(SignalsEndpoint { actor, ice, grant, turn, user }) as Box<dyn Endpoint>
    })
    .await;
}

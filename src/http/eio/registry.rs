//! `EioRegistry`: the node's Engine.IO sessions by sid, so a polling request or a WebSocket
//! upgrade finds the session it belongs to.

use std::collections::HashMap;

use actix::{Actor, Addr, Context, Handler, Message};

use super::session::EioSession;

/// Remember a new session. Sender: the handshake handler. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Insert {
    /// Its sid.
    pub(crate) sid: String,
    /// Its actor.
    pub(crate) addr: Addr<EioSession>,
}

/// Forget a session. Sender: the session, when it stops. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Remove {
    /// Its sid.
    pub(crate) sid: String,
}

/// Find a session. Sender: the polling and upgrade handlers. Reply: its actor, if known.
#[derive(Debug, Message)]
#[rtype(result = "Option<Addr<EioSession>>")]
pub(crate) struct Lookup {
    /// The sid the client named.
    pub(crate) sid: String,
}

/// The sessions. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct EioRegistry {
    sessions: HashMap<String, Addr<EioSession>>,
}

impl Actor for EioRegistry {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.set_mailbox_capacity(4096);
    }
}

impl Handler<Insert> for EioRegistry {
    type Result = ();

    fn handle(&mut self, msg: Insert, _ctx: &mut Context<Self>) {
        self.sessions.insert(msg.sid, msg.addr);
    }
}

impl Handler<Remove> for EioRegistry {
    type Result = ();

    fn handle(&mut self, msg: Remove, _ctx: &mut Context<Self>) {
        self.sessions.remove(&msg.sid);
    }
}

impl Handler<Lookup> for EioRegistry {
    type Result = Option<Addr<EioSession>>;

    fn handle(&mut self, msg: Lookup, _ctx: &mut Context<Self>) -> Self::Result {
        self.sessions.get(&msg.sid).cloned()
    }
}

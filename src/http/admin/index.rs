//! `ClientIndex`: one per node: its connected clients whose access token named them (the
//! token's `sub`), by tenant and identity, so an operator can disconnect a user's every
//! connection ([`Disconnect`]). A client is listed by its seat ([`crate::http::quota::Seat`])
//! and unlisted when the seat goes.

use std::{collections::HashMap, sync::Arc};

use actix::{Actor, Context, Handler, Message};
use switchboard_actors::{ClientLink, CloseReason, ConnId, Tenant};

use crate::http::quota::ClientKind;

/// One listed connection.
type Entry = (ConnId, ClientKind, ClientLink);

/// The node's index. See the module docs.
#[derive(Debug, Default)]
pub(crate) struct ClientIndex {
    /// By tenant and `sub`.
    clients: HashMap<(Tenant, Arc<str>), Vec<Entry>>,
}

impl Actor for ClientIndex {
    type Context = Context<Self>;
}

/// A client connected whose token names it `sub` in `tenant`. Sender: its seat. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Listed {
    pub(crate) tenant: Tenant,
    pub(crate) sub: Arc<str>,
    pub(crate) kind: ClientKind,
    pub(crate) link: ClientLink,
}

/// Connection `conn` (listed as `sub` in `tenant`) ended. Sender: its seat. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Unlisted {
    pub(crate) tenant: Tenant,
    pub(crate) sub: Arc<str>,
    pub(crate) conn: ConnId,
}

/// Close every connection of `sub` in `tenant` (of dialect `kind`, if given) with "disconnected
/// by the operator". Sender: the admin desk. Reply: how many were closed.
#[derive(Debug, Message)]
#[rtype(result = "usize")]
pub(crate) struct Disconnect {
    pub(crate) tenant: Tenant,
    pub(crate) sub: String,
    pub(crate) kind: Option<ClientKind>,
}

impl Handler<Listed> for ClientIndex {
    type Result = ();

    fn handle(&mut self, msg: Listed, _: &mut Context<Self>) {
        let entry = self.clients.entry((msg.tenant, msg.sub)).or_default();
        entry.push((msg.link.conn(), msg.kind, msg.link));
    }
}

impl Handler<Unlisted> for ClientIndex {
    type Result = ();

    fn handle(&mut self, msg: Unlisted, _: &mut Context<Self>) {
        let key = (msg.tenant, msg.sub);
        if let Some(links) = self.clients.get_mut(&key) {
            links.retain(|(conn, _, _)| *conn != msg.conn);
            if links.is_empty() {
                self.clients.remove(&key);
            }
        }
    }
}

impl Handler<Disconnect> for ClientIndex {
    type Result = usize;

    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) -> usize {
        let Some(links) = self.clients.get(&(msg.tenant, Arc::from(msg.sub))) else { return 0 };
        let chosen = links.iter().filter(|(_, kind, _)| msg.kind.is_none_or(|k| k == *kind));
        let mut closed = 0;
        for (conn, _, link) in chosen {
            log::info!("{conn}: disconnected by the operator");
            link.close(CloseReason::Disconnected);
            closed += 1;
        }
        closed
    }
}

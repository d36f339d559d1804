//! `DirectoryActor`: the node's one owner of client names, presence and call ids.
//!
//! Started once per node by [`crate::node::Core::start`]; lives as long as the node. Receives
//! [`Register`], [`Unregister`], [`OpenCall`], [`Notify`] from connections and [`CallEnded`] from
//! calls; starts a `CallActor` per call; pushes events to clients' links.
//!
//! Rosters are coalesced: a change marks the roster dirty, and waiting clients get at most one
//! roster per `roster_interval`. The first change after a quiet interval is sent at once; changes
//! within the interval are folded into one trailing roster, which is always the current list.
//! Each roster is built once and shared (and encoded once) by every recipient.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use actix::{Actor, AsyncContext, Context, Handler, Recipient};

use super::{
    messages::{CallEnded, Notify, OpenCall, Register, Unregister},
    state::Registry,
};
use crate::{
    call::{CallActor, Member},
    connection::messages::CallMembership,
    error::ErrorKind,
    event::{Event, Phase, Roster},
    ids::{CallId, NodeId},
    link::{ClientLink, PushError},
};

/// The directory's tunables.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// Minimum time between two rosters to the same client.
    pub roster_interval: Duration,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self { roster_interval: Duration::from_millis(50) }
    }
}

/// How the directory reaches a registered client.
#[derive(Debug)]
struct Handle {
    link: ClientLink,
    actor: Recipient<CallMembership>,
}

/// The node's directory. See the module docs.
#[derive(Debug)]
pub struct DirectoryActor {
    node: NodeId,
    config: DirectoryConfig,
    registry: Registry<Handle>,
    last_roster: Option<Instant>,
    roster_scheduled: bool,
}

impl DirectoryActor {
    /// An empty directory for node `node`.
    pub fn new(node: NodeId, config: DirectoryConfig) -> Self {
        Self {
            node,
            config,
            registry: Registry::default(),
            last_roster: None,
            roster_scheduled: false,
        }
    }

    /// Notes that the roster changed; sends it now or schedules the trailing one.
    fn roster_changed(&mut self, ctx: &mut Context<Self>) {
        if self.roster_scheduled {
            return;
        }
        let due = self.last_roster.map(|at| at + self.config.roster_interval);
        match due {
            Some(due) if due > Instant::now() => {
                self.roster_scheduled = true;
                ctx.run_later(due - Instant::now(), |this, _| {
                    this.roster_scheduled = false;
                    this.send_roster();
                });
            }
            _ => self.send_roster(),
        }
    }

    fn send_roster(&mut self) {
        self.last_roster = Some(Instant::now());
        let roster = Arc::new(Roster::new(self.registry.roster()));
        for client in self.registry.waiting() {
            // A full queue closes that client; the others are unaffected.
            let _ = client.handle.link.push(Event::Roster(roster.clone()));
        }
    }
}

impl Actor for DirectoryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Registrations and call messages are small and answered at once; a deep mailbox only
        // absorbs bursts from thousands of connections.
        ctx.set_mailbox_capacity(4096);
        log::debug!("directory of node {} started", self.node);
    }
}

impl Handler<Register> for DirectoryActor {
    type Result = Result<(), ErrorKind>;

    fn handle(&mut self, msg: Register, ctx: &mut Context<Self>) -> Self::Result {
        let Register { name, conn, link, actor } = msg;
        let welcome = Event::Registered { name: name.clone() };
        self.registry.register(name, conn, Handle { link: link.clone(), actor })?;
        // The echo is queued before any roster that lists the new name.
        let _ = link.push(welcome);
        self.roster_changed(ctx);
        Ok(())
    }
}

impl Handler<Unregister> for DirectoryActor {
    type Result = ();

    fn handle(&mut self, msg: Unregister, ctx: &mut Context<Self>) {
        if self.registry.unregister(&msg.name, msg.conn).is_some() {
            self.roster_changed(ctx);
        }
    }
}

impl Handler<OpenCall> for DirectoryActor {
    type Result = Result<(), ErrorKind>;

    fn handle(&mut self, msg: OpenCall, ctx: &mut Context<Self>) -> Self::Result {
        let call = self.registry.open_call(&msg.caller, &msg.callee, CallId::random)?;
        let member = |name| {
            let handle = &self.registry.get(name)?.handle;
            Some(Member {
                name: name.clone(),
                link: handle.link.clone(),
                conn: handle.actor.clone(),
            })
        };
        let (Some(caller), Some(callee)) = (member(&msg.caller), member(&msg.callee)) else {
            // open_call succeeded, so both are registered.
            return Err(ErrorKind::Internal);
        };
        let ended = ctx.address().recipient();
        let addr = CallActor::new(call.clone(), caller.clone(), callee.clone(), ended).start();
        for m in [&caller, &callee] {
            m.conn.do_send(CallMembership::Joined { call: call.clone(), addr: addr.clone() });
        }
        let _ = caller.link.push(Event::CallOpened { call: call.clone() });
        for m in [&caller, &callee] {
            let _ = m.link.push(Event::CallPhase { call: call.clone(), phase: Phase::New });
        }
        self.roster_changed(ctx);
        Ok(())
    }
}

impl Handler<Notify> for DirectoryActor {
    type Result = Result<(), ErrorKind>;

    fn handle(&mut self, msg: Notify, _ctx: &mut Context<Self>) -> Self::Result {
        let target = self.registry.get(&msg.to).ok_or(ErrorKind::PeerNotFound)?;
        let link = &target.handle.link;
        if !link.is_open() {
            return Err(ErrorKind::PeerNotOpen);
        }
        link.push(Event::Notified { from: msg.from, kind: msg.kind }).map_err(|e| match e {
            PushError::Full => ErrorKind::DeliveryFailed,
            PushError::Closed => ErrorKind::PeerGone,
        })
    }
}

impl Handler<CallEnded> for DirectoryActor {
    type Result = ();

    fn handle(&mut self, msg: CallEnded, ctx: &mut Context<Self>) {
        let [(a, a_conn), (b, b_conn)] = msg.members;
        self.registry.end_call(&msg.call, [&a, &b]);
        for (link, event) in msg.deliveries {
            let _ = link.push(event);
        }
        for conn in [a_conn, b_conn] {
            conn.do_send(CallMembership::Left { call: msg.call.clone() });
        }
        self.roster_changed(ctx);
    }
}

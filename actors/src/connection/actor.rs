//! `ConnectionActor`: one per client connection.
//!
//! Started by the edge when a client connects, with the client's [`ClientLink`]; stopped when the
//! transport goes away ([`Disconnected`]) or the client fails a liveness check. It owns the
//! client's identity (its registered name), the call it is in, and its liveness (a ping every
//! `ping_interval`; no pong by the next ping closes the connection). It knows no wire format:
//! it receives decoded [`Inbound`] commands and answers through the link.
//!
//! On stop it releases what the client held: its name ([`Unregister`]) and its call
//! ([`MemberLeft`], which tells the other member).

use std::{future::Future, time::Duration};

use actix::{
    fut, Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Context, Handler, MailboxError,
    ResponseActFuture, WrapFuture,
};

use super::messages::{CallMembership, CallRef, Disconnected, Inbound, Pong};
use crate::{
    call::{LocalRelay, MemberLeft, RelaySignal},
    cluster::Topic,
    command::{CallSignal, Command, CommandKind},
    directory::wire::Wire,
    directory::{DirectoryActor, Notify, OpenCall, Register, Unregister},
    error::{ClientError, CloseReason, ErrorKind},
    event::Event,
    ids::{CallId, ClientName},
    link::ClientLink,
};

/// A connection's tunables.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// Time between transport pings; a ping unanswered by the next one closes the connection.
    pub ping_interval: Duration,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self { ping_interval: Duration::from_secs(3) }
    }
}

/// The actor owning one client connection. See the module docs.
#[derive(Debug)]
pub struct ConnectionActor {
    link: ClientLink,
    directory: Addr<DirectoryActor>,
    config: ConnectionConfig,
    name: Option<ClientName>,
    /// A name whose registration is in flight: released on stop too, in case it lands.
    registering: Option<ClientName>,
    call: Option<(CallId, CallRef)>,
    awaiting_pong: bool,
}

type Reply = Result<Result<(), ErrorKind>, MailboxError>;

impl ConnectionActor {
    /// A connection reaching its client through `link`.
    pub fn new(
        link: ClientLink,
        directory: Addr<DirectoryActor>,
        config: ConnectionConfig,
    ) -> Self {
        Self {
            link,
            directory,
            config,
            name: None,
            registering: None,
            call: None,
            awaiting_pong: false,
        }
    }

    fn reply_error(&self, error: ClientError) {
        log::debug!("{}: refused: {error}", self.link.conn());
        let _ = self.link.push(Event::Error(error));
    }

    fn refuse(&self, kind: ErrorKind, op: CommandKind) -> ResponseActFuture<Self, ()> {
        self.reply_error(ClientError::during(kind, op));
        Box::pin(fut::ready(()))
    }

    /// Waits for a core actor's answer to `op` and reports its error, if any, to the client.
    fn answer(
        &self,
        op: CommandKind,
        reply: impl Future<Output = Reply> + 'static,
    ) -> ResponseActFuture<Self, ()> {
        Box::pin(reply.into_actor(self).map(move |reply, this, _| {
            // A core actor that is gone (a call that just ended) means the target is gone.
            let kind = match reply {
                Ok(Ok(())) => return,
                Ok(Err(kind)) => kind,
                Err(MailboxError::Closed) if op != CommandKind::Register => ErrorKind::CallNotFound,
                Err(_) => ErrorKind::Internal,
            };
            this.reply_error(ClientError::during(kind, op));
        }))
    }

    /// Handles one command; the returned future completes when its answer is queued.
    fn handle_command(
        &mut self,
        cmd: Command,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        let op = cmd.kind();
        let Some(me) = self.name.clone() else {
            let Command::Register { name } = cmd else {
                return self.refuse(ErrorKind::NotRegistered, op);
            };
            return self.register(name, ctx);
        };
        match cmd {
            Command::Register { .. } => self.refuse(ErrorKind::AlreadyRegistered, op),
            Command::OpenCall { callee: peer } | Command::Notify { to: peer, .. } if peer == me => {
                self.refuse(ErrorKind::SelfTarget, op)
            }
            Command::OpenCall { callee } => {
                self.answer(op, self.directory.send(OpenCall { caller: me, callee }))
            }
            Command::Notify { to, kind } => {
                self.answer(op, self.directory.send(Notify { from: me, to, kind }))
            }
            Command::Signal { call, signal } => match &self.call {
                Some((id, CallRef::Local(addr))) if *id == call => {
                    // An ending signal (the others were relayed at once: `relay_at_once`) is
                    // answered once both members are free again, so the client's next command
                    // sees that.
                    self.answer(op, addr.send(RelaySignal { from: me, signal }))
                }
                Some((id, CallRef::Remote { home, cluster })) if *id == call => {
                    // The call's home answers a refusal with an error event of its own.
                    let relay = Wire::Relay { call, from: me, signal };
                    match cluster.send(home, Topic::Cmd, &relay) {
                        Ok(()) => Box::pin(fut::ready(())),
                        Err(_) => self.refuse(ErrorKind::Unavailable, op),
                    }
                }
                _ => self.refuse(ErrorKind::CallNotFound, op),
            },
        }
    }

    /// Relays a signal that does not end the client's call on this node, with no reply to
    /// wait for (a refusal comes back on the link, in order); any other command is handed
    /// back.
    fn relay_at_once(&mut self, cmd: Command) -> Result<(), Command> {
        let (Some(me), Some((id, CallRef::Local(addr)))) = (&self.name, &self.call) else {
            return Err(cmd);
        };
        match cmd {
            Command::Signal { call, signal }
                if call == *id
                    && !matches!(signal, CallSignal::Reject | CallSignal::Stop)
                    && addr.connected() =>
            {
                let relay = RelaySignal { from: me.clone(), signal };
                addr.do_send(LocalRelay { relay, reply: self.link.clone() });
                Ok(())
            }
            cmd => Err(cmd),
        }
    }

    fn register(
        &mut self,
        name: ClientName,
        ctx: &mut Context<Self>,
    ) -> ResponseActFuture<Self, ()> {
        self.registering = Some(name.clone());
        let req = self.directory.send(Register {
            name: name.clone(),
            conn: self.link.conn(),
            link: self.link.clone(),
            actor: ctx.address().recipient(),
        });
        Box::pin(req.into_actor(self).map(move |reply, this, _| {
            this.registering = None;
            let kind = match reply {
                Ok(Ok(())) => {
                    this.name = Some(name);
                    return;
                }
                Ok(Err(kind)) => kind,
                Err(_) => ErrorKind::Internal,
            };
            this.reply_error(ClientError::during(kind, CommandKind::Register));
        }))
    }

    fn check_liveness(&mut self, ctx: &mut Context<Self>) {
        if self.awaiting_pong {
            log::info!("{}: no pong since the last ping, closing", self.link.conn());
            self.link.close(CloseReason::PingTimeout);
            ctx.stop();
            return;
        }
        self.awaiting_pong = true;
        let _ = self.link.ping();
    }
}

impl Actor for ConnectionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(self.config.ping_interval, Self::check_liveness);
    }

    fn stopped(&mut self, _ctx: &mut Context<Self>) {
        if let Some(name) = self.registering.take() {
            self.directory.do_send(Unregister { name, conn: self.link.conn() });
        }
        if let Some(name) = self.name.take() {
            // A call homed on another node hears of it from the directory's Unregister.
            if let Some((_, CallRef::Local(call))) = self.call.take() {
                call.do_send(MemberLeft { name: name.clone() });
            }
            self.directory.do_send(Unregister { name, conn: self.link.conn() });
        }
        log::debug!("{}: connection closed", self.link.conn());
    }
}

impl Handler<Inbound> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: Inbound, ctx: &mut Context<Self>) {
        let Inbound(command, credit) = msg;
        match command {
            Ok(cmd) => {
                let Err(cmd) = self.relay_at_once(cmd) else { return };
                // `wait`: the client's next command is handled once this one is answered, and
                // its credit comes back only then.
                let answered = self.handle_command(cmd, ctx);
                ctx.wait(answered.map(move |(), _, _| drop(credit)));
            }
            Err(mut error) => {
                // As in the reference, an unregistered client hears 9100-style "register first"
                // before any complaint about the fields of a command that needs registration.
                if self.name.is_none() && error.op.is_some_and(|op| op != CommandKind::Register) {
                    error.kind = ErrorKind::NotRegistered;
                }
                self.reply_error(error);
            }
        }
    }
}

impl Handler<Pong> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, _msg: Pong, _ctx: &mut Context<Self>) {
        self.awaiting_pong = false;
    }
}

impl Handler<Disconnected> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: Disconnected, ctx: &mut Context<Self>) {
        if let Some(reason) = msg.reason {
            log::info!("{}: closed by the server: {}", self.link.conn(), reason.describe());
        }
        ctx.stop();
    }
}

impl Handler<CallMembership> for ConnectionActor {
    type Result = ();

    fn handle(&mut self, msg: CallMembership, _ctx: &mut Context<Self>) {
        match msg {
            CallMembership::Joined { call, at } => self.call = Some((call, at)),
            CallMembership::Left { call } => {
                if self.call.as_ref().is_some_and(|(id, _)| *id == call) {
                    self.call = None;
                }
            }
        }
    }
}

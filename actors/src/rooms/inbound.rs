//! What the node's `rooms` sockets send their rooms owner: a socket's arrival, its commands
//! and its departure, in the socket's order, through one channel the [`RoomsActor`] reads as
//! a stream.
//!
//! Not actix messages: a message costs two allocations (its envelope and its mailbox node)
//! and a signal is relayed hundreds of thousands of times a second. The channel stores items
//! in blocks it reuses, so a command costs no allocation to send. Everything a socket sends
//! goes this one way, so its arrival, its commands and its departure cannot overtake each
//! other.

use std::{
    pin::Pin,
    task::{Context as TaskContext, Poll},
};

use actix::{Actor, AsyncContext, Context, StreamHandler};
use futures_util::Stream;
use tokio::sync::mpsc;

use super::{RoomCommand, RoomsActor};
use crate::{credit::Credit, ids::SocketId, link::ClientLink};

/// One thing a socket tells the rooms owner.
#[derive(Debug)]
pub(super) enum Inbound {
    /// Socket `id` connected; it is reached through `link`.
    Attach { id: SocketId, link: ClientLink },
    /// Socket `id` asks `command`; `credit` is held until the command is applied (or handed
    /// to the room's home).
    Request { id: SocketId, command: RoomCommand, credit: Credit },
    /// Socket `id` is gone: it leaves every room it was in.
    Detach { id: SocketId },
}

/// The way into a node's rooms owner. Cheap to clone; every `RoomSocket` holds one.
#[derive(Debug, Clone)]
pub struct RoomsDoor(mpsc::UnboundedSender<Inbound>);

impl RoomsDoor {
    /// Queues `inbound` for the rooms owner; dropped if it has stopped (the node is going).
    pub(super) fn send(&self, inbound: Inbound) {
        let _ = self.0.send(inbound);
    }
}

impl RoomsActor {
    /// Starts `self` on the current arbiter with the door its sockets come in through.
    pub fn start_with_door(self) -> (actix::Addr<Self>, RoomsDoor) {
        let (tx, rx) = mpsc::unbounded_channel();
        let addr = Self::create(move |ctx| {
            ctx.add_stream(Arrivals(rx));
            self
        });
        (addr, RoomsDoor(tx))
    }
}

/// The receiving end of the door, as a stream.
struct Arrivals(mpsc::UnboundedReceiver<Inbound>);

impl Stream for Arrivals {
    type Item = Inbound;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Inbound>> {
        self.0.poll_recv(cx)
    }
}

impl StreamHandler<Inbound> for RoomsActor {
    fn handle(&mut self, item: Inbound, ctx: &mut Context<Self>) {
        match item {
            Inbound::Attach { id, link } => self.attach(id, link),
            Inbound::Request { id, command, credit } => self.request(id, command, credit, ctx),
            Inbound::Detach { id } => self.detach(id, ctx),
        }
    }

    /// Every door is gone: the node is shutting down. The actor stays until it is stopped.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

//! `EioRegistry`: the node's Engine.IO sessions by sid, so a polling request or a WebSocket
//! upgrade finds the session it belongs to; in a cluster, also the forwarding of polling
//! requests to the node holding their session, and the answering of those forwarded here
//! (see [`super::remote`]).

use std::{collections::HashMap, net::IpAddr};

use actix::{Actor, ActorFutureExt, Addr, AsyncContext, Context, Handler, Message, WrapFuture};
use switchboard_actors::{
    cluster::{Cluster, Inbox, Topic},
    link, ClientLink, ConnId, LinkReceiver, NodeId, Outbound,
};
use tokio::sync::oneshot;

use super::{
    handshakes::Handshakes,
    messages::{Poll, Polled, Polling, Post, Refused, WsAttach, WsFrame, WsGone},
    remote::EioWire,
    session::EioSession,
};

/// Remember a new session. Sender: the handshake handler. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Insert {
    /// Its sid.
    pub(crate) sid: String,
    /// Its actor.
    pub(crate) addr: Addr<EioSession>,
    /// For a polling handshake: the source it was [`Admit`]ted for, pending until the client
    /// comes back.
    pub(crate) pending_from: Option<IpAddr>,
}

/// May `source` open one more polling session? Sender: the handshake handler, before it
/// opens one. Reply: `true` with a place reserved, or `false` (the source has its share of
/// pending handshakes).
#[derive(Debug, Message)]
#[rtype(result = "bool")]
pub(crate) struct Admit {
    /// The client's address.
    pub(crate) source: IpAddr,
}

/// The client of session `sid` came back after its handshake. Sender: the session. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct Confirmed {
    /// The session.
    pub(crate) sid: String,
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

/// Use this cluster handle for forwarded requests. Sender: the node, once its core runs.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct UseCluster(pub Cluster);

/// A polling request for a session on node `node`. Reply: where its answer will come, or
/// `None` if it cannot be forwarded.
#[derive(Debug, Message)]
#[rtype(result = "Option<oneshot::Receiver<Result<String, Refused>>>")]
pub(crate) struct Forward {
    /// The session's node.
    pub(crate) node: NodeId,
    /// The session.
    pub(crate) sid: String,
    /// A POST body, or `None` for a long-poll.
    pub(crate) body: Option<String>,
}

/// Relay a WebSocket upgrade for session `sid` on node `node`. Reply: the proxy number and
/// where the session's frames for the client will arrive, or `None` if it cannot be relayed.
#[derive(Debug, Message)]
#[rtype(result = "Option<(u64, LinkReceiver)>")]
pub(crate) struct OpenProxy {
    /// The session's node.
    pub(crate) node: NodeId,
    /// The session.
    pub(crate) sid: String,
    /// How many frames may wait for the client.
    pub(crate) backlog: switchboard_actors::Backlog,
}

/// The client of proxy `proxy` went away. Sender: the proxy's reader. No reply.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub(crate) struct CloseProxy {
    /// The proxy.
    pub(crate) proxy: u64,
    /// The session's node, told.
    pub(crate) node: NodeId,
    /// The session.
    pub(crate) sid: String,
}

/// Forwarded requests in flight below which abandoned ones are not looked for.
const MIN_PRUNE_AT: usize = 64;

/// The sessions. See the module docs.
#[derive(Debug)]
pub struct EioRegistry {
    sessions: HashMap<String, Addr<EioSession>>,
    handshakes: Handshakes,
    cluster: Option<Cluster>,
    pending: HashMap<u64, oneshot::Sender<Result<String, Refused>>>,
    /// Size of `pending` at which abandoned slots are pruned next.
    prune_at: usize,
    next_req: u64,
    /// WebSockets this node relays for sessions elsewhere: where their frames go.
    proxies: HashMap<u64, ClientLink>,
}

impl EioRegistry {
    /// A registry letting each source address hold `pending_per_address` sessions whose client
    /// has not come back after the handshake.
    pub fn new(pending_per_address: usize) -> Self {
        Self {
            sessions: HashMap::new(),
            handshakes: Handshakes::new(pending_per_address),
            cluster: None,
            pending: HashMap::new(),
            prune_at: 0,
            next_req: 0,
            proxies: HashMap::new(),
        }
    }

    fn answer(&self, to: &NodeId, req: u64, result: Result<String, Refused>) {
        if let Some(cluster) = &self.cluster {
            let _ = cluster.send(to, Topic::Edge, &EioWire::Answer { req, result });
        }
    }

    /// Serves a request forwarded by `origin` for local session `sid`.
    fn serve(
        &mut self,
        origin: NodeId,
        sid: String,
        req: u64,
        body: Option<String>,
        ctx: &mut Context<Self>,
    ) {
        let Some(session) = self.sessions.get(&sid).cloned() else {
            self.answer(&origin, req, Err(Refused::Closed));
            return;
        };
        let work = async move {
            match body {
                Some(body) => match session.send(Post(body)).await {
                    Ok(Ok(())) => Ok("ok".to_owned()),
                    Ok(Err(refused)) => Err(refused),
                    Err(_) => Err(Refused::Closed),
                },
                None => match session.send(Poll).await {
                    Ok(Ok(Polling::Ready(payload))) => Ok(payload),
                    Ok(Ok(Polling::Parked(wait))) => match wait.await {
                        Ok(Polled::Payload(payload)) => Ok(payload),
                        Err(_) => Err(Refused::Closed),
                    },
                    Ok(Err(refused)) => Err(refused),
                    Err(_) => Err(Refused::Closed),
                },
            }
        };
        ctx.spawn(
            work.into_actor(self).map(move |result, this, _| this.answer(&origin, req, result)),
        );
    }
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
        if let Some(source) = msg.pending_from {
            self.handshakes.started(msg.sid.clone(), source);
        }
        self.sessions.insert(msg.sid, msg.addr);
    }
}

impl Handler<Admit> for EioRegistry {
    type Result = bool;

    fn handle(&mut self, msg: Admit, _ctx: &mut Context<Self>) -> bool {
        self.handshakes.admit(msg.source)
    }
}

impl Handler<Confirmed> for EioRegistry {
    type Result = ();

    fn handle(&mut self, msg: Confirmed, _ctx: &mut Context<Self>) {
        self.handshakes.done(&msg.sid);
    }
}

impl Handler<Remove> for EioRegistry {
    type Result = ();

    fn handle(&mut self, msg: Remove, _ctx: &mut Context<Self>) {
        self.handshakes.done(&msg.sid);
        self.sessions.remove(&msg.sid);
    }
}

impl EioRegistry {
    /// A WebSocket for local session `sid` reached `origin`: attach it as that node's proxy.
    fn open_proxied(&mut self, origin: NodeId, sid: String, proxy: u64, ctx: &mut Context<Self>) {
        let (Some(session), Some(cluster)) = (self.sessions.get(&sid), self.cluster.clone()) else {
            if let Some(cluster) = &self.cluster {
                let _ = cluster.send(&origin, Topic::Edge, &EioWire::WsClose { proxy });
            }
            return;
        };
        let (tx, mut rx) = link::channel(ConnId(0), 1024);
        session.do_send(WsAttach { tx });
        let relay = async move {
            // Frames queued together cross in one message.
            while let Some(Outbound::Frame(first)) = rx.next().await {
                let mut frames = vec![first];
                while let Some(Outbound::Frame(frame)) = rx.try_next() {
                    frames.push(frame);
                    if frames.len() == 256 {
                        break;
                    }
                }
                let out = EioWire::WsOut { proxy, frames };
                if cluster.send(&origin, Topic::Edge, &out).is_err() {
                    break;
                }
            }
            let _ = cluster.send(&origin, Topic::Edge, &EioWire::WsClose { proxy });
        };
        ctx.spawn(relay.into_actor(self));
    }
}

impl Handler<OpenProxy> for EioRegistry {
    type Result = Option<(u64, LinkReceiver)>;

    fn handle(&mut self, msg: OpenProxy, _ctx: &mut Context<Self>) -> Self::Result {
        let cluster = self.cluster.as_ref()?;
        self.next_req += 1;
        let proxy = self.next_req;
        cluster.send(&msg.node, Topic::Edge, &EioWire::WsOpen { sid: msg.sid, proxy }).ok()?;
        let (tx, rx) = link::bounded(ConnId(0), msg.backlog);
        self.proxies.insert(proxy, tx);
        Some((proxy, rx))
    }
}

impl Handler<CloseProxy> for EioRegistry {
    type Result = ();

    fn handle(&mut self, msg: CloseProxy, _ctx: &mut Context<Self>) {
        self.proxies.remove(&msg.proxy);
        if let Some(cluster) = &self.cluster {
            let _ = cluster.send(&msg.node, Topic::Edge, &EioWire::WsClosed { sid: msg.sid });
        }
    }
}

impl Handler<UseCluster> for EioRegistry {
    type Result = ();

    fn handle(&mut self, msg: UseCluster, _ctx: &mut Context<Self>) {
        self.cluster = Some(msg.0);
    }
}

impl Handler<Forward> for EioRegistry {
    type Result = Option<oneshot::Receiver<Result<String, Refused>>>;

    fn handle(&mut self, msg: Forward, _ctx: &mut Context<Self>) -> Self::Result {
        let cluster = self.cluster.as_ref()?;
        self.next_req += 1;
        let req = self.next_req;
        let wire = match msg.body {
            Some(body) => EioWire::Post { sid: msg.sid, req, body },
            None => EioWire::Poll { sid: msg.sid, req },
        };
        cluster.send(&msg.node, Topic::Edge, &wire).ok()?;
        let (tx, rx) = oneshot::channel();
        // Answers that never come (a dead node) are dropped with the sender's timeout; prune
        // their slots here so the map stays bounded. Only when it has doubled since the last
        // prune: a scan per request would make each long-poll cost O(polls in flight).
        if self.pending.len() >= self.prune_at {
            self.pending.retain(|_, tx| !tx.is_closed());
            self.prune_at = (self.pending.len() * 2).max(MIN_PRUNE_AT);
        }
        self.pending.insert(req, tx);
        Some(rx)
    }
}

impl Handler<Inbox> for EioRegistry {
    type Result = ();

    fn handle(&mut self, msg: Inbox, ctx: &mut Context<Self>) {
        match serde_json::from_slice::<EioWire>(&msg.body) {
            Ok(EioWire::Poll { sid, req }) => self.serve(msg.origin, sid, req, None, ctx),
            Ok(EioWire::Post { sid, req, body }) => {
                self.serve(msg.origin, sid, req, Some(body), ctx)
            }
            Ok(EioWire::Answer { req, result }) => {
                if let Some(tx) = self.pending.remove(&req) {
                    let _ = tx.send(result);
                }
            }
            Ok(EioWire::WsOpen { sid, proxy }) => self.open_proxied(msg.origin, sid, proxy, ctx),
            Ok(EioWire::WsIn { sid, text }) => {
                if let Some(session) = self.sessions.get(&sid) {
                    session.do_send(WsFrame {
                        text: text.into(),
                        credit: switchboard_actors::Credit::none(),
                        direct: false,
                    });
                }
            }
            Ok(EioWire::WsClosed { sid }) => {
                if let Some(session) = self.sessions.get(&sid) {
                    session.do_send(WsGone);
                }
            }
            Ok(EioWire::WsOut { proxy, frames }) => {
                let Some(tx) = self.proxies.get(&proxy) else { return };
                // A client that cannot keep up is dropped, as a local one would be.
                if frames.into_iter().any(|frame| tx.frame(frame).is_err()) {
                    self.proxies.remove(&proxy);
                }
            }
            Ok(EioWire::WsClose { proxy }) => {
                self.proxies.remove(&proxy);
            }
            Err(e) => log::warn!("bad edge frame from {}: {e}", msg.origin),
        }
    }
}

impl Handler<Lookup> for EioRegistry {
    type Result = Option<Addr<EioSession>>;

    fn handle(&mut self, msg: Lookup, _ctx: &mut Context<Self>) -> Self::Result {
        self.sessions.get(&msg.sid).cloned()
    }
}

//! `DirectoryActor`: the node's one owner of client names, presence and calls.
//!
//! Started once per node by [`crate::node::Core::start`]; lives as long as the node. Receives
//! `Register`, `Unregister`, `OpenCall`, `Notify` from connections and `CallEnded` from calls
//! homed here (handled in `handlers.rs`); starts a `CallActor` per call opened by one of its clients; pushes events to
//! clients' links. In a cluster it also owns this node's side of every cross-node conversation
//! (see `remote.rs`): names are claimed in Redis, other nodes' clients are kept in a
//! [`Replica`], and a call with a member elsewhere is homed on the caller's node.
//!
//! Rosters are coalesced: a change marks the roster dirty, and waiting clients get at most one
//! roster per `roster_interval`. The first change after a quiet interval is sent at once; changes
//! within the interval are folded into one trailing roster, which is always the current list.
//! Each roster is built once and shared (and encoded once) by every recipient; the same tick
//! sends this node's presence changes to its peers, encoded once.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use actix::{
    fut, Actor, ActorFutureExt, Addr, AsyncContext, Context, Recipient, ResponseActFuture,
    WrapFuture,
};
use tokio::sync::oneshot;

use super::{
    messages::Notify,
    replica::Replica,
    state::Registry,
    wire::{Entry, Wire},
};
use crate::{
    call::{CallActor, Member, Reach},
    cluster::{Cluster, Topic},
    connection::messages::{CallMembership, CallRef},
    error::ErrorKind,
    event::{Event, Phase, Presence, Roster, RosterEntry},
    ids::{CallId, ClientName, ConnId, NodeId, Tenant},
    link::ClientLink,
};

/// The namespace of `cmd` names among the cluster's claims.
pub(super) const NAMESPACE: &str = "cmd";

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
pub(super) struct Handle {
    pub(super) link: ClientLink,
    pub(super) actor: Recipient<CallMembership>,
}

/// A name being claimed in Redis for a connection.
#[derive(Debug)]
pub(super) struct Claim {
    pub(super) conn: ConnId,
    /// The connection went away meanwhile: release the name once the claim lands.
    pub(super) abandoned: bool,
}

/// A call homed here.
#[derive(Debug)]
pub(super) struct Homed {
    pub(super) addr: Addr<CallActor>,
    /// Each member and its node, if not this one.
    pub(super) members: [(ClientName, Option<NodeId>); 2],
}

/// A call homed on another node with a member here.
#[derive(Debug)]
pub(super) struct Joined {
    pub(super) home: NodeId,
    pub(super) member: ClientName,
    pub(super) peer: ClientName,
}

/// The node's directory. See the module docs.
#[derive(Debug)]
pub struct DirectoryActor {
    pub(super) node: NodeId,
    pub(super) config: DirectoryConfig,
    pub(super) cluster: Option<Cluster>,
    pub(super) registry: Registry<Handle>,
    pub(super) replica: Replica,
    pub(super) next_seq: u64,
    pub(super) claiming: HashMap<ClientName, Claim>,
    pub(super) homed: HashMap<CallId, Homed>,
    pub(super) joined: HashMap<CallId, Joined>,
    pub(super) invites: HashMap<CallId, (NodeId, oneshot::Sender<Result<(), ErrorKind>>)>,
    pub(super) peers: HashSet<NodeId>,
    /// Messages that must reach a live peer (a call's end, a member's departure) but could not
    /// be sent while Redis was unreachable; retried every second.
    pub(super) backlog: Vec<(NodeId, Wire)>,
    pub(super) dirty: HashSet<ClientName>,
    pub(super) last_roster: Option<Instant>,
    pub(super) roster_scheduled: bool,
}

/// How long the caller's node waits for the callee's node to answer an invite.
const INVITE_TIMEOUT: Duration = Duration::from_secs(3);
/// Most messages kept for peers while Redis is unreachable.
const MAX_BACKLOG: usize = 100_000;

pub(super) type Reply = ResponseActFuture<DirectoryActor, Result<(), ErrorKind>>;

pub(super) fn ready(result: Result<(), ErrorKind>) -> Reply {
    Box::pin(fut::ready(result))
}

impl DirectoryActor {
    /// An empty directory for node `node`; clustered when `cluster` is given.
    pub fn new(node: NodeId, config: DirectoryConfig, cluster: Option<Cluster>) -> Self {
        Self {
            node,
            config,
            cluster,
            registry: Registry::default(),
            replica: Replica::default(),
            next_seq: 0,
            claiming: HashMap::new(),
            homed: HashMap::new(),
            joined: HashMap::new(),
            invites: HashMap::new(),
            peers: HashSet::new(),
            backlog: Vec::new(),
            dirty: HashSet::new(),
            last_roster: None,
            roster_scheduled: false,
        }
    }

    /// Notes that `name`'s entry changed, for the roster and for peers.
    pub(super) fn touch(&mut self, name: &ClientName, ctx: &mut Context<Self>) {
        self.dirty.insert(name.clone());
        self.roster_changed(ctx);
    }

    /// Notes that the roster changed; sends it now or schedules the trailing one.
    pub(super) fn roster_changed(&mut self, ctx: &mut Context<Self>) {
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

    pub(super) fn send_roster(&mut self) {
        self.last_roster = Some(Instant::now());
        self.publish_presence();
        let mut all: Vec<(u64, ClientName, Presence)> =
            self.registry.entries().map(|(seq, name, p)| (seq, name.clone(), p)).collect();
        all.extend(
            self.replica
                .iter()
                .filter(|(name, _)| self.registry.get(name).is_none())
                .map(|(name, r)| (r.seq, name.clone(), r.presence)),
        );
        // One roster per tenant: a client sees its own tenant's names only.
        all.sort_unstable_by(|a, b| (a.1.tenant(), a.0, &a.1).cmp(&(b.1.tenant(), b.0, &b.1)));
        let mut rosters: HashMap<Tenant, Arc<Roster>> = HashMap::new();
        for tenant in all.chunk_by(|a, b| a.1.tenant() == b.1.tenant()) {
            let entries = tenant
                .iter()
                .map(|(_, name, presence)| RosterEntry { name: name.clone(), presence: *presence });
            rosters.insert(tenant[0].1.tenant().clone(), Arc::new(Roster::new(entries.collect())));
        }
        for (name, client) in self.registry.clients().filter(|(_, c)| c.call.is_none()) {
            let Some(roster) = rosters.get(name.tenant()) else { continue };
            // A full queue closes that client; the others are unaffected.
            let _ = client.handle.link.push(Event::Roster(roster.clone()));
        }
    }

    /// This node's entry for `name`, as peers store it.
    pub(super) fn entry(&self, name: &ClientName) -> Option<Entry> {
        let client = self.registry.get(name)?;
        Some((name.clone(), self.registry.seq(name)?, client.presence()))
    }

    /// Sends peers the presence changes since the last roster, encoded once.
    pub(super) fn publish_presence(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let dirty = std::mem::take(&mut self.dirty);
        let Some(cluster) = &self.cluster else { return };
        let (mut set, mut gone) = (Vec::new(), Vec::new());
        for name in dirty {
            match self.entry(&name) {
                Some(entry) => set.push(entry),
                None => gone.push(name),
            }
        }
        self.broadcast(cluster, &Wire::Presence { set, gone });
    }

    /// Sends `wire` to every live peer, encoded once.
    pub(super) fn broadcast(&self, cluster: &Cluster, wire: &Wire) {
        let Ok(frame) = cluster.frame(Topic::Cmd, wire) else { return };
        for peer in &self.peers {
            if let Err(e) = cluster.publish(peer, &frame) {
                log::debug!("node {}: presence to {peer} not sent: {e}", self.node);
            }
        }
    }

    /// Sends `wire` to node `to`, logging a failure (the caller has nobody to tell).
    pub(super) fn send(&self, to: &NodeId, wire: &Wire) -> Result<(), ErrorKind> {
        let Some(cluster) = &self.cluster else { return Err(ErrorKind::Unavailable) };
        cluster.send(to, Topic::Cmd, wire).map_err(|e| {
            log::debug!("node {}: message to {to} not sent: {e}", self.node);
            ErrorKind::Unavailable
        })
    }

    /// Sends `wire` to node `to`, keeping it for a retry if Redis is unreachable: used for the
    /// messages without which a peer's client would stay in a call forever.
    pub(super) fn send_surely(&mut self, to: &NodeId, wire: Wire) {
        if self.send(to, &wire).is_err() && self.backlog.len() < MAX_BACKLOG {
            self.backlog.push((to.clone(), wire));
        }
    }

    /// Retries the backlog while the cluster is reachable again.
    pub(super) fn retry_backlog(&mut self, _ctx: &mut Context<Self>) {
        if self.backlog.is_empty() || !self.cluster.as_ref().is_some_and(Cluster::is_healthy) {
            return;
        }
        for (to, wire) in std::mem::take(&mut self.backlog) {
            if self.peers.contains(&to) {
                self.send_surely(&to, wire);
            }
        }
    }

    /// Registers `name` once it is known to be free (claimed, on a cluster).
    pub(super) fn admit(
        &mut self,
        name: ClientName,
        seq: u64,
        conn: ConnId,
        handle: Handle,
        ctx: &mut Context<Self>,
    ) -> Result<(), ErrorKind> {
        let link = handle.link.clone();
        self.registry.register(name.clone(), seq, conn, handle)?;
        self.replica.forget(&name);
        // The echo is queued before any roster that lists the new name.
        let _ = link.push(Event::Registered { name: name.clone() });
        self.touch(&name, ctx);
        Ok(())
    }

    /// Releases claim `seq` of `name` in Redis, retrying while Redis is unreachable.
    pub(super) fn release(&self, name: ClientName, seq: u64, ctx: &mut Context<Self>) {
        let Some(cluster) = self.cluster.clone() else { return };
        ctx.spawn(
            async move {
                for _ in 0..60 {
                    match cluster.release(NAMESPACE, &name, seq).await {
                        Ok(()) => return,
                        Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                    }
                }
                log::warn!("node {}: gave up releasing {name}", cluster.node());
            }
            .into_actor(self),
        );
    }

    /// A local member of a new call.
    pub(super) fn local_member(&self, name: &ClientName) -> Option<Member> {
        let handle = &self.registry.get(name)?.handle;
        let reach = Reach::Local { link: handle.link.clone(), conn: handle.actor.clone() };
        Some(Member { name: name.clone(), reach })
    }

    /// Starts call `call` homed here: `caller` is local, `callee` local or remote (a remote
    /// callee's node has already put it in the call and told it phase NEW).
    pub(super) fn start_call(
        &mut self,
        call: CallId,
        caller: Member,
        callee: Member,
        ctx: &mut Context<Self>,
    ) {
        let ended = ctx.address().recipient();
        let addr = CallActor::new(call.clone(), caller.clone(), callee.clone(), ended).start();
        let members = [&caller, &callee].map(|m| (m.name.clone(), m.remote_node().cloned()));
        self.homed.insert(call.clone(), Homed { addr: addr.clone(), members });
        for m in [&caller, &callee] {
            if let Reach::Local { conn, .. } = &m.reach {
                let at = CallRef::Local(addr.clone());
                conn.do_send(CallMembership::Joined { call: call.clone(), at });
            }
        }
        let _ = caller.push(Event::CallOpened { call: call.clone() });
        for m in [&caller, &callee] {
            if m.remote_node().is_none() {
                let _ = m.push(Event::CallPhase { call: call.clone(), phase: Phase::New });
                self.touch(&m.name, ctx);
            }
        }
    }

    /// Opens a call from local `caller` to `callee` on node `node`: the callee's node decides
    /// whether it is free (never this node's replica, which may lag), and the call starts once
    /// it has said yes.
    pub(super) fn invite(&mut self, caller: ClientName, callee: ClientName, node: NodeId) -> Reply {
        let busy = self.registry.get(&caller).map(|c| c.call.is_some());
        match busy {
            None => return ready(Err(ErrorKind::NotRegistered)),
            Some(true) => return ready(Err(ErrorKind::Busy)),
            Some(false) => {}
        }
        // Whether the callee is free is for its own node to say: the replica may be a roster
        // interval behind (a call that just ended there).
        let call = match self.registry.reserve_call(&caller, CallId::random) {
            Ok(call) => call,
            Err(kind) => return ready(Err(kind)),
        };
        let invite =
            Wire::Invite { call: call.clone(), caller: caller.clone(), callee: callee.clone() };
        if let Err(kind) = self.send(&node, &invite) {
            self.registry.end_call(&call, [&caller, &caller]);
            return ready(Err(kind));
        }
        let (tx, rx) = oneshot::channel();
        self.invites.insert(call.clone(), (node.clone(), tx));
        let answer = tokio::time::timeout(INVITE_TIMEOUT, rx);
        Box::pin(answer.into_actor(self).map(move |answer, this, ctx| {
            this.invites.remove(&call);
            let result = match answer {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(ErrorKind::PeerNotFound),
                Err(_) => Err(ErrorKind::Unavailable),
            };
            if let Err(kind) = result {
                this.registry.end_call(&call, [&caller, &caller]);
                return Err(kind);
            }
            let cluster = this.cluster.clone();
            let caller_still_here =
                this.registry.get(&caller).is_some_and(|c| c.call.as_ref() == Some(&call));
            match (this.local_member(&caller), cluster) {
                (Some(member), Some(cluster)) if caller_still_here => {
                    let reach = Reach::Remote { node, cluster };
                    this.start_call(call, member, Member { name: callee, reach }, ctx);
                    Ok(())
                }
                _ => {
                    // The caller left while the callee's node answered: end it there.
                    this.registry.end_call(&call, [&caller, &caller]);
                    let events = vec![
                        Event::PeerLeft { call: call.clone(), peer: caller },
                        Event::CallPhase { call: call.clone(), phase: Phase::Closed },
                    ];
                    this.send_surely(&node, Wire::CallEnded { call, name: callee, events });
                    Err(ErrorKind::PeerGone)
                }
            }
        }))
    }

    /// Sends a notification to `to` on node `node`.
    pub(super) fn notify_remote(&self, node: &NodeId, msg: Notify) -> Result<(), ErrorKind> {
        self.send(node, &Wire::Notify { from: msg.from, to: msg.to, kind: msg.kind })
    }
}

impl Actor for DirectoryActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        // Registrations and call messages are small and answered at once; a deep mailbox only
        // absorbs bursts from thousands of connections.
        ctx.set_mailbox_capacity(4096);
        if self.cluster.is_some() {
            ctx.run_interval(Duration::from_secs(1), Self::retry_backlog);
        }
        log::debug!("directory of node {} started", self.node);
    }
}

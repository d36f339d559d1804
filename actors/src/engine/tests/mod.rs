//! The room engine's own tests, at the actor level and without sockets: two or three nodes in
//! one process over an in-process bus ([`MemoryBus`]), clients as recording links, and a toy
//! dialect ([`toy::Chat`]) in both kinds: rooms that end with their home, and rooms that
//! outlive it. A new dialect inherits what these check.

mod toy;

use std::time::Duration;

use toy::{Ask, Chat};

use super::{Engine, Rules, Seat};
use crate::{
    cluster::{memory::MemoryBus, Membership, Routes},
    credit::Credit,
    event::Event,
    ids::{ConnId, NodeId, RoomId, SocketId},
    link::{self, LinkReceiver, Outbound},
};

/// One node of the test cluster.
struct Node<R: Rules> {
    id: NodeId,
    engine: Engine<R>,
}

impl<R: Rules<Config = (), Member = SocketId>> Node<R> {
    /// Node `name` on `bus`, its engine in two shards on the test's thread.
    fn on(bus: &MemoryBus, name: &str) -> Self {
        let id = NodeId::new(name);
        let engine = Engine::new(id.clone(), Some(bus.join(&id)), (), 2);
        engine.host_all();
        bus.route(&id, Routes::default().topic_with(R::TOPIC, engine.inbox()));
        Self { id, engine }
    }

    /// Tells this node of a change in the cluster, as its bridge would.
    fn hears(&self, change: Membership) {
        (self.engine.membership())(change);
    }

    /// A client `name` connected to this node.
    fn client(&self, name: &str) -> Client<R> {
        static CONN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let conn = ConnId(CONN.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let (link, rx) = link::channel(conn, 256);
        let seat = self.engine.seat(SocketId::new(name), link);
        Client { seat, rx }
    }
}

/// A client: its seat, and what it is told.
struct Client<R: Rules> {
    seat: Seat<R>,
    rx: LinkReceiver,
}

impl<R: Rules> Client<R> {
    fn send(&self, command: R::Command) {
        self.seat.send(command, Credit::none());
    }

    /// The next thing this client is told.
    async fn next(&mut self) -> String {
        let next = tokio::time::timeout(Duration::from_secs(5), self.rx.next()).await;
        match next.expect("told something within 5 s") {
            Some(Outbound::Event(Event::Test(told))) => told,
            other => panic!("expected a toy event, got {other:?}"),
        }
    }

    /// Waits until this client is told `what`, skipping anything else.
    async fn told(&mut self, what: &str) {
        let mut skipped = Vec::new();
        loop {
            let told = self.next().await;
            if told == what {
                return;
            }
            skipped.push(told);
            assert!(skipped.len() < 20, "never told {what:?}; told {skipped:?}");
        }
    }
}

fn r(name: &str) -> RoomId {
    RoomId::new(name)
}

/// Nodes A and B, with room `room` homed on A: alice (on A) opened it, bob (on B) joined it.
async fn alice_and_bob_in<R>(bus: &MemoryBus, room: &str) -> ([Node<R>; 2], Client<R>, Client<R>)
where
    R: Rules<Config = (), Member = SocketId, Command = Ask, Event = String>,
{
    let [a, b] = ["A", "B"].map(|n| Node::<R>::on(bus, n));
    let (mut alice, mut bob) = (a.client("alice"), b.client("bob"));
    alice.send(Ask::Open(r(room)));
    alice.next().await;
    bob.send(Ask::Join(r(room)));
    bob.next().await;
    ([a, b], alice, bob)
}

type Ends = Chat<false>;
type Outlives = Chat<true>;

#[actix_rt::test]
async fn names_are_claimed_once_and_a_room_speaks_to_each_member_node_in_one_frame() {
    let bus = MemoryBus::default();
    let [a, b, c] = ["A", "B", "C"].map(|n| Node::<Ends>::on(&bus, n));
    let mut alice = a.client("alice");
    alice.send(Ask::Open(r("r")));
    assert_eq!(alice.next().await, "joined r alice");
    assert_eq!(bus.holder("chat", "r"), Some(a.id.clone()));

    // The name is A's: opening it elsewhere is refused; joining it from anywhere works.
    let mut bob = b.client("bob");
    bob.send(Ask::Open(r("r")));
    assert_eq!(bob.next().await, "refused r Taken");
    bob.send(Ask::Join(r("r")));
    assert_eq!(bob.next().await, "joined r alice,bob");
    assert_eq!(alice.next().await, "entered r bob");
    let (mut c1, mut c2) = (c.client("c1"), c.client("c2"));
    for (client, list) in [(&mut c1, "alice,bob,c1"), (&mut c2, "alice,bob,c1,c2")] {
        client.send(Ask::Join(r("r")));
        assert_eq!(client.next().await, format!("joined r {list}"));
    }
    c1.told("entered r c2").await;
    bob.told("entered r c2").await;
    alice.told("entered r c2").await;

    // One say: one frame to each member node, whatever its number of members there.
    let before = (bus.frames(&a.id, &b.id), bus.frames(&a.id, &c.id));
    bob.send(Ask::Say(r("r"), "hi".into()));
    for client in [&mut alice, &mut c1, &mut c2] {
        assert_eq!(client.next().await, "said r bob hi");
    }
    assert_eq!(bus.frames(&a.id, &c.id), before.1 + 1, "one frame for c1 and c2");
    assert_eq!(bus.frames(&a.id, &b.id), before.0, "bob said it: nothing back to B");

    // A member's node dies: its members leave. Then the home's: the room ends for the rest.
    bus.sweep(&c.id);
    a.hears(Membership::Down(c.id.clone()));
    alice.told("left r c2").await;
    bob.told("left r c2").await;
    bus.sweep(&a.id);
    b.hears(Membership::Down(a.id.clone()));
    bob.told("lost r").await;
    // Nobody holds the name: it can be opened again.
    bob.send(Ask::Open(r("r")));
    assert_eq!(bob.next().await, "joined r bob");
}

#[actix_rt::test]
async fn a_room_that_outlives_its_home_moves_with_its_members() {
    let bus = MemoryBus::default();
    let [a, b, c] = ["A", "B", "C"].map(|n| Node::<Outlives>::on(&bus, n));
    let mut alice = a.client("alice");
    alice.send(Ask::Open(r("m")));
    assert_eq!(alice.next().await, "joined m alice");
    let (mut b1, mut b2, mut carol) = (b.client("b1"), b.client("b2"), c.client("carol"));
    for client in [&mut b1, &mut b2, &mut carol] {
        client.send(Ask::Join(r("m")));
        client.next().await;
    }
    // The home dies: B and C race to claim the name; one wins and the others rejoin there.
    bus.sweep(&a.id);
    b.hears(Membership::Down(a.id.clone()));
    c.hears(Membership::Down(a.id.clone()));
    for client in [&mut b1, &mut b2, &mut carol] {
        client.told("members m b1,b2,carol").await;
    }
    let home = bus.holder("chat", "m").expect("the room has a new home");
    assert!(home == b.id || home == c.id, "homed on {home}");
    carol.send(Ask::Say(r("m"), "still here".into()));
    b1.told("said m carol still here").await;
    b2.told("said m carol still here").await;
}

#[actix_rt::test]
async fn after_redis_restarts_rooms_claim_their_names_again_or_end_where_another_node_took_one() {
    let bus = MemoryBus::default();
    let ([a, b], mut alice, mut bob) = alice_and_bob_in::<Ends>(&bus, "r").await;
    // Redis comes back empty: A claims its room's name again.
    bus.flush();
    a.hears(Membership::Reclaim);
    bob.send(Ask::Say(r("r"), "ping".into()));
    alice.told("said r bob ping").await;
    assert_eq!(bus.holder("chat", "r"), Some(a.id.clone()));
    // Empty again, and B opens a room of that name before A reclaims: A's room ends.
    bus.flush();
    let mut bert = b.client("bert");
    bert.send(Ask::Open(r("r")));
    assert_eq!(bert.next().await, "joined r bert");
    a.hears(Membership::Reclaim);
    alice.told("closed r").await;
    bob.told("closed r").await;
}

#[actix_rt::test]
async fn a_room_that_outlives_its_home_and_loses_its_name_moves_to_the_new_holder() {
    let bus = MemoryBus::default();
    let ([a, b], mut alice, mut bob) = alice_and_bob_in::<Outlives>(&bus, "m").await;
    bus.flush();
    let mut bert = b.client("bert");
    bert.send(Ask::Open(r("m")));
    assert_eq!(bert.next().await, "joined m bert");
    a.hears(Membership::Reclaim);
    // Alice (A's own member) and bob (A told B the room moved) rejoin B's room.
    bert.told("members m alice,bert,bob").await;
    alice.told("members m alice,bert,bob").await;
    alice.send(Ask::Say(r("m"), "moved".into()));
    bob.told("said m alice moved").await;
    bert.told("said m alice moved").await;
    // And when that new home dies too, alice (whose room had been A's own) still brings
    // herself along: the room is rebuilt on A.
    bus.sweep(&b.id);
    a.hears(Membership::Down(b.id.clone()));
    alice.told("members m alice").await;
    assert_eq!(bus.holder("chat", "m"), Some(a.id.clone()));
}

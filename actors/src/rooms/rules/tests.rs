use super::*;
use crate::payload::Payload;

fn s(id: &str) -> SocketId {
    SocketId::new(id)
}

fn x() -> RoomId {
    RoomId::new("x")
}

fn apply(room: &mut Room, who: &str, command: RoomCommand) -> Vec<String> {
    let mut out = Out::<Room>::new();
    room.apply(&x(), &s(who), command, &mut out);
    out.iter().map(|(to, e)| format!("{to}:{e:?}")).collect()
}

fn signal(target: &str) -> RoomCommand {
    RoomCommand::Signal { room: x(), target: s(target), data: Payload::string("hi") }
}

#[test]
fn create_join_signal_leave() {
    let mut room = Room::default();
    assert_eq!(apply(&mut room, "o", RoomCommand::Create(x())), ["o:Created(RoomId(\"x\"))"]);
    assert_eq!(apply(&mut room, "a", RoomCommand::Create(x())), ["a:Exists(RoomId(\"x\"))"]);
    let out = apply(&mut room, "a", RoomCommand::Join(x()));
    assert_eq!(
        out,
        [
            "a:Joined { room: RoomId(\"x\"), owner: SocketId(\"o\"), clients: [SocketId(\"o\")] }",
            "o:ClientJoined { room: RoomId(\"x\"), id: SocketId(\"a\") }",
        ]
    );
    let out = apply(&mut room, "b", RoomCommand::Join(x()));
    assert_eq!(out.len(), 3, "the joiner and both members hear of it: {out:?}");
    assert!(out[0].contains("clients: [SocketId(\"o\"), SocketId(\"a\")]"));
    // Signals reach the target once; outsiders and unknown targets are refused.
    let out = apply(&mut room, "a", signal("b"));
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with("b:Signal { room: RoomId(\"x\"), sender: SocketId(\"a\")"));
    assert_eq!(apply(&mut room, "z", signal("b")), ["z:NotInRoom(RoomId(\"x\"))"]);
    assert!(apply(&mut room, "a", signal("z"))[0].starts_with("a:TargetNotFound"));
    // A member leaves: it hears room-left(false), the others client-left.
    let out = apply(&mut room, "a", RoomCommand::Leave(x()));
    assert_eq!(out.len(), 3);
    assert!(out[0].starts_with("a:Left { room: RoomId(\"x\"), kicked: false }"));
    assert!(out[1..].iter().all(|e| e.contains("ClientLeft")));
    assert_eq!(apply(&mut room, "a", RoomCommand::Leave(x())), ["a:NotInRoom(RoomId(\"x\"))"]);
    assert!(room.has(&s("b")) && !room.has(&s("a")) && !room.is_over());
}

#[test]
fn the_owner_leaving_or_departing_closes_the_room() {
    let mut room = Room::default();
    apply(&mut room, "o", RoomCommand::Create(x()));
    apply(&mut room, "a", RoomCommand::Join(x()));
    apply(&mut room, "b", RoomCommand::Join(x()));
    // A member departs silently; the others hear client-left.
    let mut out = Out::<Room>::new();
    room.depart(&x(), &s("b"), &mut out);
    assert_eq!(out.len(), 2);
    // The owner departs: everyone left is kicked, and the room is over.
    let mut out = Out::<Room>::new();
    room.depart(&x(), &s("o"), &mut out);
    let shown: Vec<String> = out.iter().map(|(to, e)| format!("{to}:{e:?}")).collect();
    assert_eq!(shown, ["a:Left { room: RoomId(\"x\"), kicked: true }"]);
    assert!(room.is_over());
    // The owner leaving: it hears room-left(false), the others room-left(true) only.
    let mut room = Room::default();
    apply(&mut room, "o", RoomCommand::Create(x()));
    apply(&mut room, "a", RoomCommand::Join(x()));
    let out = apply(&mut room, "o", RoomCommand::Leave(x()));
    assert_eq!(
        out,
        [
            "o:Left { room: RoomId(\"x\"), kicked: false }",
            "a:Left { room: RoomId(\"x\"), kicked: true }"
        ]
    );
    assert!(room.is_over());
}

#[test]
fn joining_twice_lists_the_socket_once() {
    let mut room = Room::default();
    apply(&mut room, "o", RoomCommand::Create(x()));
    apply(&mut room, "a", RoomCommand::Join(x()));
    assert_eq!(apply(&mut room, "a", RoomCommand::Join(x())).len(), 1);
    assert_eq!(room.members().len(), 2);
}

#[test]
fn eviction_is_the_owner_leaving_and_refusals_name_the_room() {
    let mut room = Room::default();
    apply(&mut room, "o", RoomCommand::Create(x()));
    apply(&mut room, "a", RoomCommand::Join(x()));
    let mut out = Out::<Room>::new();
    room.evict(&x(), &mut out);
    assert_eq!(out.len(), 2);
    assert!(room.is_over());
    let refused = |command, why| format!("{:?}", Room::refuse(&x(), &s("a"), command, why));
    assert_eq!(refused(RoomCommand::Join(x()), Absent::NoRoom), "NotExists(RoomId(\"x\"))");
    assert_eq!(refused(RoomCommand::Create(x()), Absent::Taken), "Exists(RoomId(\"x\"))");
    assert_eq!(refused(signal("o"), Absent::NoRoom), "NotInRoom(RoomId(\"x\"))");
    assert_eq!(refused(RoomCommand::Leave(x()), Absent::Unavailable), "Refused(Unavailable)");
}

#[test]
fn an_operators_close_kicks_everyone_and_ends_the_room() {
    let mut room = Room::default();
    apply(&mut room, "o", RoomCommand::Create(x()));
    apply(&mut room, "a", RoomCommand::Join(x()));
    let mut out = Out::<Room>::new();
    room.close(&x(), &mut out);
    let shown: Vec<String> = out.iter().map(|(to, e)| format!("{to}:{e:?}")).collect();
    assert_eq!(
        shown,
        [
            "o:Left { room: RoomId(\"x\"), kicked: true }",
            "a:Left { room: RoomId(\"x\"), kicked: true }"
        ]
    );
    assert!(room.is_over() && !room.has(&s("o")));
}

//! Unit tests of the `signals` room rules.

use super::*;

fn peer(user: &str, session: &str) -> Peer {
    Peer { user: user.into(), session: session.into() }
}

fn sig(action: Action, ch: Channel, from: &Peer, to: Option<To>) -> Signal {
    Signal { ch, ..crate::signals::test_signal(action, from, to) }
}

fn create(ch: Channel, from: &Peer) -> Signal {
    Signal { creating: true, ..sig(Action::Join, ch, from, None) }
}

fn refusal(out: &Out) -> Option<Refusal> {
    match out.as_slice() {
        [(_, Reply::Refused { refusal, .. })] => Some(*refusal),
        _ => None,
    }
}

fn kinds(out: &Out) -> Vec<String> {
    out.iter()
        .map(|(to, r)| {
            let what = match r {
                Reply::Joined { role, .. } => format!("joined:{role:?}"),
                Reply::Heartbeat { .. } => "heartbeat".into(),
                Reply::PublishListChanged { pps, .. } => format!("plc:{}", pps.len()),
                Reply::Forward(raw) => format!("fwd:{}", raw.get()),
                Reply::Offered { sdp, .. } => format!("offered:{sdp}"),
                Reply::Watching { pps, .. } => format!("watching:{}", pps.len()),
                Reply::Kicked { req, .. } => format!("kicked:{}", req.get()),
                Reply::Refused { refusal, .. } => format!("refused:{refusal:?}"),
                Reply::Invalid { msg, .. } => format!("invalid:{msg}"),
            };
            format!("{to}={what}")
        })
        .collect()
}

#[test]
fn p2p_call_setup_relays_to_every_session_of_a_user_or_one_session() {
    let mut rooms = SignalRoom::default();
    let (a, b1, b2) = (peer("a", "1"), peer("b", "1"), peer("b", "2"));
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Join, Channel::P2p, &b1, None))),
        Some(Refusal::RoomNotFound)
    );
    assert_eq!(kinds(&rooms.apply(&create(Channel::P2p, &a))), ["a/1=joined:Publisher"]);
    assert_eq!(refusal(&rooms.apply(&create(Channel::P2p, &b1))), Some(Refusal::RoomExists));
    let out = rooms.apply(&sig(Action::Join, Channel::P2p, &b1, None));
    assert_eq!(kinds(&out), ["b/1=joined:Publisher", "a/1=plc:2", "b/1=plc:2"]);
    rooms.apply(&sig(Action::Join, Channel::P2p, &b2, None));
    // A third user does not fit in a p2p room; a wrong channel is refused.
    let c = peer("c", "1");
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Join, Channel::P2p, &c, None))),
        Some(Refusal::PermissionDenied)
    );
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Join, Channel::M2m, &c, None))),
        Some(Refusal::UnsupportedChannel)
    );
    // The callee offers to the caller's user; the caller answers one session.
    let out = rooms.apply(&sig(Action::Offer, Channel::P2p, &b1, Some(To::User("a".into()))));
    assert_eq!(kinds(&out), ["a/1=fwd:\"Offer from b/1\""]);
    let out = rooms.apply(&sig(Action::Answer, Channel::P2p, &a, Some(To::Session(b1.clone()))));
    assert_eq!(kinds(&out), ["b/1=fwd:\"Answer from a/1\""]);
    let out = rooms.apply(&sig(Action::Ice, Channel::P2p, &a, Some(To::User("b".into()))));
    assert_eq!(out.len(), 2, "every session of b");
    // Targets that are not there.
    let ghost = Some(To::Session(peer("b", "9")));
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Answer, Channel::P2p, &a, ghost.clone()))),
        Some(Refusal::UserLeft)
    );
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Ice, Channel::P2p, &a, ghost))),
        Some(Refusal::RecipientNotMember)
    );
    let nobody = Some(To::User("z".into()));
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Offer, Channel::P2p, &a, nobody))),
        Some(Refusal::RecipientNotMember)
    );
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Offer, Channel::P2p, &c, Some(To::User("a".into()))))),
        Some(Refusal::NotRoomMember)
    );
}

#[test]
fn joins_are_idempotent_and_leaves_pass_ownership_on() {
    // a2m: in m2m a joiner's ack waits for the media plane's offers (see the media test).
    let mut rooms = SignalRoom::default();
    let (o, p, v) = (peer("o", "1"), peer("p", "1"), peer("v", "1"));
    rooms.apply(&create(Channel::A2m, &o));
    assert_eq!(
        kinds(&rooms.apply(&sig(Action::Join, Channel::A2m, &v, None))),
        ["v/1=joined:Viewer"]
    );
    assert_eq!(
        kinds(&rooms.apply(&sig(Action::Join, Channel::A2m, &v, None))),
        ["v/1=joined:Viewer"]
    );
    assert_eq!(rooms.members().len(), 2);
    // p asks to publish: the request goes to the owner, who accepts.
    rooms.apply(&sig(Action::Join, Channel::A2m, &p, None));
    let out = rooms.apply(&sig(Action::PublishRequest, Channel::A2m, &p, None));
    assert_eq!(kinds(&out), ["o/1=fwd:\"PublishRequest from p/1\""]);
    assert_eq!(
        refusal(&rooms.apply(&sig(
            Action::PublishAccept,
            Channel::A2m,
            &v,
            Some(To::Session(p.clone()))
        ))),
        Some(Refusal::PermissionDenied)
    );
    let out =
        rooms.apply(&sig(Action::PublishAccept, Channel::A2m, &o, Some(To::Session(p.clone()))));
    assert_eq!(kinds(&out)[0], "p/1=fwd:\"PublishAccept from o/1\"");
    assert!(kinds(&out)[1..].iter().all(|k| k.ends_with("plc:2")), "{:?}", kinds(&out));
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::PublishRequest, Channel::A2m, &p, None))),
        Some(Refusal::AlreadyPublisher)
    );
    // A reject is forwarded only.
    let out =
        rooms.apply(&sig(Action::PublishReject, Channel::A2m, &o, Some(To::Session(v.clone()))));
    assert_eq!(kinds(&out), ["v/1=fwd:\"PublishReject from o/1\""]);
    // The owner leaves (no ack): p, the next oldest publisher, owns the room now.
    let out = rooms.apply(&sig(Action::Leave, Channel::A2m, &o, None));
    assert_eq!(kinds(&out), ["v/1=plc:1", "p/1=plc:1"]);
    let out = rooms.apply(&sig(Action::PublishRequest, Channel::A2m, &v, None));
    assert_eq!(kinds(&out), ["p/1=fwd:\"PublishRequest from v/1\""]);
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Leave, Channel::A2m, &o, None))),
        Some(Refusal::NotRoomMember)
    );
    // The last members leave: the room is gone.
    rooms.disconnect(&p);
    rooms.disconnect(&v);
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Leave, Channel::A2m, &v, None))),
        Some(Refusal::RoomNotFound)
    );
}

#[test]
fn updates_heartbeats_kicks_and_media_signals() {
    let mut rooms = SignalRoom::default();
    let (o, v, w) = (peer("o", "1"), peer("v", "1"), peer("v", "2"));
    rooms.apply(&create(Channel::M2m, &o));
    rooms.apply(&sig(Action::Join, Channel::M2m, &v, None));
    rooms.apply(&sig(Action::Join, Channel::M2m, &w, None));
    // Only publishers update; everyone hears the new list.
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Update, Channel::M2m, &v, None))),
        Some(Refusal::PermissionDenied)
    );
    let update = Signal { ve: Some(false), ..sig(Action::Update, Channel::M2m, &o, None) };
    let out = rooms.apply(&update);
    assert_eq!(out.len(), 3);
    assert!(matches!(&out[0].1, Reply::PublishListChanged { pps, .. } if !pps[0].ve && pps[0].ae));
    // Heartbeats are acked on request.
    assert!(rooms.apply(&sig(Action::Heartbeat, Channel::M2m, &v, None)).is_empty());
    let beat = Signal { send_ack: true, ..sig(Action::Heartbeat, Channel::M2m, &v, None) };
    assert_eq!(kinds(&rooms.apply(&beat)), ["v/1=heartbeat"]);
    // In m2m a joiner's ack waits for the server's offers of the publishers.
    let asked: Vec<String> = rooms.take_media().iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked.iter().all(|m| m.starts_with("Offers { viewer: Peer { user: \"v\"")),
        "{asked:?}"
    );
    // Media signals go to the media plane: a publisher's offer, a viewer's watch of a
    // publisher and its answer; ICE to a member is accepted and ignored.
    let offer = Signal { sdp: Some("v=0".into()), ..sig(Action::Offer, Channel::M2m, &o, None) };
    assert!(rooms.apply(&offer).is_empty());
    let to_o = Some(To::Session(o.clone()));
    assert!(rooms.apply(&sig(Action::Watch, Channel::M2m, &v, to_o.clone())).is_empty());
    let answer =
        Signal { sdp: Some("v=0".into()), ..sig(Action::Answer, Channel::M2m, &v, to_o.clone()) };
    assert!(rooms.apply(&answer).is_empty());
    assert!(rooms.apply(&sig(Action::Ice, Channel::M2m, &v, to_o.clone())).is_empty());
    let asked: Vec<String> = rooms.take_media().iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(asked.len(), 3, "{asked:?}");
    assert!(asked[0].starts_with("Publish { peer: Peer { user: \"o\""), "{asked:?}");
    assert!(asked[1].starts_with("Watch { viewer: Peer { user: \"v\""), "{asked:?}");
    assert!(asked[2].starts_with("Answer { viewer: Peer { user: \"v\""), "{asked:?}");
    // Viewers do not publish; a viewer is not watched; HLS is refused as unsupported.
    let offer = Signal { sdp: Some("v=0".into()), ..sig(Action::Offer, Channel::M2m, &v, None) };
    assert_eq!(refusal(&rooms.apply(&offer)), Some(Refusal::PermissionDenied));
    let to_w = Some(To::Session(w.clone()));
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Watch, Channel::M2m, &v, to_w))),
        Some(Refusal::NotPublishing)
    );
    let gone = Some(To::Session(peer("x", "1")));
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Watch, Channel::M2m, &v, gone.clone()))),
        Some(Refusal::UserLeft)
    );
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Ice, Channel::M2m, &v, gone))),
        Some(Refusal::RecipientNotMember)
    );
    let hls = Signal { hls: true, ..sig(Action::Offer, Channel::M2m, &o, None) };
    assert!(matches!(&rooms.apply(&hls)[..], [(_, Reply::Invalid { unsupported: true, .. })]));
    assert!(rooms.take_media().is_empty());
    // Only the owner kicks; a user kick takes all its sessions, who get the KICK.
    assert_eq!(
        refusal(&rooms.apply(&sig(Action::Kick, Channel::M2m, &v, Some(To::User("o".into()))))),
        Some(Refusal::PermissionDenied)
    );
    let out = rooms.apply(&sig(Action::Kick, Channel::M2m, &o, Some(To::User("v".into()))));
    assert_eq!(kinds(&out), ["v/1=kicked:\"Kick from o/1\"", "v/2=kicked:\"Kick from o/1\""]);
    assert_eq!(rooms.members(), std::slice::from_ref(&o));
    // The kicked sessions' peer connections close; the last one out closes the room's.
    let asked: Vec<String> = rooms.take_media().iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(asked.iter().all(|m| m.starts_with("Leave(")), "{asked:?}");
    rooms.disconnect(&o);
    let asked: Vec<String> = rooms.take_media().iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[1], "Close");
}

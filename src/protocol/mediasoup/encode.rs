//! What a `mediasoup` peer is told, as protoo frames: answers as protoo responses (the room's
//! refusals as error responses, by one table), notices as the protoo notification
//! `mediasoup-notification` whose data is the mediasoup notification (`{method, target:
//! 'peer', notification: true, ...fields}`), named in the peer's vocabulary.

use serde_json::{json, Value};
use switchboard_actors::mediasoup::{
    media::consumer_json, Change, ConsumerInfo, Notice, Refusal, Target, Told,
};

use super::decode::Vocabulary;
use crate::protocol::protoo;

/// Every protoo error code a peer can be answered with: the room's refusals ([`refusal`]) and
/// requests the edge cannot read.
pub const CODES: [u16; 7] = [400, 403, 404, 409, 429, 500, 503];

/// The protoo error code `told` carries, if it is an error response.
pub fn refusal_of(told: &Told) -> Option<u16> {
    match told {
        Told::Answer { result: Err(why), .. } => Some(refusal(why).0),
        _ => None,
    }
}

/// The protoo error code and reason of a refusal.
pub fn refusal(refusal: &Refusal) -> (u16, String) {
    match refusal {
        Refusal::NotJoined => (403, "the peer has not joined the room".into()),
        Refusal::AlreadyJoined => (409, "the peer has joined already".into()),
        Refusal::NameTaken => (409, "another peer of the room has this peerName".into()),
        Refusal::NoTransport(id) => (404, format!("no transport {id} of this peer's")),
        Refusal::TransportExists(id) => (409, format!("transport {id} exists")),
        Refusal::WrongDirection(id) => (400, format!("transport {id} does not go that way")),
        Refusal::NoProducer(id) => (404, format!("no producer {id} of this peer's")),
        Refusal::ProducerExists(id) => (409, format!("producer {id} exists")),
        Refusal::NoConsumer(id) => (404, format!("no consumer {id} of this peer's")),
        Refusal::TooMany(what, most) => (429, format!("a peer may have at most {most} {what}")),
        Refusal::RoomLimit => (429, "the tenant has all the rooms it may have".to_owned()),
        Refusal::Unsupported(why) => (400, why.clone()),
        Refusal::Media(why) => (500, why.clone()),
        Refusal::Unavailable => (503, "the room's node cannot be reached now; try again".into()),
    }
}

/// Appends the frame of `told`, for a peer speaking `vocabulary`, to `out` (nothing for a
/// notice with no words).
pub fn encode_into(told: &Told, vocabulary: Vocabulary, out: &mut String) {
    match told {
        Told::Answer { id, result: Ok(data) } => out.push_str(&protoo::ok(id, data)),
        Told::Answer { id, result: Err(why) } => {
            let (code, reason) = refusal(why);
            out.push_str(&protoo::error(id, code, &reason));
        }
        Told::Notify(notice) => {
            if let Some(data) = notice_json(notice, vocabulary) {
                out.push_str(&protoo::notification("mediasoup-notification", &data.to_string()));
            }
        }
    }
}

fn named(draft: bool, released: &'static str, seed: &'static str) -> &'static str {
    if draft {
        seed
    } else {
        released
    }
}

fn consumer(info: &ConsumerInfo) -> Value {
    consumer_json(info)
}

/// The mediasoup notification of `notice`.
fn notice_json(notice: &Notice, vocabulary: Vocabulary) -> Option<Value> {
    let draft = vocabulary == Vocabulary::Draft;
    let (method, mut data) = match notice {
        Notice::NewPeer { name, consumers, app_data } => {
            let list: Vec<Value> = consumers.iter().map(consumer).collect();
            let key = named(draft, "consumers", "senders");
            ("newPeer", json!({"name": &**name, key: list, "appData": app_data}))
        }
        Notice::PeerClosed { name, app_data } => {
            (named(draft, "peerClosed", "peerLeft"), json!({"name": &**name, "appData": app_data}))
        }
        Notice::NewConsumer(info) => (named(draft, "newConsumer", "newSender"), consumer(info)),
        Notice::Consumer { id, peer_name, change, app_data } => {
            let method = match change {
                Change::Closed => named(draft, "consumerClosed", "senderClosed"),
                Change::Paused => named(draft, "consumerPaused", "senderPaused"),
                Change::Resumed => named(draft, "consumerResumed", "senderResumed"),
            };
            (method, json!({"id": id, "peerName": &**peer_name, "appData": app_data}))
        }
        Notice::TransportClosed { id, app_data } => {
            ("transportClosed", json!({"id": id, "appData": app_data}))
        }
        // The draft has no word for it: its transportClosed says as much.
        Notice::ProducerClosed { .. } if draft => return None,
        Notice::ProducerClosed { id, app_data } => {
            ("producerClosed", json!({"id": id, "appData": app_data}))
        }
        // The draft reports no stats.
        Notice::Stats { .. } if draft => return None,
        Notice::Stats { target, peer_name, stats } => {
            let (method, id) = match target {
                Target::Transport(id) => ("transportStats", id),
                Target::Producer(id) => ("producerStats", id),
                Target::Consumer(id) => ("consumerStats", id),
            };
            let mut data = json!({"id": id, "stats": stats});
            if let Some(name) = peer_name {
                data["peerName"] = json!(&**name);
            }
            (method, data)
        }
        Notice::RoomClosed => (named(draft, "closed", "roomClosed"), json!({"appData": null})),
        Notice::Ignored => return None,
    };
    data["method"] = json!(method);
    data["target"] = json!("peer");
    data["notification"] = json!(true);
    Some(data)
}

//! A `mediasoup` peer's frames: protoo messages (PROTOCOLS.md §4.3) carrying mediasoup
//! requests and notifications (§4.4, §4.6) of either vocabulary, decoded to the core's
//! [`Ask`]s. What protoo itself would drop (not a protoo message, a response: the server sends
//! no requests) is dropped; a request that cannot be served is answered with an error, and a
//! notification that cannot is dropped (nothing answers a notification).

use serde_json::{Map, Number, Value};
use switchboard_actors::{
    media::Kind,
    mediasoup::{Ask, Direction, DtlsParameters, RtpParameters, Target},
};

use crate::protocol::protoo::{self, Message};

/// Which names a peer speaks (and is spoken to in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    /// mediasoup-client 2.x: Producer/Consumer.
    Released,
    /// The seed's draft: Sender/Receiver.
    Draft,
}

/// What one frame comes to.
#[derive(Debug)]
pub enum Decoded {
    /// For the peer's room: a request (answered by the room under `id`) or a notification.
    Room {
        /// The request's id; `None` for a notification.
        id: Option<Number>,
        /// What it asks.
        ask: Box<Ask>,
        /// The vocabulary it shows the peer speaks, if it shows one.
        speaks: Option<Vocabulary>,
    },
    /// Answered by the edge at once: the request's id and its data (JSON text).
    Answer(Number, String),
    /// Refused at once: the request's id, the protoo error code and why.
    Refuse(Number, u16, String),
    /// A client notification sent as a protoo request (protoo 2's way): accepted at once with
    /// an empty answer, then handled as the notification.
    Accepted(Number, Box<Decoded>),
    /// Nothing to do (dropped, as protoo drops it).
    Drop(&'static str),
}

/// Decodes one text frame of the peer named `peer` in the URL.
pub fn decode(frame: &str, peer: &str) -> Decoded {
    match protoo::parse(frame) {
        Err(protoo::Refused::BadMethod(Some(id))) => {
            Decoded::Refuse(id, 400, "a request's method must be a string".into())
        }
        Err(_) => Decoded::Drop("not a protoo message"),
        Ok(Message::Response { .. }) => Decoded::Drop("a response to no request"),
        Ok(Message::Request { id, method, data }) => match method.as_str() {
            "mediasoup-request" => mediasoup(data, Some(id), peer),
            "mediasoup-notification" => {
                Decoded::Accepted(id, Box::new(mediasoup(data, None, peer)))
            }
            other => Decoded::Refuse(id, 400, format!("unknown method \"{other}\"")),
        },
        Ok(Message::Notification { method, data }) => match method.as_str() {
            "mediasoup-notification" => mediasoup(data, None, peer),
            _ => Decoded::Drop("an unknown notification"),
        },
    }
}

/// Why a request cannot be read: the code and the reason.
type Bad = (u16, String);

fn bad(why: impl Into<String>) -> Bad {
    (400, why.into())
}

/// A mediasoup message (`{method, ...fields}`), as request `id` or as a notification.
fn mediasoup(data: Value, id: Option<Number>, peer: &str) -> Decoded {
    let read = match data {
        Value::Object(fields) => read(&fields, peer),
        _ => Err(bad("a mediasoup message is an object")),
    };
    match (read, id) {
        (Ok(Read::Room(ask, speaks)), id) => Decoded::Room { id, ask: Box::new(ask), speaks },
        (Ok(Read::QueryRoom), Some(id)) => {
            let caps = switchboard_actors::mediasoup::caps::room_capabilities();
            let data =
                serde_json::json!({"rtpCapabilities": caps, "mandatoryCodecPayloadTypes": []});
            Decoded::Answer(id, data.to_string())
        }
        (Err((code, why)), Some(id)) => Decoded::Refuse(id, code, why),
        (Ok(Read::QueryRoom), None) => Decoded::Drop("a notification nothing follows"),
        (Err(_), None) => Decoded::Drop("a notification that cannot be served"),
    }
}

/// What a mediasoup message is.
enum Read {
    /// For the room, in the vocabulary it shows, if any.
    Room(Ask, Option<Vocabulary>),
    /// `queryRoom`: the server's capabilities.
    QueryRoom,
}

fn read(fields: &Map<String, Value>, peer: &str) -> Result<Read, Bad> {
    let method = fields.get("method").and_then(Value::as_str).ok_or_else(|| bad("no method"))?;
    let f = Fields { method, fields };
    let (ask, speaks) = match method {
        "queryRoom" => return Ok(Read::QueryRoom),
        "join" => {
            let named = fields.get("peerName");
            if let Some(name) = named {
                if name.as_str() != Some(peer) {
                    let why = format!("join: peerName is not this connection's (\"{peer}\")");
                    return Err((403, why));
                }
            }
            let capabilities = fields.get("rtpCapabilities").filter(|c| c.is_object()).cloned();
            let speaks = if named.is_some() || capabilities.is_some() {
                Vocabulary::Released
            } else {
                Vocabulary::Draft
            };
            let spy = f.flag("spy")?;
            (
                Ask::Join { rtp_capabilities: capabilities, spy, app_data: f.app_data() },
                Some(speaks),
            )
        }
        "leave" => (Ask::Leave { app_data: f.app_data() }, None),
        "createTransport" => {
            let dtls = f.dtls(false)?;
            let direction = match fields.get("direction").and_then(Value::as_str) {
                Some("send") => Direction::Send,
                Some("recv") => Direction::Recv,
                Some(other) => return Err(bad(format!("createTransport: direction \"{other}\""))),
                None => Direction::of_draft(dtls.is_some()),
            };
            let ask =
                Ask::CreateTransport { id: f.id("id")?, direction, dtls, app_data: f.app_data() };
            (ask, None)
        }
        "updateTransport" => {
            let dtls = f.dtls(true)?.ok_or_else(|| bad("updateTransport: no dtlsParameters"))?;
            (Ask::UpdateTransport { id: f.id("id")?, dtls }, None)
        }
        "restartTransport" => (Ask::RestartTransport { id: f.id("id")? }, None),
        "closeTransport" => (Ask::CloseTransport { id: f.id("id")? }, None),
        "createProducer" | "createReceiver" => {
            let kind = match fields.get("kind").and_then(Value::as_str) {
                Some("audio") => Kind::Audio,
                Some("video") => Kind::Video,
                _ => return Err(bad(format!("{method}: kind must be \"audio\" or \"video\""))),
            };
            let ask = Ask::CreateProducer {
                id: f.id("id")?,
                kind,
                transport: f.id("transportId")?,
                rtp: f.rtp()?,
                paused: f.flag("paused")?,
                app_data: f.app_data(),
            };
            (ask, speaks(method == "createReceiver"))
        }
        "updateProducer" => (Ask::UpdateProducer { id: f.id("id")?, rtp: f.rtp()? }, None),
        "pauseProducer" | "resumeProducer" | "pauseReceiver" | "resumeReceiver" => {
            let paused = method.starts_with("pause");
            (Ask::PauseProducer { id: f.id("id")?, paused }, speaks(method.ends_with("Receiver")))
        }
        "closeProducer" | "closeReceiver" => {
            (Ask::CloseProducer { id: f.id("id")? }, speaks(method == "closeReceiver"))
        }
        "enableConsumer" | "enableSender" => {
            let transport = match fields.get("transportId") {
                None | Some(Value::Null) => None,
                Some(_) => Some(f.id("transportId")?),
            };
            let ask = Ask::EnableConsumer { id: f.id("id")?, transport, paused: f.flag("paused")? };
            (ask, speaks(method == "enableSender"))
        }
        "pauseConsumer" | "resumeConsumer" | "stopSender" | "playSender" => {
            let paused = matches!(method, "pauseConsumer" | "stopSender");
            (Ask::PauseConsumer { id: f.id("id")?, paused }, speaks(method.ends_with("Sender")))
        }
        "setConsumerPreferredProfile" => {
            let profile = fields.get("profile").and_then(Value::as_str).unwrap_or("default");
            (Ask::SetConsumerProfile { id: f.id("id")?, profile: profile.to_owned() }, None)
        }
        "enableTransportStats"
        | "disableTransportStats"
        | "enableProducerStats"
        | "disableProducerStats"
        | "enableConsumerStats"
        | "disableConsumerStats" => {
            let id = f.id("id")?;
            let target = if method.contains("Transport") {
                Target::Transport(id)
            } else if method.contains("Producer") {
                Target::Producer(id)
            } else {
                Target::Consumer(id)
            };
            let interval = match (method.starts_with("enable"), fields.get("interval")) {
                (false, _) => None,
                (true, None | Some(Value::Null)) => Some(1000),
                (true, Some(ms)) => Some(ms.as_u64().ok_or_else(|| {
                    bad(format!("{method}: interval must be a whole number of milliseconds"))
                })?),
            };
            (Ask::Stats { target, interval }, None)
        }
        other => return Err(bad(format!("unknown method \"{other}\""))),
    };
    Ok(Read::Room(ask, speaks))
}

/// `Some(Draft)` for a method only the draft has.
fn speaks(draft: bool) -> Option<Vocabulary> {
    draft.then_some(Vocabulary::Draft)
}

/// The fields of one message, read with its method named in every complaint.
struct Fields<'a> {
    method: &'a str,
    fields: &'a Map<String, Value>,
}

impl Fields<'_> {
    /// A client-chosen id: a positive integer (mediasoup-client draws 8-digit ones).
    fn id(&self, key: &str) -> Result<u64, Bad> {
        match self.fields.get(key).and_then(Value::as_u64) {
            Some(id) if id > 0 => Ok(id),
            _ => Err(bad(format!("{}: {key} must be a positive integer", self.method))),
        }
    }

    fn flag(&self, key: &str) -> Result<bool, Bad> {
        match self.fields.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(format!("{}: {key} must be a boolean", self.method))),
        }
    }

    fn app_data(&self) -> Value {
        self.fields.get("appData").cloned().unwrap_or(Value::Null)
    }

    fn rtp(&self) -> Result<RtpParameters, Bad> {
        let rtp = self.fields.get("rtpParameters").cloned().unwrap_or(Value::Null);
        serde_json::from_value(rtp).map_err(|e| bad(format!("{}: rtpParameters: {e}", self.method)))
    }

    /// `dtlsParameters`: `{role, fingerprints: [{algorithm, value}]}`, the last fingerprint
    /// (mediasoup-client's choice); `None` when absent and not `needed`.
    fn dtls(&self, needed: bool) -> Result<Option<DtlsParameters>, Bad> {
        let Some(dtls) = self.fields.get("dtlsParameters").filter(|d| !d.is_null()) else {
            return if needed {
                Err(bad(format!("{}: no dtlsParameters", self.method)))
            } else {
                Ok(None)
            };
        };
        let wrong =
            || bad(format!("{}: dtlsParameters needs a role and fingerprints", self.method));
        let role = dtls.get("role").and_then(Value::as_str).unwrap_or("auto");
        if !matches!(role, "auto" | "client" | "server") {
            return Err(bad(format!("{}: dtlsParameters.role \"{role}\"", self.method)));
        }
        let last = dtls.get("fingerprints").and_then(Value::as_array).and_then(|f| f.last());
        let last = last.ok_or_else(wrong)?;
        let algorithm = last.get("algorithm").and_then(Value::as_str).ok_or_else(wrong)?;
        let value = last.get("value").and_then(Value::as_str).ok_or_else(wrong)?;
        Ok(Some(DtlsParameters {
            role: role.to_owned(),
            algorithm: algorithm.to_owned(),
            value: value.to_owned(),
        }))
    }
}

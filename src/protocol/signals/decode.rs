//! `{action, data}` → [`Signal`]. Every field is checked against the seed's signal structures;
//! a frame that is not a signal gets 2001 and one that names a channel the signal does not
//! support gets 2002, always with the original signal in `b.req`.

use serde::Deserialize;
use serde_json::value::RawValue;
use switchboard_actors::{
    signals::{Action, Channel, Peer, Signal, To},
    Payload, RoomId,
};

/// `INVALID_SIGNAL`.
pub const INVALID_SIGNAL: u16 = 2001;
/// `UNSUPPORTED_CHANNEL`.
pub const UNSUPPORTED_CHANNEL: u16 = 2002;

/// Why a frame was refused: the error ack to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The error code.
    pub code: u16,
    /// The ack's `s`: the signal's name when it got that far.
    pub name: String,
    /// The original signal (raw JSON; `null` if there was none).
    pub req: String,
    /// What was wrong.
    pub msg: String,
}

impl Refusal {
    /// The error ack frame.
    pub fn ack(&self) -> String {
        super::ack::error(self.code, &self.name, &self.req, &self.msg)
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    action: Option<&'a RawValue>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    user_id: String,
    session_id: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Target {
    User(String),
    #[serde(rename_all = "camelCase")]
    Session {
        user_id: String,
        session_id: String,
    },
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Options {
    #[serde(default)]
    room_creating: bool,
    #[serde(default)]
    hls_forwarding: bool,
}

#[derive(Deserialize)]
struct Fields<'a> {
    s: String,
    ch: String,
    #[serde(borrow)]
    ss: &'a RawValue,
    rid: String,
    to: Option<Target>,
    /// Borrowed: a p2p signal's SDP or candidate is relayed as sent, never read.
    #[serde(borrow)]
    sdp: Option<&'a RawValue>,
    #[serde(default)]
    op: Option<Options>,
    ve: Option<bool>,
    ae: Option<bool>,
    #[serde(borrow)]
    eg: Option<&'a RawValue>,
    #[serde(borrow)]
    bid: Option<&'a RawValue>,
    #[serde(default)]
    send_ack: Option<bool>,
}

/// Decodes one client frame.
pub fn decode(frame: &str) -> Result<Signal, Refusal> {
    let invalid = |name: &str, req: &str, msg: &str| Refusal {
        code: INVALID_SIGNAL,
        name: name.to_owned(),
        req: req.to_owned(),
        msg: msg.to_owned(),
    };
    let Ok(envelope) = serde_json::from_str::<Envelope<'_>>(frame) else {
        let req = serde_json::to_string(frame).unwrap_or_else(|_| "null".into());
        return Err(invalid("", &req, "the frame is not a JSON object with action and data"));
    };
    let route: Option<String> = envelope.action.and_then(|a| serde_json::from_str(a.get()).ok());
    let req = envelope.data.map_or("null", RawValue::get);
    let Some(action) = route.as_deref().and_then(Action::from_route) else {
        return Err(invalid("", req, "unknown action"));
    };
    let name = action.signal();
    let Some(data) = envelope.data.filter(|d| d.get().starts_with('{')) else {
        return Err(invalid(name, req, "data must be a signal object"));
    };
    let fields: Fields<'_> = serde_json::from_str(data.get())
        .map_err(|e| invalid(name, req, &format!("invalid signal: {e}")))?;
    if fields.s != name {
        return Err(invalid(name, req, &format!("s must be {name} for action {}", action.route())));
    }
    let ch = Channel::parse(&fields.ch).ok_or_else(|| invalid(name, req, "unknown ch"))?;
    let session: Session = serde_json::from_str(fields.ss.get())
        .map_err(|_| invalid(name, req, "ss must carry userId and sessionId"))?;
    if session.user_id.is_empty() || session.session_id.is_empty() || fields.rid.is_empty() {
        return Err(invalid(name, req, "userId, sessionId and rid must not be empty"));
    }
    let unsupported = || Refusal {
        code: UNSUPPORTED_CHANNEL,
        name: name.to_owned(),
        req: req.to_owned(),
        msg: format!("{name} is not supported in a {} room", ch.as_str()),
    };
    if !supports(action, ch) {
        return Err(unsupported());
    }
    let to = match fields.to {
        None => None,
        Some(Target::User(user)) if !user.is_empty() => Some(To::User(user.into())),
        Some(Target::Session { user_id, session_id })
            if !user_id.is_empty() && !session_id.is_empty() =>
        {
            Some(To::Session(Peer { user: user_id.into(), session: session_id.into() }))
        }
        Some(_) => return Err(invalid(name, req, "to must name a user or a session")),
    };
    match (&to, needs_target(action, ch)) {
        (None, true) => return Err(invalid(name, req, "to is required")),
        (Some(To::User(_)), true) if !matches!(action, Action::Kick) && ch != Channel::P2p => {
            return Err(unsupported());
        }
        _ => {}
    }
    if matches!(action, Action::Offer | Action::Answer | Action::Ice) && fields.sdp.is_none() {
        return Err(invalid(name, req, "sdp is required"));
    }
    if fields.sdp.is_some_and(|sdp| !sdp.get().starts_with('"')) {
        return Err(invalid(name, req, "sdp must be a string"));
    }
    // Only the media plane reads an SDP (m2m/a2m); it is unescaped for it alone.
    let sdp = match fields.sdp.filter(|_| ch.uses_media()) {
        Some(raw) => Some(
            serde_json::from_str::<String>(raw.get())
                .map_err(|e| invalid(name, req, &format!("invalid sdp: {e}")))?,
        ),
        None => None,
    };
    let options = fields.op.unwrap_or_default();
    Ok(Signal {
        action,
        ch,
        rid: RoomId::new(&fields.rid),
        from: Peer { user: session.user_id.into(), session: session.session_id.into() },
        ss: Payload::from_raw(fields.ss),
        to,
        ve: fields.ve,
        ae: fields.ae,
        creating: options.room_creating,
        sdp,
        hls: options.hls_forwarding,
        eg: fields.eg.map(Payload::from_raw),
        bid: fields.bid.map(Payload::from_raw),
        send_ack: fields.send_ack.unwrap_or(false),
        raw: Payload::from_raw(data),
    })
}

/// Which channels take which signals (the seed's `ch` lists per signal).
fn supports(action: Action, ch: Channel) -> bool {
    use Channel::{A2m, M2m, P2m, P2p};
    match action {
        Action::Join | Action::Leave | Action::Update | Action::Heartbeat => true,
        Action::Offer | Action::Answer | Action::Ice => matches!(ch, P2p | M2m | A2m),
        Action::Watch | Action::PublishRequest | Action::PublishAccept | Action::PublishReject => {
            matches!(ch, M2m | A2m)
        }
        Action::Kick => matches!(ch, P2m | M2m | A2m),
    }
}

/// Whether `action` in a `ch` room must name its target.
fn needs_target(action: Action, ch: Channel) -> bool {
    match action {
        // In m2m/a2m a publisher's offer goes to the media plane.
        Action::Offer => ch == Channel::P2p,
        Action::Answer
        | Action::Ice
        | Action::Watch
        | Action::Kick
        | Action::PublishAccept
        | Action::PublishReject => true,
        Action::Join
        | Action::Leave
        | Action::Update
        | Action::Heartbeat
        | Action::PublishRequest => false,
    }
}

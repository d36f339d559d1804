//! [`Event`] → `cmd` frame. Field order follows the reference server; payloads are copied
//! verbatim, never re-serialised.

use bytestring::ByteString;
use switchboard_actors::{CallSignal, Event, Phase, Presence, RosterEntry};

use super::{
    codes::error_code,
    json::{push_str, Obj},
};

/// Encodes one event.
pub fn encode(event: &Event) -> ByteString {
    if let Event::Roster(roster) = event {
        // Encoded once for all its recipients.
        return roster.encoded(roster_frame);
    }
    let mut out = String::new();
    encode_into(event, &mut out);
    out.into()
}

/// Appends one event's frame to `out` (the relay path: no buffer of its own).
pub fn encode_into(event: &Event, out: &mut String) {
    match event {
        Event::Registered { name } => Obj::new(out, "sId", 0).str("sId", name.as_str()).finish(),
        Event::Roster(roster) => out.push_str(&roster.encoded(roster_frame)),
        Event::CallOpened { call } => {
            Obj::new(out, "session", 0).str("sessionId", call.as_str()).finish()
        }
        Event::CallPhase { call, phase } => Obj::new(out, "ssu", 0)
            .str("sessionId", call.as_str())
            .num("state", phase_code(*phase))
            .finish(),
        Event::Signal { call, from, signal } => {
            let (cmd, payload) = match signal {
                CallSignal::Offer(p) => ("call", Some(("offer", p))),
                CallSignal::Answer(p) => ("accept", Some(("answer", p))),
                CallSignal::Candidate(p) => ("icecandidate", Some(("icecandidate", p))),
                CallSignal::Reject => ("reject", None),
                CallSignal::Stop => ("stop", None),
            };
            let size = payload.map_or(0, |(_, p)| p.get().len());
            let obj = Obj::new(out, cmd, size + 64)
                .str("sessionId", call.as_str())
                .str("opponentId", from.as_str());
            match payload {
                Some((key, p)) => obj.raw(key, p.as_raw()).finish(),
                None => obj.finish(),
            }
        }
        Event::PeerLeft { call, peer } => Obj::new(out, "leave", 0)
            .str("sessionId", call.as_str())
            .str("opponentId", peer.as_str())
            .finish(),
        Event::Notified { from, kind } => {
            let obj = Obj::new(out, "notify", 0).str("opponentId", from.as_str());
            match kind {
                Some(kind) => obj.raw("type", kind.as_raw()).finish(),
                None => obj.finish(),
            }
        }
        Event::Error(error) => {
            Obj::new(out, "error", 0).num("code", error_code(*error).into()).finish()
        }
        // Other dialects' events only ever go to their own sockets; should one reach a `cmd` client, it
        // reads as the generic internal error rather than a frame it cannot parse.
        Event::Room(_) | Event::Signals(_) | Event::Mediasoup(_) => {
            Obj::new(out, "error", 0).num("code", 9400).finish()
        }
    }
}

/// `ssu` states: 1 NEW, 2 PENDING, 3 ACTIVE, 4 CLOSED.
fn phase_code(phase: Phase) -> u32 {
    match phase {
        Phase::New => 1,
        Phase::Pending => 2,
        Phase::Active => 3,
        Phase::Closed => 4,
    }
}

/// `clu` states: 1 WAIT, 2 CALLING.
fn presence_code(presence: Presence) -> u32 {
    match presence {
        Presence::Waiting => 1,
        Presence::Calling => 2,
    }
}

fn roster_frame(entries: &[RosterEntry]) -> ByteString {
    let size = entries.iter().map(|e| e.name.as_str().len() + 24).sum();
    let mut text = String::new();
    Obj::new(&mut text, "clu", size)
        .with("list", |out| {
            out.push('[');
            for (i, entry) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str("{\"state\":");
                out.push(char::from(b'0' + presence_code(entry.presence) as u8));
                out.push_str(",\"sId\":");
                push_str(out, entry.name.as_str());
                out.push('}');
            }
            out.push(']');
        })
        .finish();
    text.into()
}

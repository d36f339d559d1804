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
    let text = match event {
        Event::Registered { name } => Obj::new("sId", 0).str("sId", name.as_str()).finish(),
        Event::Roster(roster) => return roster.encoded(roster_frame),
        Event::CallOpened { call } => {
            Obj::new("session", 0).str("sessionId", call.as_str()).finish()
        }
        Event::CallPhase { call, phase } => Obj::new("ssu", 0)
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
            let obj = Obj::new(cmd, size + 64)
                .str("sessionId", call.as_str())
                .str("opponentId", from.as_str());
            match payload {
                Some((key, p)) => obj.raw(key, p.as_raw()).finish(),
                None => obj.finish(),
            }
        }
        Event::PeerLeft { call, peer } => Obj::new("leave", 0)
            .str("sessionId", call.as_str())
            .str("opponentId", peer.as_str())
            .finish(),
        Event::Notified { from, kind } => {
            let obj = Obj::new("notify", 0).str("opponentId", from.as_str());
            match kind {
                Some(kind) => obj.raw("type", kind.as_raw()).finish(),
                None => obj.finish(),
            }
        }
        Event::Error(error) => Obj::new("error", 0).num("code", error_code(*error).into()).finish(),
        // Other dialects' events only ever go to their own sockets; should one reach a `cmd` client, it
        // reads as the generic internal error rather than a frame it cannot parse.
        Event::Room(_) | Event::Signals(_) => Obj::new("error", 0).num("code", 9400).finish(),
    };
    text.into()
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
    let text = Obj::new("clu", size)
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

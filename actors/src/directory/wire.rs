//! What the directories (and call actors) of different nodes tell each other about `cmd`
//! clients, as the body of a `cmd` cluster frame.

use serde::{Deserialize, Serialize};

use crate::{
    command::CallSignal,
    error::ErrorKind,
    event::{Event, Presence},
    ids::{CallId, ClientName},
    payload::Payload,
};

/// One client of the sending node, as a replica stores it: its name, its claim's cluster-wide
/// sequence number (roster order) and its presence.
pub type Entry = (ClientName, u64, Presence);

/// A `cmd` message between nodes. Each names its handler on the receiving node.
#[derive(Debug, Serialize, Deserialize)]
pub enum Wire {
    /// The sender's clients changed: upserts, then removals. To every peer.
    Presence {
        /// Clients registered or whose presence changed.
        set: Vec<Entry>,
        /// Clients gone.
        gone: Vec<ClientName>,
    },
    /// Every client of the sender; replaces what the receiver knew of it.
    Snapshot {
        /// The clients.
        set: Vec<Entry>,
    },
    /// Please send me a `Snapshot` (my subscription broke; I may have missed updates).
    SyncRequest,
    /// The caller's node (the call's home) asks the callee's node to put `callee` in `call`.
    Invite {
        /// The new call.
        call: CallId,
        /// Who calls (on the sender).
        caller: ClientName,
        /// Who is called (on the receiver).
        callee: ClientName,
    },
    /// The callee's node answers an `Invite`.
    InviteReply {
        /// The call.
        call: CallId,
        /// The callee (on the sender).
        callee: ClientName,
        /// `Ok` if the callee is now in the call; why not otherwise.
        result: Result<(), ErrorKind>,
    },
    /// Push these events, in order, to the receiver's client `to`.
    Deliver {
        /// The client.
        to: ClientName,
        /// The events.
        events: Vec<Event>,
    },
    /// A member on the sender sends a signal into a call homed on the receiver.
    Relay {
        /// The call.
        call: CallId,
        /// The member.
        from: ClientName,
        /// The signal, payload untouched.
        signal: CallSignal,
    },
    /// A member on the sender disconnected from a call homed on the receiver.
    MemberLeft {
        /// The call.
        call: CallId,
        /// The member.
        name: ClientName,
    },
    /// A call homed on the sender ended: free `name` on the receiver, then push `events`.
    CallEnded {
        /// The call.
        call: CallId,
        /// The receiver's member.
        name: ClientName,
        /// Its final events.
        events: Vec<Event>,
    },
    /// Notify the receiver's client `to`.
    Notify {
        /// The sender's client.
        from: ClientName,
        /// The receiver's client.
        to: ClientName,
        /// The opaque kind.
        kind: Option<Payload>,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::value::RawValue;

    use super::*;

    #[test]
    fn payloads_cross_nodes_byte_for_byte() {
        let sdp = r#"{ "type" : "offer",  "sdp":"v=0\r\n\u00e9" }"#;
        let raw = RawValue::from_string(sdp.to_owned()).expect("valid JSON");
        let call = CallId::new("12345678");
        let from = ClientName::new("alice").expect("valid");
        let signal = CallSignal::Offer(Payload::new(raw));
        let wire = Wire::Deliver {
            to: ClientName::new("bob").expect("valid"),
            events: vec![Event::Signal { call, from, signal }],
        };
        let text = serde_json::to_string(&wire).expect("encodes");
        assert!(text.contains(sdp), "{text}");
        let back: Wire = serde_json::from_str(&text).expect("decodes");
        let Wire::Deliver { events, .. } = back else { panic!("not a Deliver") };
        let Some(Event::Signal { signal: CallSignal::Offer(payload), .. }) = events.first() else {
            panic!("not an offer")
        };
        assert_eq!(payload.get(), sdp);
    }

    #[test]
    fn invalid_names_from_a_peer_are_refused() {
        let empty = r#"{"Notify":{"from":"","to":"b","kind":null}}"#;
        assert!(serde_json::from_str::<Wire>(empty).is_err());
    }
}

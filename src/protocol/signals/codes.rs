//! The `signals` error codes (PROTOCOLS.md §2.4) for the core's refusals, and their messages.

use switchboard_actors::signals::state::Refusal;

/// Every code a `signals` client can be refused with: the core's refusals, and the signals
/// the edge cannot read.
pub fn all() -> Vec<u16> {
    let mut codes: Vec<u16> = Refusal::ALL.into_iter().map(|r| code(r).0).collect();
    codes.extend([super::decode::INVALID_SIGNAL, super::decode::UNSUPPORTED_CHANNEL]);
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The code of an error ack for a signal the edge cannot read (`unsupported`: its channel is
/// not one the signal is sent in).
pub fn invalid(unsupported: bool) -> u16 {
    if unsupported {
        super::decode::UNSUPPORTED_CHANNEL
    } else {
        super::decode::INVALID_SIGNAL
    }
}

/// The code `reply` carries, if it is an error ack.
pub fn refusal_of(reply: &switchboard_actors::signals::state::Reply) -> Option<u16> {
    use switchboard_actors::signals::state::Reply;
    match reply {
        Reply::Refused { refusal, .. } => Some(code(*refusal).0),
        Reply::Invalid { unsupported, .. } => Some(invalid(*unsupported)),
        _ => None,
    }
}

/// The code and message of an error ack for `refusal`.
pub fn code(refusal: Refusal) -> (u16, &'static str) {
    match refusal {
        Refusal::RoomNotFound => (4001, "room not found"),
        Refusal::NotRoomMember => (4002, "not a member of the room"),
        Refusal::RecipientNotMember => (4003, "the recipient is not in the room"),
        Refusal::RoomExists => (4022, "the room already exists"),
        Refusal::AlreadyPublisher => (4023, "already a publisher"),
        Refusal::UserLeft => (4024, "the user has left the room"),
        Refusal::PermissionDenied => (4051, "permission not found"),
        Refusal::UnsupportedChannel => (2002, "the signal is not supported in this channel"),
        Refusal::NoMediaPlane => (500, "the media plane is not enabled on this server"),
        Refusal::NotPublishing => (500, "the session publishes no media yet; try again"),
        Refusal::NoOffer => (2001, "no offer of the server's awaits this answer; WATCH first"),
        Refusal::MediaFailed => (500, "the media server failed"),
        Refusal::Unavailable => (500, "the room cannot be reached right now; try again"),
        // Not permitted, as a token's refusal is: the tenant may create no more rooms here.
        Refusal::RoomLimit => (4051, "the tenant has all the rooms it may have"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_seed_code() {
        let codes: Vec<u16> = Refusal::ALL.into_iter().map(|r| code(r).0).collect();
        assert_eq!(
            codes,
            [4001, 4002, 4003, 4022, 4023, 4024, 4051, 2002, 500, 500, 4051, 2001, 500, 500]
        );
    }
}

//! The `cmd` dialect's error and close codes.
//!
//! Error frames are `{cmd:'error', code}` with the reference server's codes (9000–9402).
//! Where the reference sent nothing or could not tell, we chose:
//!
//! - a signal the call's state does not allow (an answer with no offer out, a second offer while
//!   one is pending, a reject after the answer) gets **9002** "message cmd error": the command is
//!   not valid now. The reference checked no call state at all;
//! - a non-member naming a live session, or a session that has ended, gets **9204**;
//! - a missing field or a field of the wrong type gets **9001** "message error";
//! - notifying yourself gets **9200**, as in the reference, whose generic self check ran before
//!   the 9300 check could (so 9300 is never sent);
//! - cross-node failures (the cluster bus unreachable) and internal errors get **9400**
//!   "socket send fail": the message was not delivered;
//! - registering an sId other than the access token's `sub` gets **9102**, as if the name were
//!   another client's;
//! - a frame nested deeper than [`MAX_DEPTH`](super::decode::MAX_DEPTH) levels gets **9003**
//!   "nested too deeply" (the reference's parser took any depth; payloads otherwise pass byte
//!   for byte, so this is the one payload a peer never sees).

use switchboard_actors::{ClientError, CloseReason, CommandKind, ErrorKind};

/// Every `cmd` error code a client can be sent.
pub fn all() -> Vec<u16> {
    let ops = [None, Some(CommandKind::Notify)];
    let mut codes: Vec<u16> = ErrorKind::ALL
        .into_iter()
        .flat_map(|kind| ops.map(|op| error_code(ClientError { kind, op })))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
}

/// The error code `event` carries, if it is an error frame.
pub fn refusal_of(event: &switchboard_actors::Event) -> Option<u16> {
    match event {
        switchboard_actors::Event::Error(error) => Some(error_code(*error)),
        _ => None,
    }
}

/// The `cmd` error code for `error`.
pub fn error_code(error: ClientError) -> u16 {
    match error.kind {
        ErrorKind::MalformedFrame => 9000,
        ErrorKind::TooDeep => 9003,
        ErrorKind::InvalidMessage => 9001,
        ErrorKind::UnknownCommand | ErrorKind::InvalidCallState => 9002,
        ErrorKind::NotRegistered => 9100,
        ErrorKind::AlreadyRegistered => 9101,
        // The token's identity is another sId: as if the name were another client's.
        ErrorKind::NameTaken | ErrorKind::Forbidden => 9102,
        ErrorKind::SelfTarget => 9200,
        ErrorKind::PeerNotFound if error.op == Some(CommandKind::Notify) => 9301,
        ErrorKind::PeerNotFound => 9201,
        ErrorKind::Busy => 9202,
        ErrorKind::PeerBusy => 9203,
        ErrorKind::CallNotFound => 9204,
        // `cmd` has no rooms; a limit it could meet would be the server's to report.
        ErrorKind::DeliveryFailed
        | ErrorKind::Unavailable
        | ErrorKind::LimitReached
        | ErrorKind::Internal => 9400,
        ErrorKind::PeerNotOpen => 9401,
        ErrorKind::PeerGone => 9402,
    }
}

/// The WebSocket close code for a server-initiated close.
pub fn close_code(reason: CloseReason) -> u16 {
    match reason {
        CloseReason::FrameTooLarge => 1009,
        CloseReason::InvalidFrame => 1007,
        CloseReason::ProtocolViolation => 1002,
        CloseReason::UnsupportedData => 1003,
        CloseReason::SlowConsumer
        | CloseReason::RateLimited
        | CloseReason::NameLost
        | CloseReason::Disconnected => 1008,
        CloseReason::PingTimeout | CloseReason::ShuttingDown => 1001,
    }
}

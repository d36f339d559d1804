//! Socket.IO packets, carried in Engine.IO message packets: a type digit, for binary types an
//! attachment count and `-`, an optional namespace (`/chat,`), an optional ack id, then JSON.
//!
//! `0` connect, `1` disconnect, `2` event, `3` ack, `4` error (v5: connect error), `5` binary
//! event, `6` binary ack.

/// Packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `0`
    Connect,
    /// `1`
    Disconnect,
    /// `2`
    Event,
    /// `3`
    Ack,
    /// `4`
    Error,
    /// `5`
    BinaryEvent,
    /// `6`
    BinaryAck,
}

/// One decoded packet; `data` is the raw JSON, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<'a> {
    /// Its type.
    pub kind: Kind,
    /// Its namespace (`/` when absent).
    pub nsp: &'a str,
    /// The ack id the sender asked for.
    pub id: Option<u64>,
    /// The JSON data, unparsed.
    pub data: &'a str,
}

/// Decodes one Socket.IO packet; `None` if it is malformed.
pub fn decode(text: &str) -> Option<Packet<'_>> {
    let kind = match text.as_bytes().first()? {
        b'0' => Kind::Connect,
        b'1' => Kind::Disconnect,
        b'2' => Kind::Event,
        b'3' => Kind::Ack,
        b'4' => Kind::Error,
        b'5' => Kind::BinaryEvent,
        b'6' => Kind::BinaryAck,
        _ => return None,
    };
    let mut rest = &text[1..];
    if matches!(kind, Kind::BinaryEvent | Kind::BinaryAck) {
        let dash = rest.find('-')?;
        rest[..dash].parse::<u32>().ok()?;
        rest = &rest[dash + 1..];
    }
    let mut nsp = "/";
    if rest.starts_with('/') {
        let end = rest.find(',').unwrap_or(rest.len());
        nsp = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
    }
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 { Some(rest[..digits].parse().ok()?) } else { None };
    Some(Packet { kind, nsp, id, data: &rest[digits..] })
}

impl Kind {
    /// The type digit.
    pub fn digit(self) -> char {
        match self {
            Kind::Connect => '0',
            Kind::Disconnect => '1',
            Kind::Event => '2',
            Kind::Ack => '3',
            Kind::Error => '4',
            Kind::BinaryEvent => '5',
            Kind::BinaryAck => '6',
        }
    }
}

/// The default namespace's packet `kind` (digit) followed by `data`.
pub fn encode(kind: Kind, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 1);
    out.push(kind.digit());
    out.push_str(data);
    out
}

/// A packet for namespace `nsp` (other than `/`).
pub fn encode_in(nsp: &str, kind: Kind, data: &str) -> String {
    let bare = encode(kind, "");
    format!("{bare}{nsp},{data}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_decode_with_namespace_ack_and_attachments() {
        let p = decode(r#"2["room-join","r1"]"#).unwrap();
        assert_eq!(
            (p.kind, p.nsp, p.id, p.data),
            (Kind::Event, "/", None, r#"["room-join","r1"]"#)
        );
        let p = decode(r#"2/chat,12["x"]"#).unwrap();
        assert_eq!((p.kind, p.nsp, p.id, p.data), (Kind::Event, "/chat", Some(12), r#"["x"]"#));
        let p = decode("0").unwrap();
        assert_eq!((p.kind, p.data), (Kind::Connect, ""));
        let p = decode(r#"0{"token":"t"}"#).unwrap();
        assert_eq!(p.data, r#"{"token":"t"}"#);
        let p = decode("0/admin,").unwrap();
        assert_eq!((p.kind, p.nsp), (Kind::Connect, "/admin"));
        let p = decode(r#"51-["x",{"_placeholder":true,"num":0}]"#).unwrap();
        assert_eq!(p.kind, Kind::BinaryEvent);
        for bad in ["", "9", "5x-[]", "2999999999999999999999[]"] {
            assert!(decode(bad).is_none(), "{bad}");
        }
        assert_eq!(
            encode_in("/admin", Kind::Error, "\"Invalid namespace\""),
            "4/admin,\"Invalid namespace\""
        );
    }
}

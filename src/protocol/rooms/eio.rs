//! Engine.IO packets and HTTP long-polling payloads.
//!
//! A packet is one type digit and its data: `0` open, `1` close, `2` ping, `3` pong, `4`
//! message, `5` upgrade, `6` noop; `b` and base64 is a binary message in a polling payload
//! (over WebSocket a binary message is a binary frame). Over WebSocket each frame is one packet. A polling payload
//! carries several: v3 prefixes each with its length in UTF-16 code units and a colon
//! (`6:42[…]`), v4 separates them with the record separator `\x1e`.

/// The Engine.IO protocol revision, from the `EIO` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Revision 3: socket.io-client 2.x. The client pings, the server answers.
    V3,
    /// Revision 4: socket.io-client 3.x and 4.x. The server pings, the client answers.
    V4,
}

impl Version {
    /// Parses the `EIO` query parameter.
    pub fn from_query(eio: Option<&str>) -> Option<Self> {
        match eio {
            Some("3") => Some(Version::V3),
            Some("4") => Some(Version::V4),
            _ => None,
        }
    }
}

/// Packet types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `0`
    Open,
    /// `1`
    Close,
    /// `2`
    Ping,
    /// `3`
    Pong,
    /// `4`
    Message,
    /// `5`
    Upgrade,
    /// `6`
    Noop,
    /// `b`: a binary message, base64-encoded (polling payloads only).
    Binary,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Self> {
        Some(match b {
            b'0' => Kind::Open,
            b'1' => Kind::Close,
            b'2' => Kind::Ping,
            b'3' => Kind::Pong,
            b'4' => Kind::Message,
            b'5' => Kind::Upgrade,
            b'6' => Kind::Noop,
            b'b' => Kind::Binary,
            _ => return None,
        })
    }

    /// The type digit.
    pub fn digit(self) -> char {
        match self {
            Kind::Open => '0',
            Kind::Close => '1',
            Kind::Ping => '2',
            Kind::Pong => '3',
            Kind::Message => '4',
            Kind::Upgrade => '5',
            Kind::Noop => '6',
            Kind::Binary => 'b',
        }
    }
}

/// Why a packet or payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EioError {
    /// Empty, or an unknown type digit.
    #[error("invalid Engine.IO packet")]
    Packet,
    /// A v3 length prefix that is missing, not a number, or longer than the rest.
    #[error("invalid Engine.IO payload")]
    Payload,
}

/// Splits one packet into its type and data.
pub fn decode(packet: &str) -> Result<(Kind, &str), EioError> {
    let first = *packet.as_bytes().first().ok_or(EioError::Packet)?;
    Ok((Kind::from_byte(first).ok_or(EioError::Packet)?, &packet[1..]))
}

/// One packet as text.
pub fn encode(kind: Kind, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + 1);
    out.push(kind.digit());
    out.push_str(data);
    out
}

/// Splits a polling payload into packets.
pub fn decode_payload(version: Version, body: &str) -> Result<Vec<&str>, EioError> {
    match version {
        Version::V4 => Ok(body.split('\u{1e}').collect()),
        Version::V3 => {
            let mut packets = Vec::new();
            let mut rest = body;
            while !rest.is_empty() {
                let colon = rest.find(':').ok_or(EioError::Payload)?;
                let units: usize = rest[..colon].parse().map_err(|_| EioError::Payload)?;
                let data = &rest[colon + 1..];
                let mut seen = 0;
                let mut end = 0;
                for c in data.chars() {
                    if seen >= units {
                        break;
                    }
                    seen += c.len_utf16();
                    end += c.len_utf8();
                }
                if seen != units {
                    return Err(EioError::Payload);
                }
                packets.push(&data[..end]);
                rest = &data[end..];
            }
            Ok(packets)
        }
    }
}

/// Joins packets into a polling payload.
pub fn encode_payload(version: Version, packets: &[String]) -> String {
    match version {
        Version::V4 => packets.join("\u{1e}"),
        Version::V3 => {
            let mut out = String::new();
            for p in packets {
                out.push_str(&p.encode_utf16().count().to_string());
                out.push(':');
                out.push_str(p);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_and_garbage_is_refused() {
        assert_eq!(decode("2probe"), Ok((Kind::Ping, "probe")));
        assert_eq!(decode("42[\"a\"]"), Ok((Kind::Message, "2[\"a\"]")));
        assert_eq!(encode(Kind::Pong, "probe"), "3probe");
        assert_eq!(decode(""), Err(EioError::Packet));
        assert_eq!(decode("bAQIDBA=="), Ok((Kind::Binary, "AQIDBA==")));
        assert_eq!(decode("9"), Err(EioError::Packet));
    }

    #[test]
    fn v3_payloads_count_utf16_units() {
        let packets = vec!["2".to_owned(), "42[\"é😀\"]".to_owned()];
        let body = encode_payload(Version::V3, &packets);
        // é is one UTF-16 unit, 😀 two: 2 + 1 + 2 + 3 brackets/quotes... = 9.
        assert_eq!(body, "1:29:42[\"é😀\"]");
        assert_eq!(decode_payload(Version::V3, &body).unwrap(), ["2", "42[\"é😀\"]"]);
        for bad in ["3:ab", "x:1", "2", "1:2:"] {
            assert!(decode_payload(Version::V3, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn v4_payloads_use_the_record_separator() {
        let packets = vec!["2".to_owned(), "42[\"x\"]".to_owned()];
        let body = encode_payload(Version::V4, &packets);
        assert_eq!(body, "2\u{1e}42[\"x\"]");
        assert_eq!(decode_payload(Version::V4, &body).unwrap(), ["2", "42[\"x\"]"]);
    }
}

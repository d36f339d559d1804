//! JSON text written straight into a frame buffer, shared by the dialects' encoders, and
//! strings read straight out of an already validated frame, shared by their decoders.

use std::fmt::Write as _;

/// The value of `raw` if it is a JSON string without escapes: the text between its quotes,
/// borrowed, with no second parse. `raw` comes from a parse that validated it, so a string
/// with no backslash has no escapes and no control characters. `None` for anything else
/// (other values, or strings to decode in full).
pub fn plain_str(raw: &serde_json::value::RawValue) -> Option<&str> {
    let inner = raw.get().strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

/// Writes `s` as a JSON string literal. Runs of characters that need no escape are copied
/// whole (ids and names almost never have any).
pub fn push_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..0x20 => "",
            _ => continue,
        };
        // Only ASCII bytes stop the scan: `i` is a char boundary.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", b);
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod escape_tests {
    use super::push_str;

    #[test]
    fn strings_round_trip_through_a_json_parser() {
        let cases =
            ["", "plain", "q\"uote", "back\\slash", "ctl\u{1}\u{1f}\n\r\t", "é中😀\"x", "\u{7f}"];
        for case in cases {
            let mut out = String::from("pre");
            push_str(&mut out, case);
            let back: String = serde_json::from_str(&out[3..]).expect("valid JSON");
            assert_eq!(back, case);
        }
        let mut out = String::new();
        push_str(&mut out, "a\u{1}b");
        assert_eq!(out, r#""a\u0001b""#);
    }
}

#[cfg(test)]
mod tests {
    use super::plain_str;
    use serde_json::value::RawValue;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_owned()).expect("valid JSON")
    }

    #[test]
    fn only_strings_without_escapes_are_read_between_their_quotes() {
        assert_eq!(plain_str(&raw(r#""r1""#)), Some("r1"));
        assert_eq!(plain_str(&raw(r#""""#)), Some(""));
        assert_eq!(plain_str(&raw("\"r\u{e9}\"")), Some("r\u{e9}"));
        assert_eq!(plain_str(&raw(r#""a\"b""#)), None);
        assert_eq!(plain_str(&raw(r#""\u0041""#)), None);
        assert_eq!(plain_str(&raw("12")), None);
        assert_eq!(plain_str(&raw(r#"{"a":"b"}"#)), None);
    }
}

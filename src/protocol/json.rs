//! JSON text written straight into a frame buffer, shared by the dialects' encoders.

use std::fmt::Write as _;

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

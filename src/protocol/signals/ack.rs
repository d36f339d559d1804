//! Acks: `{"c": 200, "s": NAME, "b": BODY}` on success, `{"c": CODE, "s": NAME, "b": {"req":
//! ORIGINAL, "msg": TEXT}}` on error. `b.req` is copied byte for byte from the request.

/// A success ack for signal `name` with the JSON object `body`.
pub fn ok(name: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + name.len() + 20);
    out.push_str(r#"{"c":200,"s":"#);
    push_json_str(&mut out, name);
    out.push_str(r#","b":"#);
    out.push_str(body);
    out.push('}');
    out
}

/// An error ack with `code` for signal `name`; `req` is the original signal (raw JSON).
pub fn error(code: u16, name: &str, req: &str, msg: &str) -> String {
    let mut out = String::with_capacity(req.len() + msg.len() + 48);
    out.push_str(r#"{"c":"#);
    out.push_str(&code.to_string());
    out.push_str(r#","s":"#);
    push_json_str(&mut out, name);
    out.push_str(r#","b":{"req":"#);
    out.push_str(req);
    out.push_str(r#","msg":"#);
    push_json_str(&mut out, msg);
    out.push_str("}}");
    out
}

fn push_json_str(out: &mut String, s: &str) {
    // Serialising a str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

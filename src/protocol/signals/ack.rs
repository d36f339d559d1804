//! Acks: `{"c": 200, "s": NAME, "b": BODY}` on success, `{"c": CODE, "s": NAME, "b": {"req":
//! ORIGINAL, "msg": TEXT}}` on error. `b.req` is copied byte for byte from the request.

use crate::protocol::json::push_str;

/// A success ack for signal `name` with the JSON object `body`.
pub fn ok(name: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + name.len() + 20);
    out.push_str(r#"{"c":200,"s":"#);
    push_str(&mut out, name);
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
    push_str(&mut out, name);
    out.push_str(r#","b":{"req":"#);
    out.push_str(req);
    out.push_str(r#","msg":"#);
    push_str(&mut out, msg);
    out.push_str("}}");
    out
}

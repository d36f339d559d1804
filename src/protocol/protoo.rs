//! protoo framing (PROTOCOLS.md §4.3), the carriage of the `mediasoup` dialect: requests
//! `{request: true, id, method, data}`, responses `{response: true, id, ok: true, data}` or
//! `{response: true, id, errorCode, errorReason}`, notifications `{notification: true,
//! method, data}`. As protoo parses them: `id` must be a number and is echoed exactly as sent,
//! `method` a string, and a missing (or falsy) `data` is `{}`. A frame protoo would drop
//! (not JSON, not an object, no kind, a request without a numeric id) is refused with why; a
//! request whose id is readable but whose method is not can still be answered with an error.

use serde_json::{Map, Number, Value};

use super::json::push_str;

/// One protoo message from a peer.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request, to be answered with [`ok`] or [`error`] under its `id`.
    Request {
        /// Its id, as sent.
        id: Number,
        /// What it asks.
        method: String,
        /// Its data (`{}` when absent).
        data: Value,
    },
    /// A response to a request the server sent.
    Response {
        /// The id of the request it answers.
        id: Number,
        /// `Ok(data)`, or `Err((errorCode, errorReason))` as sent.
        result: Result<Value, (Value, Value)>,
    },
    /// A notification: nothing answers it.
    Notification {
        /// What it tells.
        method: String,
        /// Its data (`{}` when absent).
        data: Value,
    },
}

/// Why a frame is not a protoo message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not JSON, or not a JSON object.
    NotAnObject,
    /// None of `request`, `response`, `notification` is `true`.
    NoKind,
    /// A request or response without a numeric `id`.
    BadId,
    /// A request or notification without a string `method`; a request's `id` if it had one,
    /// so it can be answered.
    BadMethod(Option<Number>),
}

/// Parses one text frame.
pub fn parse(frame: &str) -> Result<Message, Refused> {
    let Ok(mut object) = serde_json::from_str::<Map<String, Value>>(frame) else {
        return Err(Refused::NotAnObject);
    };
    let flag = |object: &Map<String, Value>, key: &str| object.get(key) == Some(&Value::Bool(true));
    let id = match object.get("id") {
        Some(Value::Number(id)) => Some(id.clone()),
        _ => None,
    };
    // A falsy `data` (absent, null, false, 0, "") is an empty object, as protoo has it.
    let data = |object: &mut Map<String, Value>| match object.remove("data") {
        None | Some(Value::Null | Value::Bool(false)) => Value::Object(Map::new()),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Value::Object(Map::new()),
        Some(Value::String(s)) if s.is_empty() => Value::Object(Map::new()),
        Some(data) => data,
    };
    let method = |object: &mut Map<String, Value>| match object.remove("method") {
        Some(Value::String(method)) => Some(method),
        _ => None,
    };
    if flag(&object, "request") {
        let Some(method) = method(&mut object) else { return Err(Refused::BadMethod(id)) };
        let id = id.ok_or(Refused::BadId)?;
        return Ok(Message::Request { id, method, data: data(&mut object) });
    }
    if flag(&object, "response") {
        let id = id.ok_or(Refused::BadId)?;
        let result = if flag(&object, "ok") {
            Ok(data(&mut object))
        } else {
            let code = object.remove("errorCode").unwrap_or(Value::Null);
            Err((code, object.remove("errorReason").unwrap_or(Value::Null)))
        };
        return Ok(Message::Response { id, result });
    }
    if flag(&object, "notification") {
        let Some(method) = method(&mut object) else { return Err(Refused::BadMethod(None)) };
        return Ok(Message::Notification { method, data: data(&mut object) });
    }
    Err(Refused::NoKind)
}

/// A success response to request `id` carrying `data` (a JSON value's text).
pub fn ok(id: &Number, data: &str) -> String {
    format!(r#"{{"response":true,"id":{id},"ok":true,"data":{data}}}"#)
}

/// An error response to request `id`.
pub fn error(id: &Number, code: u16, reason: &str) -> String {
    let mut out = format!(r#"{{"response":true,"id":{id},"errorCode":{code},"errorReason":"#);
    push_str(&mut out, reason);
    out.push('}');
    out
}

/// A notification `method` carrying `data` (a JSON value's text).
pub fn notification(method: &str, data: &str) -> String {
    let mut out = String::from(r#"{"notification":true,"method":"#);
    push_str(&mut out, method);
    out.push_str(r#","data":"#);
    out.push_str(data);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn id(n: u64) -> Number {
        Number::from(n)
    }

    #[test]
    fn requests_responses_and_notifications_parse_as_protoo_has_them() {
        let request = r#"{"request":true,"id":12345,"method":"mediasoup-request","data":{"method":"queryRoom","target":"room"}}"#;
        assert_eq!(
            parse(request),
            Ok(Message::Request {
                id: id(12345),
                method: "mediasoup-request".into(),
                data: json!({"method": "queryRoom", "target": "room"}),
            })
        );
        // No data is an empty object; so is a falsy one.
        for data in ["", r#","data":null"#, r#","data":false"#, r#","data":0"#, r#","data":"""#] {
            let frame = format!(r#"{{"notification":true,"method":"m"{data}}}"#);
            assert_eq!(
                parse(&frame),
                Ok(Message::Notification { method: "m".into(), data: json!({}) }),
                "{frame}"
            );
        }
        assert_eq!(
            parse(r#"{"response":true,"id":7,"ok":true,"data":{"a":1}}"#),
            Ok(Message::Response { id: id(7), result: Ok(json!({"a": 1})) })
        );
        assert_eq!(
            parse(r#"{"response":true,"id":7,"errorCode":500,"errorReason":"no"}"#),
            Ok(Message::Response { id: id(7), result: Err((json!(500), json!("no"))) })
        );
        // A fractional id is echoed as sent.
        let Ok(Message::Request { id: odd, .. }) =
            parse(r#"{"request":true,"id":1.5,"method":"m"}"#)
        else {
            panic!("a request");
        };
        assert_eq!(ok(&odd, "{}"), r#"{"response":true,"id":1.5,"ok":true,"data":{}}"#);
    }

    #[test]
    fn what_protoo_drops_is_refused_with_why() {
        for frame in ["", "nope", "[1,2]", "42", r#""text""#, "{"] {
            assert_eq!(parse(frame), Err(Refused::NotAnObject), "{frame}");
        }
        assert_eq!(parse(r#"{"method":"m","id":1}"#), Err(Refused::NoKind));
        assert_eq!(parse(r#"{"request":"yes","id":1,"method":"m"}"#), Err(Refused::NoKind));
        assert_eq!(parse(r#"{"request":true,"id":"1","method":"m"}"#), Err(Refused::BadId));
        assert_eq!(parse(r#"{"response":true,"ok":true}"#), Err(Refused::BadId));
        assert_eq!(
            parse(r#"{"request":true,"id":3,"method":7}"#),
            Err(Refused::BadMethod(Some(id(3))))
        );
        assert_eq!(parse(r#"{"notification":true}"#), Err(Refused::BadMethod(None)));
    }

    #[test]
    fn responses_and_notifications_are_written_as_protoo_reads_them() {
        let frame = error(&id(9), 400, "unknown method \"x\"");
        let value: Value = serde_json::from_str(&frame).expect("JSON");
        assert_eq!(
            value,
            json!({"response": true, "id": 9, "errorCode": 400, "errorReason": "unknown method \"x\""})
        );
        let frame = notification("mediasoup-notification", r#"{"method":"peerClosed"}"#);
        let value: Value = serde_json::from_str(&frame).expect("JSON");
        assert_eq!(
            value,
            json!({"notification": true, "method": "mediasoup-notification",
                   "data": {"method": "peerClosed"}})
        );
        assert_eq!(parse(&frame).map(|_| ()), Ok(()));
    }
}

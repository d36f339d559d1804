//! Opaque client payloads (SDP offers and answers, ICE candidates, notify types).
//!
//! A payload is JSON text the core never looks inside: it is validated once when the frame is
//! parsed at the edge and written back byte for byte when it is forwarded. It is never
//! re-parsed into typed structs on the relay path.

use serde_json::value::RawValue;

/// A JSON value carried through the core untouched.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Payload(Box<RawValue>);

impl Payload {
    /// Wraps already-validated raw JSON.
    pub fn new(raw: Box<RawValue>) -> Self {
        Self(raw)
    }

    /// Copies a borrowed raw JSON value (as produced by a zero-copy parse of a frame).
    pub fn from_raw(raw: &RawValue) -> Self {
        Self(raw.to_owned())
    }

    /// Builds a payload holding a JSON string.
    pub fn string(text: &str) -> Self {
        // A JSON string literal is always valid raw JSON, so this cannot fail.
        let json = serde_json::to_string(text).expect("serialising a str cannot fail");
        Self(RawValue::from_string(json).expect("a JSON string literal is valid JSON"))
    }

    /// The raw JSON, exactly as the client sent it.
    pub fn as_raw(&self) -> &RawValue {
        &self.0
    }

    /// The raw JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }
}

impl PartialEq for Payload {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Payload {}

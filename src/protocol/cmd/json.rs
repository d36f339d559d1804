//! A minimal JSON object writer for the `cmd` encoder: fields in a fixed order, strings
//! escaped, opaque payloads copied verbatim.

use std::fmt::Write as _;

use serde_json::value::RawValue;

pub(super) use crate::protocol::json::push_str;

/// An object under construction at the end of a buffer; always starts with the `cmd` field.
pub(super) struct Obj<'a>(&'a mut String);

impl<'a> Obj<'a> {
    /// Starts the object in `out`, with room for about `capacity` more bytes of fields.
    pub(super) fn new(out: &'a mut String, cmd: &str, capacity: usize) -> Self {
        out.reserve(capacity + 16);
        out.push_str("{\"cmd\":");
        push_str(out, cmd);
        Self(out)
    }

    fn key(&mut self, key: &str) {
        self.0.push_str(",\"");
        self.0.push_str(key);
        self.0.push_str("\":");
    }

    pub(super) fn str(mut self, key: &str, value: &str) -> Self {
        self.key(key);
        push_str(self.0, value);
        self
    }

    pub(super) fn num(mut self, key: &str, value: u32) -> Self {
        self.key(key);
        // Writing to a String cannot fail.
        let _ = write!(self.0, "{value}");
        self
    }

    pub(super) fn raw(mut self, key: &str, value: &RawValue) -> Self {
        self.key(key);
        self.0.push_str(value.get());
        self
    }

    /// Appends `key` with a value written by `write` (for arrays).
    pub(super) fn with(mut self, key: &str, write: impl FnOnce(&mut String)) -> Self {
        self.key(key);
        write(self.0);
        self
    }

    pub(super) fn finish(self) {
        self.0.push('}');
    }
}

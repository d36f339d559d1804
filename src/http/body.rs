//! Request bodies read by hand, within a size limit and a deadline: a client that announces a
//! body and stops sending holds its connection no longer than one that stalls in its head.

use std::time::Duration;

use actix_web::web;
use bytes::BytesMut;
use futures_util::StreamExt;

/// How long a client has to send a request head, and then its body.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a body was not read whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Longer than the limit (what was read is dropped).
    TooLarge,
    /// Not all there by the deadline.
    Timeout,
    /// The connection broke, or the body's framing did.
    Broken,
}

/// Reads `payload` whole: at most `limit` bytes, by [`REQUEST_TIMEOUT`].
pub(crate) async fn read(mut payload: web::Payload, limit: usize) -> Result<BytesMut, BodyError> {
    let read = async {
        let mut body = BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| BodyError::Broken)?;
            if body.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, read).await.unwrap_or(Err(BodyError::Timeout))
}

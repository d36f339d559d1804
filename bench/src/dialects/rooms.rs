//! seed 003 pairs over Socket.IO 4 (Engine.IO 4, WebSocket only): the first client creates a
//! room, the second joins it; signals are `signal-send` events to the other's socket id, which
//! arrive as `signal-receive`. The servers are started with pings far apart, so the clients
//! never need to answer one during a run.

use super::{unique, Pair, Side};
use crate::ws::{connect, send, until, Rx, Tx};

/// Opens a Socket.IO connection to the main namespace; returns it and its socket id.
async fn open(url: &str) -> Result<(Tx, Rx, String), String> {
    let (mut tx, mut rx) = connect(&format!("{url}/socket.io/?EIO=4&transport=websocket")).await?;
    until(&mut rx, "0{").await?;
    send(&mut tx, "40".into()).await?;
    let connected = until(&mut rx, "40{").await?;
    let body: serde_json::Value =
        serde_json::from_str(connected.get(2..).unwrap_or_default()).map_err(|e| e.to_string())?;
    let sid = body["sid"].as_str().ok_or("no socket id")?.to_owned();
    Ok((tx, rx, sid))
}

/// The head of a `signal-send` event to `target` in `room`.
fn head(room: &str, target: &str) -> String {
    format!(r#"42["signal-send","{room}","{target}","#)
}

/// Opens pair `i`.
pub(crate) async fn pair(left: &str, right: &str, i: usize) -> Result<Pair, String> {
    let room = unique("r", i);
    let (mut a_tx, mut a_rx, a_sid) = open(left).await?;
    send(&mut a_tx, format!(r#"42["room-create","{room}"]"#)).await?;
    until(&mut a_rx, "room-created").await?;
    let (mut b_tx, mut b_rx, b_sid) = open(right).await?;
    send(&mut b_tx, format!(r#"42["room-join","{room}"]"#)).await?;
    until(&mut b_rx, "room-joined").await?;
    until(&mut a_rx, "client-joined").await?;
    Ok(Pair {
        a: Side { tx: a_tx, rx: a_rx, head: head(&room, &b_sid), tail: "]".into() },
        b: Side { tx: b_tx, rx: b_rx, head: head(&room, &a_sid), tail: "]".into() },
    })
}

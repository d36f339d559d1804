//! matchbox_server pairs: both clients join one room (the URL path), each is assigned an id,
//! the first hears of the second; signals are `Signal` requests to the other's id.

use super::{unique, Pair, Side};
use crate::ws::{connect, until, Rx, Tx};

/// Joins `room`; returns the client and its assigned id.
async fn join(url: &str, room: &str) -> Result<(Tx, Rx, String), String> {
    let (tx, mut rx) = connect(&format!("{url}/{room}")).await?;
    let assigned = until(&mut rx, "IdAssigned").await?;
    let event: serde_json::Value = serde_json::from_str(&assigned).map_err(|e| e.to_string())?;
    let id = event["IdAssigned"].as_str().ok_or("no assigned id")?.to_owned();
    Ok((tx, rx, id))
}

fn head(receiver: &str) -> String {
    format!(r#"{{"Signal":{{"receiver":"{receiver}","data":"#)
}

/// Opens pair `i`.
pub(crate) async fn pair(left: &str, right: &str, i: usize) -> Result<Pair, String> {
    let room = unique("r", i);
    let (a_tx, mut a_rx, a_id) = join(left, &room).await?;
    let (b_tx, b_rx, b_id) = join(right, &room).await?;
    until(&mut a_rx, "NewPeer").await?;
    Ok(Pair {
        a: Side { tx: a_tx, rx: a_rx, head: head(&b_id), tail: "}}".into() },
        b: Side { tx: b_tx, rx: b_rx, head: head(&a_id), tail: "}}".into() },
    })
}

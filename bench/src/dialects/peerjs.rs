//! PeerJS server pairs: each client connects with its own peer id and waits for `OPEN`;
//! signals are `CANDIDATE` messages to the other's id (the server adds `src`).

use super::{unique, Pair, Side};
use crate::ws::{connect, until, Rx, Tx};

async fn open(url: &str, id: &str) -> Result<(Tx, Rx), String> {
    let (tx, mut rx) = connect(&format!("{url}/peerjs?key=peerjs&id={id}&token=t{id}")).await?;
    until(&mut rx, r#""OPEN""#).await?;
    Ok((tx, rx))
}

fn side((tx, rx): (Tx, Rx), dst: &str) -> Side {
    let head = format!(r#"{{"type":"CANDIDATE","dst":"{dst}","payload":"#);
    Side { tx, rx, head, tail: "}".into() }
}

/// Opens pair `i`.
pub(crate) async fn pair(left: &str, right: &str, i: usize) -> Result<Pair, String> {
    let (a_id, b_id) = (unique("a", i), unique("b", i));
    let a = open(left, &a_id).await?;
    let b = open(right, &b_id).await?;
    Ok(Pair { a: side(a, &b_id), b: side(b, &a_id) })
}

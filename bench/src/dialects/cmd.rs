//! `cmd` pairs: both register, the first calls the second, and both reach ACTIVE; signals are
//! `icecandidate` frames of the session.

use super::{unique, Pair, Side};
use crate::ws::{connect, send, until, Rx, Tx};

async fn register(url: &str, name: &str) -> Result<(Tx, Rx), String> {
    let (mut tx, mut rx) = connect(&format!("{url}/cmd")).await?;
    send(&mut tx, format!(r#"{{"cmd":"sId","sId":"{name}"}}"#)).await?;
    until(&mut rx, r#""cmd":"sId""#).await?;
    Ok((tx, rx))
}

/// Opens pair `i`.
pub(crate) async fn pair(left: &str, right: &str, i: usize) -> Result<Pair, String> {
    let (a_name, b_name) = (unique("a", i), unique("b", i));
    let (mut a, mut b) = (register(left, &a_name).await?, register(right, &b_name).await?);
    send(&mut a.0, format!(r#"{{"cmd":"session","opponentId":"{b_name}"}}"#)).await?;
    let opened = until(&mut a.1, r#""cmd":"session""#).await?;
    let session: serde_json::Value = serde_json::from_str(&opened).map_err(|e| e.to_string())?;
    let session = session["sessionId"].as_str().ok_or("no sessionId")?.to_owned();
    let frame = |cmd: &str, key: &str| {
        format!(
            r#"{{"cmd":"{cmd}","sessionId":"{session}","{key}":{{"type":"{key}","sdp":"v=0"}}}}"#
        )
    };
    send(&mut a.0, frame("call", "offer")).await?;
    until(&mut b.1, r#""cmd":"call""#).await?;
    send(&mut b.0, frame("accept", "answer")).await?;
    until(&mut a.1, r#""cmd":"accept""#).await?;
    for side in [&mut a.1, &mut b.1] {
        until(side, r#""state":3"#).await?;
    }
    let head = format!(r#"{{"cmd":"icecandidate","sessionId":"{session}","icecandidate":"#);
    let side = |(tx, rx): (Tx, Rx)| Side { tx, rx, head: head.clone(), tail: "}".into() };
    Ok(Pair { a: side(a), b: side(b) })
}

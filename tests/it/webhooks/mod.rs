//! Webhooks against a local HTTP receiver: a tenant's room created, participants joined and
//! left, room closed, posted once each by the room's home node, in order, signed with
//! HMAC-SHA256; a receiver that fails at first gets each event again until it takes it, and
//! another tenant's rooms (without a webhook) post nothing. [`death`]: the same across the
//! death of a room's home and of the node delivering the events. [`tls`]: a receiver behind
//! TLS.

mod death;
mod redis_loss;
mod tls;

use std::time::Duration;

use serde_json::{json, Value};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpListener,
    sync::mpsc,
};

use crate::{
    signals::{data, list_becomes, recv_skipping_lists, signal},
    support::{tokens, Client, Node, Redis, Scratch},
};

const SECRET: &str = "acme-hook-secret";

/// One POST the receiver took: its signature header and body.
#[derive(Debug)]
struct Posted {
    signature: String,
    /// The node that posted it (`X-Switchboard-Node`).
    node: String,
    body: Vec<u8>,
    /// Whether the receiver answered 200 (else 503, or nothing).
    taken: bool,
}

/// A receiver on a free port that answers 503 to its first `refuse` POSTs and 200 to the
/// rest, reporting each POST.
async fn receiver(refuse: usize) -> (String, mpsc::UnboundedReceiver<Posted>) {
    receiver_with(refuse, 0).await
}

/// A receiver that answers its first `silent` POSTs nothing (holding their connections open),
/// then 503 to the next `refuse` and 200 to the rest, reporting each POST.
async fn receiver_with(refuse: usize, silent: usize) -> (String, mpsc::UnboundedReceiver<Posted>) {
    serve(refuse, silent, None).await
}

/// A connection to the receiver, over TCP or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// The receiver of [`receiver_with`]; over TLS with `tls` (its URL is then
/// `https://localhost:…`).
async fn serve(
    refuse: usize,
    silent: usize,
    tls: Option<tokio_rustls::TlsAcceptor>,
) -> (String, mpsc::UnboundedReceiver<Posted>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bound");
    let port = listener.local_addr().expect("an address").port();
    let url = match tls {
        Some(_) => format!("https://localhost:{port}/hooks"),
        None => format!("http://127.0.0.1:{port}/hooks"),
    };
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (mut seen, mut held) = (0, Vec::new());
        while let Ok((tcp, _)) = listener.accept().await {
            let mut tcp: Box<dyn Stream> = match &tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => Box::new(stream),
                    Err(_) => continue,
                },
                None => Box::new(tcp),
            };
            let mut raw = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head, length) = loop {
                let n = tcp.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (String::new(), 0);
                }
                raw.extend_from_slice(&chunk[..n]);
                if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&raw[..end]).to_string();
                    raw.drain(..end + 4);
                    let length = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    break (head, length);
                }
            };
            while raw.len() < length {
                let n = tcp.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&chunk[..n]);
            }
            let header = |name: &str| {
                let name = format!("{name}: ");
                head.lines()
                    .find_map(|l| l.strip_prefix(name.as_str()))
                    .unwrap_or_default()
                    .to_owned()
            };
            let (signature, node) =
                (header("X-Switchboard-Signature"), header("X-Switchboard-Node"));
            seen += 1;
            if seen <= silent {
                let _ = tx.send(Posted { signature, node, body: raw, taken: false });
                held.push(tcp);
                continue;
            }
            let taken = seen > refuse + silent;
            let status = if taken { "200 OK" } else { "503 Service Unavailable" };
            let _ = tcp
                .write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes())
                .await;
            let _ = tcp.flush().await;
            let _ = tx.send(Posted { signature, node, body: raw, taken });
        }
    });
    (url, rx)
}

/// The receiver's next POST, within `within`, its signature checked (acme's), and the event
/// its body is.
async fn next_post(
    posted: &mut mpsc::UnboundedReceiver<Posted>,
    within: Duration,
) -> (Posted, Value) {
    let post = tokio::time::timeout(within, posted.recv())
        .await
        .unwrap_or_else(|_| panic!("the next POST within {within:?}"))
        .expect("the receiver runs");
    assert_eq!(post.signature, hmac_hex(&post.body), "signed with acme's secret");
    let event: Value = serde_json::from_slice(&post.body).expect("a JSON body");
    (post, event)
}

fn hmac_hex(body: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("a key");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// A config file in `dir`: auth on, tenant `acme` posting its events to `url`.
fn config(dir: &Scratch, url: &str) -> std::path::PathBuf {
    config_with(dir, url, "")
}

/// A config file in `dir` as [`config`] writes it, and the lines `extra`.
fn config_with(dir: &Scratch, url: &str, extra: &str) -> std::path::PathBuf {
    let config = dir.path().join("webhooks.toml");
    let text = format!(
        "[auth]\nsecret = \"default-secret\"\n[tenants.acme]\nsecret = \"acme-secret\"\n\
         webhook_url = \"{url}\"\nwebhook_secret = \"{SECRET}\"\n{extra}"
    );
    std::fs::write(&config, text).expect("written");
    config
}

/// A token of `tenant` (`None`: the default tenant) for `sub`, signed with its secret.
fn token(tenant: Option<&str>, sub: &str) -> String {
    let secret = tenant.map_or("default-secret".to_owned(), |t| format!("{t}-secret"));
    tokens::for_tenant(tenant, sub, &secret)
}

#[tokio::test]
async fn a_tenants_room_events_are_posted_once_each_in_order_by_the_home_node() {
    let (url, posted) = receiver(2).await;
    let dir = Scratch::new("webhooks");
    let config = config(&dir, &url);
    let args = ["--config", config.to_str().expect("utf-8")];
    let redis = Redis::start();
    let (n1, n2) = (Node::clustered(&redis, "n1", &args), Node::clustered(&redis, "n2", &args));
    six_events_of_a_room(&n1, &n2, posted).await;
}

#[tokio::test]
async fn a_single_nodes_room_events_are_posted_once_each_in_order() {
    let (url, posted) = receiver(2).await;
    let dir = Scratch::new("webhooks-one");
    let config = config(&dir, &url);
    let node = Node::with_args(&["--config", config.to_str().expect("utf-8"), "--node-id", "n1"]);
    six_events_of_a_room(&node, &node, posted).await;
}

/// acme's room r1, homed on `n1` (named `n1`): a joins (creating), b joins from `n2`, b leaves,
/// a leaves; the default tenant's room, beside it, posts nothing. The receiver refuses the
/// first two POSTs.
async fn six_events_of_a_room(n1: &Node, n2: &Node, mut posted: mpsc::UnboundedReceiver<Posted>) {
    let join = |user: &str, creating: bool| {
        let extra = if creating { json!({"op": {"roomCreating": true}}) } else { json!({}) };
        data("JOIN", user, &format!("{user}1"), extra)
    };
    let connect = |node: &Node, tenant, user: &str| {
        node.ws(&format!("/signals?token={}", token(tenant, user)))
    };
    // The default tenant's room: no webhook, nothing posted.
    let mut z = Client::connect_url(&connect(n1, None, "z")).await;
    signal(&mut z, "join", join("z", true)).await;
    assert_eq!(recv_skipping_lists(&mut z).await["c"], 200);
    let mut a = Client::connect_url(&connect(n1, Some("acme"), "a")).await;
    signal(&mut a, "join", join("a", true)).await;
    assert_eq!(recv_skipping_lists(&mut a).await["c"], 200);
    let mut b = Client::connect_url(&connect(n2, Some("acme"), "b")).await;
    signal(&mut b, "join", join("b", false)).await;
    assert_eq!(recv_skipping_lists(&mut b).await["c"], 200);
    signal(&mut b, "leave", data("LEAVE", "b", "b1", json!({}))).await;
    list_becomes(&mut a, &["a"]).await;
    signal(&mut a, "leave", data("LEAVE", "a", "a1", json!({}))).await;

    // Six events, each taken once (after two refusals, retried), in order, signed.
    let mut taken: Vec<Value> = Vec::new();
    let mut refused = 0;
    while taken.len() < 6 {
        let (post, event) = next_post(&mut posted, Duration::from_secs(15)).await;
        if post.taken {
            taken.push(event);
        } else {
            refused += 1;
        }
    }
    assert_eq!(refused, 2);
    let seen: Vec<_> = taken
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap_or("?").to_owned(),
                e["participant"].as_str().unwrap_or("").to_owned(),
                e["seq"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let expected = [
        ("room_created", "", 1),
        ("participant_joined", "a/a1", 2),
        ("participant_joined", "b/b1", 3),
        ("participant_left", "b/b1", 4),
        ("participant_left", "a/a1", 5),
        ("room_closed", "", 6),
    ];
    let expected: Vec<_> =
        expected.iter().map(|(e, p, s)| ((*e).to_owned(), (*p).to_owned(), *s)).collect();
    assert_eq!(seen, expected, "{taken:?}");
    for event in &taken {
        assert_eq!(
            (&event["tenant"], &event["dialect"], &event["room"], &event["node"]),
            (&json!("acme"), &json!("signals"), &json!("r1"), &json!("n1"))
        );
    }
    let ids: std::collections::HashSet<_> = taken.iter().map(|e| e["id"].to_string()).collect();
    assert_eq!(ids.len(), 6, "every event has its own id");
    // Nothing more: no duplicate, nothing of the default tenant's room. (Another event would
    // arrive within its first attempt; a room event's POST is made at once.)
    signal(&mut z, "leave", data("LEAVE", "z", "z1", json!({}))).await;
    signal(&mut a, "join", join("a", true)).await;
    assert_eq!(recv_skipping_lists(&mut a).await["c"], 200);
    let next = tokio::time::timeout(Duration::from_secs(15), posted.recv())
        .await
        .expect("a POST")
        .expect("runs");
    let next: Value = serde_json::from_slice(&next.body).expect("JSON");
    assert_eq!(
        (&next["event"], &next["tenant"], &next["seq"]),
        (&json!("room_created"), &json!("acme"), &json!(1)),
        "{next}"
    );
}

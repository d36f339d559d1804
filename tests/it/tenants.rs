//! Tenants: each tenant's tokens are checked with its own keys (acme's an HS256 secret, beta's
//! an ES256 public key from a JWKS file), and put its clients in its own namespace: the same
//! `cmd` sId, `signals` room, `mediasoup` room and peerName, or `rooms` room in two tenants
//! never meet, on one node and across three. Each tenant's limits refuse its own clients only;
//! its clients and rooms are counted across the cluster.

use std::path::PathBuf;

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::{
    signals::{data, recv_skipping_lists, signal},
    support::tokens::now,
    support::{
        client::{open_session, state_of, Ended},
        protoo::ProtooPeer,
        raw,
        scratch::Scratch,
        Client, Node, Place, Redis,
    },
};

const ACME_SECRET: &str = "acme-secret";

/// A token of tenant acme for `sub` (HS256, acme's secret).
fn acme(sub: &str) -> String {
    let claims = json!({"sub": sub, "exp": now() + 60, "tenant": "acme"});
    let key = EncodingKey::from_secret(ACME_SECRET.as_bytes());
    encode(&Header::default(), &claims, &key).expect("minted")
}

/// A token of tenant beta for `sub` (ES256, the private half of the JWKS's key `ec-1`).
fn beta(sub: &str) -> String {
    let claims = json!({"sub": sub, "exp": now() + 60, "tenant": "beta"});
    let key = EncodingKey::from_ec_pem(include_bytes!("../../src/auth/testdata/ec.pem"))
        .expect("the test key");
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("ec-1".into());
    encode(&header, &claims, &key).expect("minted")
}

/// A config file naming tenants acme and beta, with `extra` lines (limits) for acme.
fn config(dir: &Scratch, acme_extra: &str) -> PathBuf {
    let jwks = concat!(env!("CARGO_MANIFEST_DIR"), "/src/auth/testdata/jwks.json");
    let text = format!(
        "[tenants.acme]\nsecret = \"{ACME_SECRET}\"\n{acme_extra}\n\
         [tenants.beta]\njwks_file = \"{jwks}\"\n"
    );
    let path = dir.path().join("tenants.toml");
    std::fs::write(&path, text).expect("config written");
    path
}

#[tokio::test]
async fn two_tenants_same_names_never_meet_on_one_node() {
    let dir = Scratch::new("tenants");
    let path = config(&dir, "");
    let place = Place::one(&["--config", path.to_str().expect("utf-8")]);
    same_names_never_meet(&place, &[0, 0]).await;
}

#[tokio::test]
async fn two_tenants_same_names_never_meet_across_three_nodes() {
    let dir = Scratch::new("tenants");
    let path = config(&dir, "");
    let place = Place::three(&["--config", path.to_str().expect("utf-8")]);
    same_names_never_meet(&place, &[0, 2]).await;
}

/// The two tenants' clients connect to nodes `at[0]` (acme) and `at[1]` (beta).
async fn same_names_never_meet(place: &Place, at: &[usize; 2]) {
    let nodes = place.nodes();
    let url = |i: usize, path: &str, token: &str| nodes[at[i]].ws(&format!("{path}?token={token}"));

    // cmd: both tenants' alice register; each roster lists its own tenant only, and acme's
    // bob calling "alice" reaches acme's.
    let mut acme_alice = Client::register_url(&url(0, "/cmd", &acme("alice")), "alice").await;
    let mut beta_alice = Client::register_url(&url(1, "/cmd", &beta("alice")), "alice").await;
    let mut acme_bob = Client::register_url(&url(0, "/cmd", &acme("bob")), "bob").await;
    acme_alice.clu_until(|l| l.len() == 2 && state_of(l, "bob").is_some()).await;
    let session = open_session(&mut acme_bob, &mut acme_alice).await;
    assert_eq!(session.len(), 8);
    beta_alice.expect_nothing_but_clu_pending().await;
    let roster = beta_alice.clu_until(|_| true).await;
    assert_eq!(roster.len(), 1, "beta sees only its own: {roster:?}");
    assert_eq!(roster[0]["sId"], "alice");

    // signals: acme creates r1; beta finds no r1 (4001) and creates its own.
    let mut acme_user = Client::connect_url(&url(0, "/signals", &acme("u"))).await;
    let mut beta_user = Client::connect_url(&url(1, "/signals", &beta("u"))).await;
    let creating = json!({"op": {"roomCreating": true}});
    signal(&mut acme_user, "join", data("JOIN", "u", "u1", creating.clone())).await;
    assert_eq!(recv_skipping_lists(&mut acme_user).await["c"], 200);
    signal(&mut beta_user, "join", data("JOIN", "u", "u1", json!({}))).await;
    assert_eq!(recv_skipping_lists(&mut beta_user).await["c"], 4001, "acme's r1 is not beta's");
    signal(&mut beta_user, "join", data("JOIN", "u", "u1", creating)).await;
    assert_eq!(recv_skipping_lists(&mut beta_user).await["c"], 200, "beta's own r1");

    // mediasoup: the same peerName in the same roomId, once per tenant: no 409, and neither
    // sees the other.
    let join = json!({"method": "join", "peerName": "p", "rtpCapabilities": {"codecs": []}});
    let mut peers = Vec::new();
    for (i, token) in [acme("p"), beta("p")].iter().enumerate() {
        let mut peer =
            ProtooPeer::connect(&url(i, "/mediasoup", &format!("{token}&roomId=m&peerName=p")))
                .await
                .expect("admitted");
        let joined = peer.request(join.clone()).await.expect("joined");
        assert_eq!(joined["peers"], json!([]), "{joined}");
        peers.push(peer);
    }
}

#[test]
fn two_tenants_same_socket_io_rooms_stay_apart_across_nodes() {
    use crate::support::sio::{SioDriver, Transports};
    let dir = Scratch::new("tenants");
    let path = config(&dir, "");
    let place = Place::three(&["--config", path.to_str().expect("utf-8")]);
    let mut driver = SioDriver::start();
    let clients = [
        ("acme-owner", 4, 0, acme("o")),
        ("acme-guest", 2, 1, acme("g")),
        ("beta-owner", 4, 2, beta("o")),
    ];
    for (name, version, node, token) in &clients {
        let options = json!({"query": {"token": token}});
        let url = place.nodes()[*node].http();
        driver.connect_with(name, *version, &url, Transports::Default, options).expect("admitted");
    }
    driver.emit("acme-owner", "room-create", json!(["r1"]));
    assert_eq!(driver.expect("acme-owner", "room-created"), json!(["r1"]));
    // beta's r1 does not exist yet, then is beta's own.
    driver.emit("beta-owner", "room-join", json!(["r1"]));
    assert_eq!(driver.expect("beta-owner", "room-not-exists"), json!(["r1"]));
    driver.emit("beta-owner", "room-create", json!(["r1"]));
    assert_eq!(driver.expect("beta-owner", "room-created"), json!(["r1"]));
    // acme's guest joins acme's r1: acme's owner is told, beta's is not.
    driver.emit("acme-guest", "room-join", json!(["r1"]));
    let joined: Value = driver.expect("acme-guest", "room-joined");
    assert_eq!(joined[2].as_array().map(Vec::len), Some(1), "{joined}");
    driver.expect("acme-owner", "client-joined");
    driver.emit("beta-owner", "room-leave", json!(["r1"]));
    driver.expect("beta-owner", "room-left");
    driver.emit("acme-guest", "room-leave", json!(["r1"]));
    driver.expect("acme-guest", "room-left");
    assert_eq!(driver.expect("acme-owner", "client-left")[0], "r1", "only acme's guest");
}

#[tokio::test]
async fn a_tenant_over_its_clients_or_rate_is_refused_and_others_are_not() {
    let dir = Scratch::new("tenants");
    let path = config(&dir, "max_clients = 2\nmax_messages_per_s = 20");
    let node = Node::with_args(&["--config", path.to_str().expect("utf-8")]);
    let cmd = |token: String| node.ws(&format!("/cmd?token={token}"));
    let mut first = Client::register_url(&cmd(acme("a1")), "a1").await;
    let _second = Client::register_url(&cmd(acme("a2")), "a2").await;
    let (status, body) = raw::refused(&node, &format!("/cmd?token={}", acme("a3"))).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body, "tenant acme has its 2 clients\n");
    // beta has no limit.
    let mut betas = Vec::new();
    for i in 0..3 {
        betas.push(Client::register_url(&cmd(beta(&format!("b{i}"))), &format!("b{i}")).await);
    }
    // acme's clients together past 20 messages a second: the sender is closed (1008); beta's
    // clients go on.
    for _ in 0..60 {
        if first.try_send_text(r#"{"cmd":"no-such-cmd"}"#).await.is_err() {
            break;
        }
    }
    let ended = first.expect_end().await;
    assert!(matches!(ended, Ended::Close(1008)), "{ended:?}");
    betas[0].expect_nothing_but_clu_pending().await;
    // Its seat is free again, once the node has seen it go.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while tokio_tungstenite::connect_async(cmd(acme("a3"))).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "the closed client's seat stays taken");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_token_signed_with_another_tenants_key_or_naming_no_tenant_is_refused() {
    let dir = Scratch::new("tenants");
    let path = config(&dir, "");
    let node = Node::with_args(&["--config", path.to_str().expect("utf-8")]);
    let claims = |tenant: Option<&str>| {
        let mut claims = json!({"sub": "x", "exp": now() + 60});
        if let Some(tenant) = tenant {
            claims["tenant"] = json!(tenant);
        }
        claims
    };
    let key = EncodingKey::from_secret(ACME_SECRET.as_bytes());
    for (why, claims, status) in [
        ("beta's claim, acme's key", claims(Some("beta")), 401),
        ("no tenant: the default has no key here", claims(None), 401),
        ("an unknown tenant", claims(Some("gamma")), 401),
        ("acme's", claims(Some("acme")), 101),
    ] {
        let token = encode(&Header::default(), &claims, &key).expect("minted");
        let got =
            match tokio_tungstenite::connect_async(node.ws(&format!("/cmd?token={token}"))).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
                Err(e) => panic!("{why}: {e}"),
            };
        assert_eq!(got, status, "{why}");
    }
}

#[tokio::test]
async fn a_tenant_over_its_rooms_is_refused_until_one_closes() {
    let dir = Scratch::new("tenants");
    let path = config(&dir, "max_rooms = 1");
    let node = Node::with_args(&["--config", path.to_str().expect("utf-8")]);
    let creating = |user: &str, rid: &str| {
        let mut join =
            data("JOIN", user, &format!("{user}1"), json!({"op": {"roomCreating": true}}));
        join["rid"] = json!(rid);
        join
    };
    let mut a = Client::connect_url(&node.ws(&format!("/signals?token={}", acme("a")))).await;
    signal(&mut a, "join", creating("a", "r1")).await;
    assert_eq!(recv_skipping_lists(&mut a).await["c"], 200);
    // A second acme room, in any dialect: refused, in the dialect's terms.
    let mut b = Client::connect_url(&node.ws(&format!("/signals?token={}", acme("b")))).await;
    signal(&mut b, "join", creating("b", "r2")).await;
    let refused = recv_skipping_lists(&mut b).await;
    assert_eq!(refused["c"], 4051, "{refused}");
    assert!(refused["b"]["msg"].as_str().is_some_and(|m| m.contains("all the rooms")), "{refused}");
    let url = node.ws(&format!("/mediasoup?roomId=m&peerName=p&token={}", acme("p")));
    let mut p = ProtooPeer::connect(&url).await.expect("admitted");
    let join = json!({"method": "join", "peerName": "p", "rtpCapabilities": {"codecs": []}});
    assert_eq!(p.request(join.clone()).await.err().map(|e| e.0), Some(429));
    // beta is not acme.
    let mut c = Client::connect_url(&node.ws(&format!("/signals?token={}", beta("c")))).await;
    signal(&mut c, "join", creating("c", "r2")).await;
    assert_eq!(recv_skipping_lists(&mut c).await["c"], 200);
    // acme's room closes: a place again.
    signal(&mut a, "leave", data("LEAVE", "a", "a1", json!({"rid": "r1"}))).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        signal(&mut b, "join", creating("b", "r2")).await;
        let answer = recv_skipping_lists(&mut b).await;
        if answer["c"] == 200 {
            break;
        }
        assert_eq!(answer["c"], 4051, "{answer}");
        assert!(tokio::time::Instant::now() < deadline, "acme's closed room still counts");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[test]
fn a_socket_io_client_over_its_tenants_clients_gets_a_connect_error() {
    use crate::support::sio::{SioDriver, Transports};
    let dir = Scratch::new("tenants");
    let path = config(&dir, "max_clients = 1");
    let node = Node::with_args(&["--config", path.to_str().expect("utf-8")]);
    let mut driver = SioDriver::start();
    let url = node.http();
    let auth = |sub: &str| json!({"auth": {"token": acme(sub)}});
    driver.connect_with("first", 4, &url, Transports::Default, auth("a1")).expect("admitted");
    let refused = driver.connect_with("second", 4, &url, Transports::Default, auth("a2"));
    assert_eq!(refused, Err("tenant acme has its 1 clients".to_owned()));
    // beta is not acme.
    let beta_auth = json!({"auth": {"token": beta("b1")}});
    driver.connect_with("beta", 4, &url, Transports::Default, beta_auth).expect("admitted");
}

/// acme's signals session `user` (session `<user>1`) on `node`.
async fn acme_session(node: &Node, user: &str) -> Client {
    Client::connect_url(&node.ws(&format!("/signals?token={}", acme(user)))).await
}

/// `client` (acme's `user`) asks to create room `rid`: the ack's code.
async fn create(client: &mut Client, user: &str, rid: &str) -> Value {
    let op = json!({"op": {"roomCreating": true}, "rid": rid});
    signal(client, "join", data("JOIN", user, &format!("{user}1"), op)).await;
    recv_skipping_lists(client).await["c"].clone()
}

/// The status of a `cmd` handshake of acme's `sub` on `node`: 101 if admitted (then closed).
async fn cmd_handshake(node: &Node, sub: &str) -> u16 {
    match tokio_tungstenite::connect_async(node.ws(&format!("/cmd?token={}", acme(sub)))).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => r.status().as_u16(),
        Err(e) => panic!("{e}"),
    }
}

/// Waits (up to 10 s, trying every 100 ms) until a `cmd` handshake of acme's `sub` on `node`
/// gets `status`.
async fn until_handshake(node: &Node, sub: &str, status: u16) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while cmd_handshake(node, sub).await != status {
        assert!(tokio::time::Instant::now() < deadline, "{sub}'s handshake never {status}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Waits (up to 10 s, trying every 100 ms) until acme's `b` (`client`) asking to create room
/// `rid` gets `code`; a room it creates meanwhile it leaves again.
async fn until_create(client: &mut Client, rid: &str, code: u64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let got = create(client, "b", rid).await.as_u64();
        if got == Some(code) {
            return;
        }
        match got {
            Some(200) => {
                signal(client, "leave", data("LEAVE", "b", "b1", json!({"rid": rid}))).await;
            }
            Some(4051) => {}
            other => panic!("creating {rid}: {other:?}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "creating {rid} never got {code}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_tenants_clients_and_rooms_are_limited_across_the_cluster() {
    let dir = Scratch::new("tenants-cluster");
    let path = config(&dir, "max_clients = 3\nmax_rooms = 1");
    let args =
        ["--config", path.to_str().expect("utf-8"), "--signals-heartbeat-timeout-ms", "60000"];
    let redis = Redis::start();
    let (n1, n2) = (Node::clustered(&redis, "n1", &args), Node::clustered(&redis, "n2", &args));
    // acme's one room, r1, on n2; two more clients on n1: its three.
    let mut holder = acme_session(&n2, "h").await;
    assert_eq!(create(&mut holder, "h", "r1").await, 200);
    let mut b = acme_session(&n1, "b").await;
    let _a = Client::register_url(&n1.ws(&format!("/cmd?token={}", acme("a"))), "a").await;
    // A fourth client on n1 is refused once n1 has heard from n2 (each admitted try leaves).
    until_handshake(&n1, "c", 429).await;
    let (status, body) = raw::refused(&n1, &format!("/cmd?token={}", acme("c"))).await;
    assert_eq!((status, body.as_str()), (429, "tenant acme has its 3 clients\n"));
    // A second room, on n1: refused (4051) while r1 is open on n2.
    until_create(&mut b, "r2", 4051).await;
    // r1 closes: n1 hears of it and lets b create r2.
    signal(&mut holder, "leave", data("LEAVE", "h", "h1", json!({"rid": "r1"}))).await;
    until_create(&mut b, "r2", 200).await;
    // The holder goes: a third client on n1 is admitted.
    drop(holder);
    until_handshake(&n1, "c", 101).await;
}

/// The messages per second `node` lets acme's clients send (its share of acme's rate).
async fn rate_share(node: &Node) -> u64 {
    let (_, text) = crate::support::node::http_get(node.addr, "/metrics").await.expect("answers");
    crate::support::node::metric(&text, r#"switchboard_tenant_message_rate{tenant="acme"}"#) as u64
}

/// Waits (up to 15 s) until `node`'s share of acme's rate is `share`.
async fn until_share(node: &Node, share: u64) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while rate_share(node).await != share {
        assert!(tokio::time::Instant::now() < deadline, "{}'s share never {share}", node.id());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_tenants_message_rate_is_shared_across_the_cluster() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    const UNKNOWN: &str = r#"{"cmd":"no-such-cmd"}"#;
    let dir = Scratch::new("tenants-rate");
    let path = config(&dir, "max_messages_per_s = 20");
    let args = ["--config", path.to_str().expect("utf-8")];
    let redis = Redis::start();
    let (n1, n2) = (Node::clustered(&redis, "n1", &args), Node::clustered(&redis, "n2", &args));
    assert_eq!(rate_share(&n1).await, 20, "alone, all of it");
    // A client on n2 sends 14 messages a second (its node lets it: n1 sends none): n1 is left
    // its even share, 10.
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let url = n2.ws(&format!("/cmd?token={}", acme("steady")));
    let steady = tokio::spawn(async move {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("admitted");
        let (mut sink, mut stream) = ws.split();
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(70));
        loop {
            tokio::select! {
                _ = &mut stopped => return,
                _ = tick.tick() => {
                    sink.send(Message::text(UNKNOWN)).await.expect("the steady client stays");
                }
                frame = stream.next() => {
                    assert!(matches!(frame, Some(Ok(Message::Text(_)))), "{frame:?}");
                }
            }
        }
    });
    until_share(&n1, 10).await;
    // 15 at once from a client of n1: past its share, closed as a client over its rate is.
    let mut burst = Client::connect_url(&n1.ws(&format!("/cmd?token={}", acme("b")))).await;
    for _ in 0..15 {
        if burst.try_send_text(UNKNOWN).await.is_err() {
            break;
        }
    }
    let ended = burst.expect_end().await;
    assert!(matches!(ended, Ended::Close(1008)), "{ended:?}");
    // The steady client stops: n1 has all of it again, and 15 at once pass.
    stop.send(()).expect("the steady client runs");
    steady.await.expect("the steady client was never cut off");
    until_share(&n1, 20).await;
    let mut burst = Client::connect_url(&n1.ws(&format!("/cmd?token={}", acme("c")))).await;
    for _ in 0..15 {
        burst.send_text(UNKNOWN).await;
    }
    for _ in 0..15 {
        assert_eq!(burst.recv().await["cmd"], "error");
    }
}

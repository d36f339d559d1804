//! Access tokens (JWT, HS256) with auth on: each refusal at the handshake (401) on every
//! WebSocket endpoint, and a token's grant bounding what each dialect lets its client do
//! (another identity or a room outside the grant gets the dialect's own refusal), on one node
//! and across nodes behind nginx.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};

use crate::{
    signals::{data, on_one_node_and_three, recv_skipping_lists, signal},
    support::tokens::now,
    support::{protoo::ProtooPeer, Client, Place},
};

const SECRET: &str = "test-tenant-secret";
const ARGS: [&str; 6] = [
    "--auth-secret",
    SECRET,
    "--signals-heartbeat-timeout-ms",
    "60000",
    "--media-announce-ip",
    "127.0.0.1",
];

/// A token as a backend mints it.
fn mint(claims: Value, secret: &str) -> String {
    encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes()))
        .expect("minted")
}

/// A token for `sub`, valid for a minute, granting `rooms` (all, if `None`).
fn token(sub: &str, rooms: Option<&[&str]>) -> String {
    let mut claims = json!({"sub": sub, "exp": now() + 60});
    if let Some(rooms) = rooms {
        claims["rooms"] = json!(rooms);
    }
    mint(claims, SECRET)
}

/// The HTTP status of a WebSocket handshake to `url`.
async fn status(url: &str) -> u16 {
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => 101,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("the handshake failed: {e}"),
    }
}

on_one_node_and_three!(a_token_bounds_identities_and_rooms_in_every_dialect, ARGS);

#[tokio::test]
async fn every_refused_token_is_401_at_the_handshake() {
    let place = Place::one(&ARGS);
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let unsigned =
        format!("{}.{}.", b64(json!({"alg": "none"})), b64(json!({"sub": "a", "exp": now() + 60})));
    let refused = [
        ("no token", None),
        ("malformed", Some("x.y.z".to_owned())),
        ("expired", Some(mint(json!({"sub": "a", "exp": now() - 120}), SECRET))),
        (
            "not yet valid",
            Some(mint(json!({"sub": "a", "exp": now() + 600, "nbf": now() + 300}), SECRET)),
        ),
        ("another key", Some(mint(json!({"sub": "a", "exp": now() + 60}), "not-ours"))),
        ("alg none", Some(unsigned)),
    ];
    for path in ["/cmd", "/signals"] {
        for (why, token) in &refused {
            let url = match token {
                Some(t) => place.ws(&format!("{path}?token={t}")),
                None => place.ws(path),
            };
            assert_eq!(status(&url).await, 401, "{path}: {why}");
        }
        assert_eq!(status(&place.ws(&format!("{path}?token={}", token("a", None)))).await, 101);
    }
    for (why, token) in &refused {
        let query = token.as_ref().map_or(String::new(), |t| format!("&token={t}"));
        let url = place.ws(&format!("/mediasoup?roomId=r&peerName=a{query}"));
        assert_eq!(ProtooPeer::connect(&url).await.err(), Some(401), "mediasoup: {why}");
    }
}

async fn a_token_bounds_identities_and_rooms_in_every_dialect(place: &Place) {
    // cmd: the sId is the token's.
    let url = place.ws(&format!("/cmd?token={}", token("alice", None)));
    let mut alice = Client::connect_url(&url).await;
    alice.send(json!({"cmd": "sId", "sId": "bob"})).await;
    alice.expect_error(9102).await;
    alice.send(json!({"cmd": "sId", "sId": "alice"})).await;
    assert_eq!(alice.expect("sId").await["sId"], "alice");

    // signals: the userId is the token's, the room one it grants: 4051 otherwise, and the
    // connection goes on.
    let url = place.ws(&format!("/signals?token={}", token("carol", Some(&["r1"]))));
    let mut carol = Client::connect_url(&url).await;
    let join = |user: &str, rid: &str| {
        let mut join =
            data("JOIN", user, &format!("{user}1"), json!({"op": {"roomCreating": true}}));
        join["rid"] = json!(rid);
        join
    };
    signal(&mut carol, "join", join("dave", "r1")).await;
    let ack = recv_skipping_lists(&mut carol).await;
    assert_eq!((ack["c"].as_u64(), ack["s"].as_str()), (Some(4051), Some("JOIN")), "{ack}");
    signal(&mut carol, "join", join("carol", "r2")).await;
    assert_eq!(recv_skipping_lists(&mut carol).await["c"], 4051, "a room outside the grant");
    signal(&mut carol, "join", join("carol", "r1")).await;
    assert_eq!(recv_skipping_lists(&mut carol).await["c"], 200, "the granted room");

    // mediasoup: the URL's peerName and roomId are the token's, or the handshake is 403.
    let grant = token("erin", Some(&["m1"]));
    let url = |room: &str, peer: &str| {
        place.ws(&format!("/mediasoup?roomId={room}&peerName={peer}&token={grant}"))
    };
    assert_eq!(ProtooPeer::connect(&url("m1", "frank")).await.err(), Some(403));
    assert_eq!(ProtooPeer::connect(&url("m2", "erin")).await.err(), Some(403));
    let mut erin = ProtooPeer::connect(&url("m1", "erin")).await.expect("granted");
    let join = json!({"method": "join", "peerName": "erin", "rtpCapabilities": {"codecs": []}});
    erin.request(join).await.expect("joined");
}

#[test]
fn socket_io_clients_bring_their_token_in_the_url_or_v4_connect_and_rooms_are_granted() {
    use crate::support::sio::{SioDriver, Transports};
    let node = crate::support::Node::with_args(&ARGS);
    let url = node.http();
    let mut driver = SioDriver::start();
    let granted = token("gina", Some(&["g1"]));
    // No token: a 2.x client's handshake is refused; a 4.x client's CONNECT is.
    for (name, version) in [("v2-none", 2), ("v4-none", 4)] {
        let refused = driver.connect_with(name, version, &url, Transports::Polling, json!({}));
        assert!(refused.is_err(), "{name}: {refused:?}");
    }
    let forged = mint(json!({"sub": "gina", "exp": now() + 60}), "not-ours");
    let refused = driver.connect_with(
        "v4-forged",
        4,
        &url,
        Transports::Polling,
        json!({"auth": {"token": forged}}),
    );
    assert!(refused.expect_err("forged").contains("signature"));
    // 2.x: in the URL; 4.x: in its CONNECT's auth, or in the URL.
    let options = [
        ("v2", 2, json!({"query": {"token": granted}})),
        ("v4", 4, json!({"auth": {"token": granted}})),
        ("v4-url", 4, json!({"query": {"token": granted}})),
    ];
    for (name, version, options) in options {
        driver.connect_with(name, version, &url, Transports::Default, options).expect("granted");
        driver.emit(name, "room-create", json!(["g2"]));
        let refused = driver.expect(name, "error");
        assert_eq!(refused, json!(["not permitted by the access token"]), "{name}");
    }
    driver.emit("v2", "room-create", json!(["g1"]));
    assert_eq!(driver.expect("v2", "room-created"), json!(["g1"]));
    driver.emit("v4", "room-join", json!(["g1"]));
    driver.expect("v4", "room-joined");
}

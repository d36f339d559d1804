//! TURN credentials the node mints, checked by a real coturn (Debian's `coturn`, started here
//! with `use-auth-secret` on loopback): an allocation with credentials from `GET /turn` (for
//! the bearer of an access token) succeeds; forged and expired ones are refused. The `signals`
//! JOIN ack hands them out too (`icfg.turn`).

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

use crate::{
    signals::{data, recv_skipping_lists, signal},
    support::{
        node::http_bearer,
        scratch::{free_port, tool},
        Client, KillOnDrop, Node, Scratch,
    },
};

const TURN_SECRET: &str = "shared-with-coturn";
const AUTH_SECRET: &str = "tokens-secret";

/// A coturn on loopback, its own config, pid file and database in a scratch directory.
struct Coturn {
    port: u16,
    _process: KillOnDrop,
    _dir: Scratch,
}

impl Coturn {
    async fn start() -> Self {
        let dir = Scratch::new("coturn");
        let path = |name: &str| -> String { dir.path().join(name).display().to_string() };
        std::fs::write(path("turnserver.conf"), "").expect("an empty config");
        let port = free_port();
        let mut process = Command::new(tool("turnserver"))
            .args(["-c", &path("turnserver.conf"), "--pidfile", &path("turnserver.pid")])
            .args(["--db", &path("turndb"), "--log-file", "stdout"])
            .args(["--use-auth-secret", &format!("--static-auth-secret={TURN_SECRET}")])
            .args(["--realm=switchboard", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1"])
            .arg(format!("--listening-port={port}"))
            .args(["--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("turnserver starts");
        // Ready once its servers are up, as it logs; then it answers a STUN binding request.
        let stdout = process.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Total General servers") {
                    let _ = tx.send(());
                }
            }
        });
        let coturn = Self { port, _process: KillOnDrop(process), _dir: dir };
        let ready = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10)));
        ready.await.expect("waited").expect("coturn is up in time");
        let mut stun = tokio::process::Command::new(tool("turnutils_stunclient"));
        stun.args(["-p", &port.to_string(), "127.0.0.1"]);
        assert!(run(&mut stun).await, "coturn answers STUN");
        coturn
    }

    /// Whether an allocation (with a relayed round trip) succeeds with these credentials.
    async fn allocates(&self, username: &str, credential: &str) -> bool {
        let mut uclient = tokio::process::Command::new(tool("turnutils_uclient"));
        uclient.args(["-u", username, "-w", credential, "-p", &self.port.to_string()]).args([
            "-n",
            "1",
            "-m",
            "1",
            "-y",
            "-e",
            "127.0.0.1",
            "127.0.0.1",
        ]);
        run(&mut uclient).await
    }
}

/// Whether `command` exits 0 (within 30 s; killed, and false, past it).
async fn run(command: &mut tokio::process::Command) -> bool {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("it runs");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await;
    matches!(status, Ok(Ok(status)) if status.success())
}

/// `GET /turn` with `bearer`: the status and the body.
async fn get_turn(node: &Node, bearer: Option<&str>) -> (u16, String) {
    http_bearer(node.addr, "GET", "/turn", bearer).await.expect("the node answers HTTP")
}

fn token(sub: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"sub": sub, "exp": now + 60});
    let key = jsonwebtoken::EncodingKey::from_secret(AUTH_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("minted")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coturn_accepts_the_credentials_the_node_mints_and_refuses_forged_and_expired_ones() {
    let coturn = Coturn::start().await;
    let url = format!("turn:127.0.0.1:{}", coturn.port);
    let node = Node::with_args(&[
        "--auth-secret",
        AUTH_SECRET,
        "--turn-secret",
        TURN_SECRET,
        "--turn-urls",
        &url,
        "--turn-ttl-s",
        "600",
    ]);
    assert_eq!(get_turn(&node, None).await.0, 401, "no access token");
    assert_eq!(get_turn(&node, Some("forged.token.here")).await.0, 401);
    let (status, body) = get_turn(&node, Some(&token("alice"))).await;
    assert_eq!(status, 200, "{body}");
    let minted: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!((&minted["ttl"], &minted["urls"]), (&json!(600), &json!([url])));
    let username = minted["username"].as_str().expect("a username").to_owned();
    assert!(username.ends_with(":alice"), "{username}");
    let credential = minted["credential"].as_str().expect("a credential").to_owned();

    // The signals JOIN ack carries credentials for the session's user.
    let mut bob = Client::connect_url(&node.ws(&format!("/signals?token={}", token("bob")))).await;
    signal(&mut bob, "join", data("JOIN", "bob", "bob1", json!({"op": {"roomCreating": true}})))
        .await;
    let ack = recv_skipping_lists(&mut bob).await;
    let turn = &ack["b"]["icfg"]["turn"];
    assert!(turn["username"].as_str().is_some_and(|u| u.ends_with(":bob")), "{ack}");
    assert_eq!(turn["urls"], json!([url]));

    let expiry: u64 = username.split(':').next().and_then(|e| e.parse().ok()).expect("expiry");
    let expired = format!("{}:alice", expiry - 7200);
    let expired_credential = switchboard::auth::turn::credential(TURN_SECRET.as_bytes(), &expired);
    let checked = (
        coturn.allocates(&username, &credential).await,
        coturn.allocates(&username, "Zm9yZ2VkIGNyZWRlbnRpYWw=").await,
        coturn.allocates(&expired, &expired_credential).await,
    );
    assert_eq!(checked, (true, false, false), "(minted, forged, expired)");
}

#[tokio::test]
async fn without_turn_configured_there_is_no_turn_endpoint_and_no_credentials() {
    let node = Node::start();
    assert_eq!(get_turn(&node, None).await.0, 404);
    let mut carol = Client::connect_url(&node.ws("/signals")).await;
    signal(&mut carol, "join", data("JOIN", "carol", "c1", json!({"op": {"roomCreating": true}})))
        .await;
    let ack = recv_skipping_lists(&mut carol).await;
    assert_eq!(ack["b"]["icfg"], json!({"is": []}), "{ack}");
}

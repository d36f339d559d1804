//! The admin API against three clustered nodes with two tenants: any node lists every node
//! with its clients by dialect and tenant, and every room with its home and members (per
//! tenant and dialect); it drains another node, whose clients are closed with 1001. Without
//! the admin token it answers 401; with none configured, 404.

use serde_json::{json, Value};

use crate::{
    signals::{data, list_becomes, recv_skipping_lists, signal},
    support::{
        client::Ended, node::http_bearer, protoo::ProtooPeer, tokens, Client, Node, Redis, Scratch,
    },
};

const ADMIN: &str = "operators-token";

/// A token of `tenant` (`None`: the default tenant) for `sub`, signed with its secret.
fn token(tenant: Option<&str>, sub: &str) -> String {
    let secret = tenant.map_or("default-secret".to_owned(), |t| format!("{t}-secret"));
    tokens::for_tenant(tenant, sub, &secret)
}

/// `GET path` on `node` as an operator: the status and the JSON body.
async fn admin(node: &Node, method: &str, path: &str, bearer: Option<&str>) -> (u16, Value) {
    let (status, body) = http_bearer(node.addr, method, path, bearer).await.expect("answers");
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

/// Waits until `GET path` on `node` answers a body `pred` holds for; returns it.
async fn admin_until(node: &Node, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (status, body) = admin(node, "GET", path, Some(ADMIN)).await;
        if status == 200 && pred(&body) {
            return body;
        }
        assert!(tokio::time::Instant::now() < deadline, "{path} never satisfied: {body}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn any_node_lists_the_clusters_nodes_and_rooms_per_tenant_and_drains_a_node() {
    let dir = Scratch::new("admin");
    let config = dir.path().join("tenants.toml");
    let text = "[auth]\nsecret = \"default-secret\"\n[tenants.acme]\nsecret = \"acme-secret\"\n";
    std::fs::write(&config, text).expect("written");
    let args = ["--config", config.to_str().expect("utf-8"), "--admin-token", ADMIN];
    let redis = Redis::start();
    let nodes: Vec<_> =
        ["n1", "n2", "n3"].iter().map(|id| Node::clustered(&redis, id, &args)).collect();
    let [n1, n2, n3] = [&nodes[0], &nodes[1], &nodes[2]];
    // Every node sees the two others before asking.
    admin_until(n1, "/admin/nodes", |b| b["nodes"].as_array().is_some_and(|n| n.len() == 3)).await;

    // No token, a wrong one: 401.
    assert_eq!(admin(n1, "GET", "/admin/nodes", None).await.0, 401);
    assert_eq!(admin(n1, "GET", "/admin/rooms", Some("guess")).await.0, 401);

    // acme: a cmd client on n1, a signals room on n2 with members on n2 and n3; the default
    // tenant: a signals room of the same name on n3, a mediasoup room on n1.
    let mut alice = Client::register_url(
        &n1.ws(&format!("/cmd?token={}", token(Some("acme"), "alice"))),
        "alice",
    )
    .await;
    let join = |user: &str, creating: bool| {
        let extra = if creating { json!({"op": {"roomCreating": true}}) } else { json!({}) };
        data("JOIN", user, &format!("{user}1"), extra)
    };
    let mut a =
        Client::connect_url(&n2.ws(&format!("/signals?token={}", token(Some("acme"), "a")))).await;
    signal(&mut a, "join", join("a", true)).await;
    assert_eq!(recv_skipping_lists(&mut a).await["c"], 200);
    let mut b =
        Client::connect_url(&n3.ws(&format!("/signals?token={}", token(Some("acme"), "b")))).await;
    signal(&mut b, "join", join("b", false)).await;
    assert_eq!(recv_skipping_lists(&mut b).await["c"], 200);
    let mut d = Client::connect_url(&n3.ws(&format!("/signals?token={}", token(None, "d")))).await;
    signal(&mut d, "join", join("d", true)).await;
    assert_eq!(recv_skipping_lists(&mut d).await["c"], 200);
    let url = n1.ws(&format!("/mediasoup?roomId=m&peerName=p&token={}", token(None, "p")));
    let mut p = ProtooPeer::connect(&url).await.expect("admitted");
    let joined = json!({"method": "join", "peerName": "p", "rtpCapabilities": {"codecs": []}});
    p.request(joined).await.expect("joined");

    // Any node answers for all: n3 lists acme's rooms, and every room of the cluster.
    let acme = admin_until(n3, "/admin/rooms?tenant=acme", |b| {
        b["rooms"].as_array().is_some_and(|r| !r.is_empty())
    })
    .await;
    assert_eq!(
        acme["rooms"],
        json!([{"dialect": "signals", "tenant": "acme", "room": "r1", "home": "n2", "members": 2, "members_at_home": 1}])
    );
    let all = admin(n3, "GET", "/admin/rooms", Some(ADMIN)).await.1;
    let rooms: Vec<_> = all["rooms"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            format!(
                "{}/{}/{}@{}",
                r["tenant"].as_str().unwrap_or("?"),
                r["dialect"].as_str().unwrap_or("?"),
                r["room"].as_str().unwrap_or("?"),
                r["home"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(rooms, ["/mediasoup/m@n1", "/signals/r1@n3", "acme/signals/r1@n2"], "{all}");
    let mediasoup = admin(n2, "GET", "/admin/rooms?dialect=mediasoup", Some(ADMIN)).await.1;
    assert_eq!(mediasoup["rooms"].as_array().map(Vec::len), Some(1), "{mediasoup}");

    // Nodes: each with its clients by dialect and tenant.
    let listed = admin(n2, "GET", "/admin/nodes", Some(ADMIN)).await.1;
    let by_node = |id: &str| {
        listed["nodes"]
            .as_array()
            .and_then(|n| n.iter().find(|n| n["node"] == id))
            .cloned()
            .expect("listed")
    };
    let n1_listed = by_node("n1");
    assert_eq!(
        (n1_listed["clients"].as_u64(), n1_listed["rooms"].as_u64()),
        (Some(2), Some(1)),
        "{n1_listed}"
    );
    let mut by: Vec<_> = n1_listed["clients_by"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| (c["dialect"].to_string(), c["tenant"].to_string(), c["clients"].as_u64()))
        .collect();
    by.sort();
    assert_eq!(
        by,
        [
            ("\"cmd\"".into(), "\"acme\"".into(), Some(1)),
            ("\"mediasoup\"".into(), "\"\"".into(), Some(1))
        ]
    );
    assert_eq!(by_node("n3")["clients"], 2);
    assert!(by_node("n3")["member"].as_str().is_some_and(|m| m.starts_with("n3~")));

    // The metrics: clients and messages by dialect and tenant, refusals by status, cross-node
    // frames, Redis's round trip.
    let (status, _) = crate::support::raw::refused(n1, "/cmd").await;
    assert_eq!(status, 401);
    let metrics = |node: &Node| {
        let addr = node.addr;
        async move { http_bearer(addr, "GET", "/metrics", None).await.expect("answers").1 }
    };
    let value = crate::support::node::metric;
    let on_n1 = metrics(n1).await;
    assert_eq!(value(&on_n1, r#"switchboard_clients{dialect="cmd",tenant="acme"}"#), 1.0);
    assert_eq!(value(&on_n1, r#"switchboard_clients{dialect="mediasoup",tenant=""}"#), 1.0);
    assert_eq!(value(&on_n1, r#"switchboard_refusals_total{status="401"}"#), 1.0);
    // Rooms by tenant: the default tenant's mediasoup room on n1, acme's signals room on n2.
    assert_eq!(value(&on_n1, r#"switchboard_tenant_rooms{tenant=""}"#), 1.0);
    assert_eq!(value(&on_n1, r#"switchboard_tenant_rooms{tenant="acme"}"#), 0.0);
    assert!(value(&on_n1, "switchboard_redis_rtt_seconds") > 0.0);
    let on_n2 = metrics(n2).await;
    assert_eq!(value(&on_n2, r#"switchboard_tenant_rooms{tenant="acme"}"#), 1.0);
    assert!(
        value(&on_n2, r#"switchboard_messages_in_total{dialect="signals",tenant="acme"}"#) >= 1.0
    );
    assert!(
        value(&on_n2, r#"switchboard_messages_out_total{dialect="signals",tenant="acme"}"#) >= 1.0
    );
    // b on n3 joined the room homed on n2: frames went both ways.
    assert!(value(&on_n2, "switchboard_cluster_frames_sent_total") >= 1.0);
    assert!(value(&on_n2, "switchboard_cluster_frames_received_total") >= 1.0);
    // Every series the Grafana dashboard plots is one the nodes export.
    let dashboard = include_str!("../../deploy/grafana/switchboard.json");
    let exported = format!("{on_n1}{on_n2}");
    let mut plotted: Vec<&str> = dashboard
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("switchboard_"))
        .collect();
    plotted.sort_unstable();
    plotted.dedup();
    assert!(plotted.len() >= 10, "{plotted:?}");
    for series in plotted {
        assert!(
            exported.contains(&format!("# TYPE {series} ")),
            "the dashboard plots {series}, which no node exports"
        );
    }

    // Close rooms from nodes that are not their homes: acme's signals r1 (home n2, members on
    // n2 and n3) and the default tenant's mediasoup m (home n1).
    let (status, _) =
        admin(n1, "POST", "/admin/rooms/close?tenant=acme&dialect=signals&room=r1", Some(ADMIN))
            .await;
    assert_eq!(status, 202);
    list_becomes(&mut a, &[]).await;
    list_becomes(&mut b, &[]).await;
    let (status, _) =
        admin(n3, "POST", "/admin/rooms/close?dialect=mediasoup&room=m", Some(ADMIN)).await;
    assert_eq!(status, 202);
    p.notification("closed").await;
    let left =
        admin_until(n2, "/admin/rooms", |b| b["rooms"].as_array().is_some_and(|r| r.len() == 1))
            .await;
    assert_eq!(
        (&left["rooms"][0]["tenant"], &left["rooms"][0]["room"]),
        (&json!(""), &json!("r1")),
        "{left}"
    );
    let (status, _) = admin(n3, "POST", "/admin/rooms/close?dialect=cmd&room=m", Some(ADMIN)).await;
    assert_eq!(status, 400, "cmd has no rooms");
    // r1 is no more: joining it finds no room.
    signal(&mut a, "join", join("a", false)).await;
    assert_eq!(recv_skipping_lists(&mut a).await["c"], 4001);

    // Disconnect acme's alice: her signals session on n2 first (by dialect), then everything
    // of hers, from n3; the default tenant's alice stays.
    let signals_url = n2.ws(&format!("/signals?token={}", token(Some("acme"), "alice")));
    let mut alice_signals = Client::connect_url(&signals_url).await;
    let cmd_url = n3.ws(&format!("/cmd?token={}", token(None, "alice")));
    let mut default_alice = Client::register_url(&cmd_url, "alice").await;
    let path = "/admin/clients/disconnect?tenant=acme&sub=alice&dialect=signals";
    let (status, body) = admin(n3, "POST", path, Some(ADMIN)).await;
    assert_eq!((status, &body["disconnected_here"]), (202, &json!(0)), "{body}");
    assert!(matches!(alice_signals.expect_end().await, Ended::Close(1008)));
    alice.expect_nothing_but_clu_pending().await;
    let (status, _) =
        admin(n3, "POST", "/admin/clients/disconnect?tenant=acme&sub=alice", Some(ADMIN)).await;
    assert_eq!(status, 202);
    assert!(matches!(alice.expect_end().await, Ended::Close(1008)));
    default_alice.expect_nothing_but_clu_pending().await;
    let (status, _) =
        admin(n3, "POST", "/admin/clients/disconnect?sub=alice&dialect=smoke", Some(ADMIN)).await;
    assert_eq!(status, 400);

    // Drain n3 from n1: its clients are closed with "going away", it refuses new ones.
    assert_eq!(admin(n1, "POST", "/admin/nodes/n9/drain", Some(ADMIN)).await.0, 404);
    let (status, body) = admin(n1, "POST", "/admin/nodes/n3/drain", Some(ADMIN)).await;
    assert_eq!((status, &body), (202, &json!({"draining": "n3"})));
    assert!(matches!(b.expect_end().await, Ended::Close(1001)));
    assert!(matches!(d.expect_end().await, Ended::Close(1001)));
    n3.wait_for_status("/readyz", 503).await;
    admin_until(n1, "/admin/nodes", |b| b["nodes"].as_array().is_some_and(|n| n.len() == 2)).await;
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token() {
    let node = Node::start();
    assert_eq!(admin(&node, "GET", "/admin/nodes", Some(ADMIN)).await.0, 404);
    assert_eq!(admin(&node, "GET", "/admin/nodes", None).await.0, 404);
}

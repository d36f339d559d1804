//! A webhook receiver behind TLS (`https://`), its certificate issued by a private authority
//! the operators name in `webhook.ca_file`: the node verifies it and posts each event over
//! TLS. A node that does not trust the authority posts nothing.

use std::{sync::Arc, time::Duration};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;
use tokio_rustls::{
    rustls::{
        pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
        ServerConfig,
    },
    TlsAcceptor,
};

use super::{config_with, next_post, serve, token};
use crate::{
    signals::{data, recv_skipping_lists, signal},
    support::{Client, Node, Scratch},
};

/// A certificate authority's certificate (PEM), and an acceptor presenting a certificate for
/// `localhost` it issued.
fn authority_and_acceptor() -> (String, TlsAcceptor) {
    let ca_key = KeyPair::generate().expect("a key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("parameters");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "switchboard test authority");
    let ca_pem = ca.self_signed(&ca_key).expect("self-signed").pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().expect("a key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("parameters")
        .signed_by(&key, &issuer)
        .expect("issued");
    let chain = vec![CertificateDer::from(leaf.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a certificate and its key");
    (ca_pem, TlsAcceptor::from(Arc::new(config)))
}

/// acme's user `a` joins room r1 on `node` (creating it) and leaves it.
async fn a_room_opens_and_closes(node: &Node) {
    let url = node.ws(&format!("/signals?token={}", token(Some("acme"), "a")));
    let mut a = Client::connect_url(&url).await;
    signal(&mut a, "join", data("JOIN", "a", "a1", json!({"op": {"roomCreating": true}}))).await;
    assert_eq!(recv_skipping_lists(&mut a).await["c"], 200);
    signal(&mut a, "leave", data("LEAVE", "a", "a1", json!({}))).await;
}

#[tokio::test]
async fn an_https_receiver_of_a_trusted_authority_gets_each_event_over_tls() {
    let (ca_pem, acceptor) = authority_and_acceptor();
    let (url, mut posted) = serve(0, 0, Some(acceptor)).await;
    assert!(url.starts_with("https://localhost:"), "{url}");
    let dir = Scratch::new("webhooks-tls");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("written");
    let extra = format!("[webhook]\nca_file = \"{}\"\n", ca_file.display());
    let config = config_with(&dir, &url, &extra);
    let node = Node::with_args(&["--config", config.to_str().expect("utf-8")]);
    a_room_opens_and_closes(&node).await;
    let mut events = Vec::new();
    while events.len() < 4 {
        let (_, event) = next_post(&mut posted, Duration::from_secs(15)).await;
        events.push(event["event"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(events, ["room_created", "participant_joined", "participant_left", "room_closed"],);
}

// Two threads: the receiver answers handshakes while the test waits for the node's log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_does_not_trust_the_receivers_authority_posts_nothing() {
    let (_, acceptor) = authority_and_acceptor();
    let (url, mut posted) = serve(0, 0, Some(acceptor)).await;
    let dir = Scratch::new("webhooks-untrusted");
    let config = config_with(&dir, &url, "");
    let node = Node::with_args(&["--config", config.to_str().expect("utf-8")]);
    a_room_opens_and_closes(&node).await;
    // The node logs each failed attempt; the receiver hears no request (the handshake fails
    // before one is sent).
    let line = node.wait_for_log("webhook acme: event");
    assert!(line.contains("TLS"), "{line}");
    assert!(posted.try_recv().is_err(), "nothing reached the receiver");
}

//! One HTTP/1.1 POST to a webhook receiver, over TCP (`http://` URLs) or TLS (`https://`,
//! verified against the public roots and any CA the operators add): the status it answered,
//! or why there was none.

use std::{path::Path, sync::Arc, time::Duration};

use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{
    rustls::{
        pki_types::{pem::PemObject, CertificateDer, ServerName},
        ClientConfig, RootCertStore,
    },
    TlsConnector,
};

/// A receiver's URL, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
    path: String,
    /// `https://`.
    tls: bool,
}

impl Target {
    /// Parses `http[s]://host[:port][/path]`; an error says what is wrong.
    pub fn parse(url: &str) -> Result<Self, String> {
        let (rest, tls, default_port) =
            match (url.strip_prefix("http://"), url.strip_prefix("https://")) {
                (Some(rest), _) => (rest, false, 80),
                (_, Some(rest)) => (rest, true, 443),
                _ => return Err(format!("{url}: webhook URLs are http:// or https://")),
            };
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let port =
            |port: &str| port.parse().map_err(|_| format!("{url}: the port is not a number"));
        // `[v6]` or `[v6]:port`; `host` or `host:port`.
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, default_port),
                Some((host, after)) => (host, port(after.strip_prefix(':').unwrap_or(after))?),
                None => return Err(format!("{url}: an IPv6 host needs its closing ]")),
            },
            None => match authority.split_once(':') {
                Some((host, p)) => (host, port(p)?),
                None => (authority, default_port),
            },
        };
        if host.is_empty() || host.contains(['@', ' ', '[', ']']) {
            return Err(format!("{url}: no host"));
        }
        let path = match path {
            "" => "/".to_owned(),
            query if query.starts_with('?') => format!("/{query}"),
            path => path.to_owned(),
        };
        Ok(Self { host: host.to_owned(), port, path, tls })
    }

    /// Whether the receiver is reached over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }
}

/// What receivers behind TLS are checked against: the public roots (Mozilla's), and the
/// certificates of `ca_file` (PEM), if given.
pub fn tls_connector(ca_file: Option<&Path>) -> Result<TlsConnector, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
            roots.add(cert).map_err(|e| format!("{}: {e}", path.display()))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("{}: no certificate in it", path.display()));
        }
    }
    let config = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// POSTs `body` (JSON) to `target` with `headers`, within `timeout` (over TLS with `tls` for
/// an `https://` target): the response's status.
pub async fn post(
    target: &Target,
    tls: Option<&TlsConnector>,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<u16, String> {
    let exchange = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        if !target.tls {
            return exchange(tcp, target, headers, body).await;
        }
        let connector = tls.ok_or("an https:// receiver, and no TLS configured")?;
        let name = ServerName::try_from(target.host.clone())
            .map_err(|e| format!("{}: {e}", target.host))?;
        let stream = connector.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
        exchange(stream, target, headers, body).await
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| "timed out".to_owned())?
}

/// The request and its answer's status, over `stream`.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    target: &Target,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<u16, String> {
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\nUser-Agent: switchboard\r\n",
        target.path,
        target.host,
        target.port,
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
    stream.write_all(body).await.map_err(|e| format!("write: {e}"))?;
    stream.flush().await.map_err(|e| format!("write: {e}"))?;
    // The status line is all we need; the rest of the answer is read and dropped (up to a
    // bound), so the receiver is not cut off mid-write.
    let mut answer = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    while answer.len() < 16 * 1024 {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
    let line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    match (words.next(), words.next().and_then(|s| s.parse::<u16>().ok())) {
        (Some(version), Some(status)) if version.starts_with("HTTP/1.") => Ok(status),
        _ => Err(format!("not an HTTP answer: {:?}", line.chars().take(64).collect::<String>())),
    }
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn urls_are_http_or_https_with_a_host() {
        let t = Target::parse("http://hooks.internal:8081/switchboard?x=1").expect("valid");
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("hooks.internal", 8081, "/switchboard?x=1")
        );
        let t = Target::parse("http://10.0.0.5").expect("valid");
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("10.0.0.5", 80, "/"));
        let t = Target::parse("http://[::1]:9000/h").expect("valid");
        assert_eq!((t.host.as_str(), t.port), ("::1", 9000));
        let t = Target::parse("http://[::1]").expect("valid");
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 80, "/"));
        let t = Target::parse("http://hooks?tenant=a").expect("valid");
        assert_eq!((t.host.as_str(), t.path.as_str()), ("hooks", "/?tenant=a"));
        let t = Target::parse("https://hooks.example.com/h").expect("valid");
        assert_eq!((t.host.as_str(), t.port, t.tls), ("hooks.example.com", 443, true));
        let t = Target::parse("https://[::1]:8443").expect("valid");
        assert_eq!((t.host.as_str(), t.port, t.tls, t.path.as_str()), ("::1", 8443, true, "/"));
        assert!(!Target::parse("http://x").expect("valid").tls);
        for bad in
            ["ftp://x", "http://", "https://", "http://:80/", "http://x:port/", "http://u@x/"]
        {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}

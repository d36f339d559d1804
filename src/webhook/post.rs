//! One HTTP/1.1 POST to a webhook receiver, over plain TCP (`http://` URLs): the status it
//! answered, or why there was none. Enough for a receiver on the operators' network; a
//! receiver behind TLS is reached through a local proxy.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A receiver's URL, parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    host: String,
    port: u16,
    path: String,
}

impl Target {
    /// Parses `http://host[:port][/path]`; an error says what is wrong.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("{url}: only http:// webhook URLs are supported (reach a TLS receiver through a local proxy)")
        })?;
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let port =
            |port: &str| port.parse().map_err(|_| format!("{url}: the port is not a number"));
        // `[v6]` or `[v6]:port`; `host` or `host:port`.
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, "")) => (host, 80),
                Some((host, after)) => (host, port(after.strip_prefix(':').unwrap_or(after))?),
                None => return Err(format!("{url}: an IPv6 host needs its closing ]")),
            },
            None => match authority.split_once(':') {
                Some((host, p)) => (host, port(p)?),
                None => (authority, 80),
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
        Ok(Self { host: host.to_owned(), port, path })
    }
}

/// POSTs `body` (JSON) to `target` with `headers`, within `timeout`: the response's status.
pub async fn post(
    target: &Target,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> Result<u16, String> {
    let exchange = async {
        let mut tcp = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
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
        tcp.write_all(head.as_bytes()).await.map_err(|e| format!("write: {e}"))?;
        tcp.write_all(body).await.map_err(|e| format!("write: {e}"))?;
        // The status line is all we need; the rest of the answer is read and dropped (up to a
        // bound), so the receiver is not cut off mid-write.
        let mut answer = Vec::with_capacity(256);
        let mut chunk = [0u8; 1024];
        while answer.len() < 16 * 1024 {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
        let line = answer.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let mut words = line.split_whitespace();
        match (words.next(), words.next().and_then(|s| s.parse::<u16>().ok())) {
            (Some(version), Some(status)) if version.starts_with("HTTP/1.") => Ok(status),
            _ => {
                Err(format!("not an HTTP answer: {:?}", line.chars().take(64).collect::<String>()))
            }
        }
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| "timed out".to_owned())?
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn urls_are_http_with_a_host() {
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
        for bad in
            ["https://x/h", "ftp://x", "http://", "http://:80/", "http://x:port/", "http://u@x/"]
        {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}

//! `switchboard --probe PATH`: a health check for container images that have no curl. GETs
//! `PATH` from the node where its configuration says it listens and exits 0 when it answers
//! 200.

use std::{
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream},
    process::ExitCode,
    time::Duration,
};

const TIMEOUT: Duration = Duration::from_secs(2);

/// GETs `path` from the node listening on `listen`; success only for HTTP 200.
pub fn run(listen: SocketAddr, path: &str) -> ExitCode {
    match get(target(listen), path) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("{path}: HTTP {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where a node listening on `listen` answers on this host: the address itself, or loopback
/// (of the same family) when it listens on every interface.
fn target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

fn get(addr: SocketAddr, path: &str) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head)?;
    let line = String::from_utf8_lossy(&head[..n]);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP reply"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_where_the_node_listens() {
        let at = |s: &str| s.parse::<SocketAddr>().expect("address");
        assert_eq!(target(at("0.0.0.0:8080")), at("127.0.0.1:8080"));
        assert_eq!(target(at("[::]:8080")), at("[::1]:8080"));
        assert_eq!(target(at("10.1.2.3:9000")), at("10.1.2.3:9000"));
        assert_eq!(target(at("[fd00::7]:9000")), at("[fd00::7]:9000"));
    }
}

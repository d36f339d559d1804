//! `Nginx`: Debian's nginx running `deploy/nginx.conf` (the docker-compose load balancer) in
//! front of test nodes, with the upstream servers and the listen address templated.

use std::process::{Child, Command, Stdio};

use super::{
    scratch::{free_port, tool},
    Node, Scratch, PATIENCE,
};

/// A running nginx.
pub struct Nginx {
    child: Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    _dir: Scratch,
}

/// `deploy/nginx.conf` with its upstreams pointing at `nodes` and listening on `port`.
fn config(nodes: &[&Node], port: u16) -> String {
    let template = include_str!("../../../deploy/nginx.conf");
    let mut out = String::new();
    let mut upstreams_written = false;
    let mut in_upstream = false;
    for line in template.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("upstream ") {
            in_upstream = true;
        } else if trimmed.starts_with('}') {
            in_upstream = false;
        }
        if in_upstream && trimmed.starts_with("server ") {
            if !upstreams_written {
                for node in nodes {
                    out.push_str(&format!("        server {} max_fails=0;\n", node.addr));
                }
                upstreams_written = true;
            }
        } else if trimmed.starts_with("listen ") {
            out.push_str(&format!("        listen 127.0.0.1:{port};\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(upstreams_written, "deploy/nginx.conf lists its nodes as `server …` in an upstream");
    out
}

impl Nginx {
    /// Starts nginx balancing round-robin over `nodes`.
    pub fn start(nodes: &[&Node]) -> Self {
        let dir = Scratch::new("nginx");
        let port = free_port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config(nodes, port)).expect("write nginx.conf");
        let globals = format!(
            "daemon off; pid {0}/nginx.pid; error_log {0}/error.log warn;",
            dir.path().display()
        );
        let child = Command::new(tool("nginx"))
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .args(["-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx starts");
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = std::time::Instant::now() + PATIENCE;
        let mut nginx = Self { child, addr, _dir: dir };
        // Wait for the listener (nginx has no readiness line on stdout).
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(std::time::Instant::now() < deadline, "nginx did not listen in time");
            assert!(
                nginx.child.try_wait().expect("try_wait").is_none(),
                "nginx exited: see its error log above"
            );
            std::thread::yield_now();
        }
        nginx
    }

    /// The WebSocket URL of `path` through the balancer.
    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master must take its workers down with it.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
    }
}

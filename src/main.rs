//! The `switchboard` binary: parse config, start logging, run the node.

use std::{net::TcpListener, process::ExitCode};

use clap::Parser;
use switchboard::config::{Config, Flags};

/// How many connections may wait to be accepted: a reconnect storm after a node restart
/// should queue, not see its SYNs dropped and retried a second later.
const BACKLOG: i32 = 4096;

/// Binds `addr` with [`BACKLOG`] (the kernel caps it at `net.core.somaxconn`).
fn listen(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let flags = Flags::parse();
    let probe = flags.probe.clone();
    let config = match Config::load(flags) {
        Ok(config) => config,
        Err(e) => {
            log::error!("{e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = probe {
        return switchboard::probe::run(config.listen, &path);
    }
    let listener = match listen(config.listen) {
        Ok(listener) => listener,
        Err(e) => {
            log::error!("cannot listen on {}: {e}", config.listen);
            return ExitCode::from(1);
        }
    };
    match actix_web::rt::System::new().block_on(switchboard::run(config, listener)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("node failed: {e}");
            ExitCode::from(1)
        }
    }
}

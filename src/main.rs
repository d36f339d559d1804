//! The `switchboard` binary: parse config, start logging, run the node.

use std::{net::TcpListener, process::ExitCode};

use clap::Parser;
use switchboard::config::{Config, Flags};

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
        return switchboard::probe::run(config.listen.port(), &path);
    }
    let listener = match TcpListener::bind(config.listen) {
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

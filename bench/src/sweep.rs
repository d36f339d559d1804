//! The `sweep` scenario: the latency scenario at increasing offered loads for switchboard
//! (rooms on one node and across two, cmd on one) and each baseline, in one run; prints one
//! line per point and writes the plot ([`crate::plot`]).

use std::time::Duration;

use crate::{
    dialects::Dialect,
    load,
    plot::{self, Series},
    servers::{Server, Servers},
    stats,
};

/// One measured setup.
struct Setup {
    label: &'static str,
    server: Server,
    dialect: Dialect,
    cross: bool,
}

const SETUPS: [Setup; 7] = [
    Setup {
        label: "switchboard rooms",
        server: Server::Switchboard,
        dialect: Dialect::Rooms,
        cross: false,
    },
    Setup {
        label: "switchboard rooms, 2 nodes",
        server: Server::Switchboard,
        dialect: Dialect::Rooms,
        cross: true,
    },
    Setup {
        label: "switchboard cmd",
        server: Server::Switchboard,
        dialect: Dialect::Cmd,
        cross: false,
    },
    Setup {
        label: "matchbox_server",
        server: Server::Matchbox,
        dialect: Dialect::Matchbox,
        cross: false,
    },
    Setup {
        label: "PeerJS server",
        server: Server::Peerjs,
        dialect: Dialect::Peerjs,
        cross: false,
    },
    Setup { label: "socket.io 4", server: Server::Socketio, dialect: Dialect::Rooms, cross: false },
    Setup {
        label: "socket.io 4, 2 nodes",
        server: Server::Socketio,
        dialect: Dialect::Rooms,
        cross: true,
    },
];

/// What the sweep needs from the command line.
pub(crate) struct Plan<'a> {
    /// Offered loads, in signals per second.
    pub(crate) rates: &'a [u64],
    /// Pairs carrying them.
    pub(crate) pairs: usize,
    /// Signal size.
    pub(crate) size: usize,
    /// Measurement time per point.
    pub(crate) measure: Duration,
    /// Measurements per point; the least disturbed is plotted ([`load::LatencyPlan::attempts`]).
    pub(crate) attempts: usize,
    /// Pinning of the servers.
    pub(crate) server_cpu: Option<&'a str>,
    /// Where the baselines are installed.
    pub(crate) peers: &'a std::path::Path,
}

/// Runs every setup at every rate; returns the SVG.
pub(crate) async fn run(plan: &Plan<'_>) -> Result<String, String> {
    let mut series = Vec::new();
    for setup in &SETUPS {
        let servers = Servers::start(setup.server, setup.cross, plan.server_cpu, plan.peers, 1)?;
        let (left, right) = servers.urls();
        let mut points = Vec::new();
        for &rate in plan.rates {
            let latency = load::LatencyPlan {
                dialect: setup.dialect,
                pairs: plan.pairs,
                rate,
                size: plan.size,
                measure: plan.measure,
                attempts: plan.attempts,
            };
            let result = load::quietest_latency(&latency, (&left, &right), &servers).await?;
            let ms = |q| stats::percentile(&result.latencies_us, q) / 1000.0;
            println!(
                "{:<28} {rate:>7} msg/s  p50 {:>8.3} ms  p99 {:>8.3} ms  p999 {:>8.3} ms  server CPU {:.2} s  steal {:.2} s",
                setup.label,
                ms(0.5),
                ms(0.99),
                ms(0.999),
                result.server_cpu,
                result.steal
            );
            points.push((rate as f64, ms(0.99)));
        }
        series.push(Series { label: setup.label.to_owned(), points });
    }
    Ok(plot::svg("One-way p99 latency against offered load (server on one core)", &series))
}

//! `metrc-sim`: the METRC simulator as its own process.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;

/// A METRC simulator. Serves every state under a path prefix (point METRC_URL_TEMPLATE at
/// http://<addr>/{state}) and an admin API under /_sim/ (see the metrc-sim crate's admin module).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:3001")]
    addr: SocketAddr,
    /// Data to start with: `demo` loads the demo world the README lists (vendor key demo-vendor-key;
    /// CO and MA keys reaching the demo licenses; a revoked CO key).
    #[arg(long, value_enum)]
    seed: Option<Seed>,
    /// Switch METRC's GET rate limits off (150/s and 30 concurrent per vendor key, 50/s and 10
    /// concurrent per facility). They can also be changed at run time: PUT /_sim/limits.
    #[arg(long)]
    no_limits: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Seed {
    Demo,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .compact()
        .init();
    let sim = metrc_sim::Simulator::new();
    if args.no_limits {
        sim.set_limits(metrc_sim::limits::Limits::OFF);
    }
    if let Some(Seed::Demo) = args.seed {
        metrc_sim::demo::seed(&sim);
    }
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.addr);
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %args.addr, seed = ?args.seed, "METRC simulator listening");
    match axum::serve(listener, sim.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

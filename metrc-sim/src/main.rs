//! `metrc-sim`: the METRC simulator as its own process.

use clap::{Parser, ValueEnum};
use std::net::SocketAddr;

/// A METRC simulator for tests and the demo.
#[derive(Debug, Parser)]
#[command(version, about, long_about = LONG_ABOUT)]
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

const LONG_ABOUT: &str = "\
A METRC simulator for tests and the demo. It serves every state under a path prefix: point
METRC_URL_TEMPLATE at http://<addr>/{state}. HTTP Basic authentication (vendor key : user key).

METRC API (per state):
  GET  /{state}/facilities/v2/            (and /v1/) facilities the user key reaches
  GET  /{state}/unitsofmeasure/v2/active  units of measure
  GET  /{state}/packages/v2/adjust/reasons?licenseNumber=&pageNumber=&pageSize=
  POST /{state}/sales/v2/receipts?licenseNumber=      at most 10 receipts; METRC's row rules
  POST /{state}/packages/v2/adjust?licenseNumber=     at most 10 adjustments; METRC's row rules
  GET  /{state}/sales/v2/receipts/external/{number}?licenseNumber=

Admin API (tests and demos; never in our server):
  POST /_sim/states/{state}/vendor-keys        {\"key\"}
  POST /_sim/states/{state}/facilities         {\"license_number\", \"name\", \"license_type\"}
  POST /_sim/states/{state}/packages           {\"license_number\", \"label\", \"unit\", \"quantity\"}
  POST /_sim/states/{state}/adjust-reasons     {\"name\", \"requires_note\", \"requires_waste_weight\"}
  POST /_sim/states/{state}/user-keys          {\"key\", \"facilities\": [license numbers]}
  GET  /_sim/states/{state}/user-keys/{key}
  PUT  /_sim/states/{state}/user-keys/{key}/facilities   [license numbers]
  POST /_sim/states/{state}/user-keys/{key}/revoke
  POST /_sim/states/{state}/user-keys/{key}/rotate       -> {\"key\": new key}
  GET  /_sim/states/{state}/reports            everything accepted, with its user key
  POST /_sim/faults      {\"state\", \"user_key\"?, \"kind\", \"times\"?}  kinds: latency (ms), slow_answer (ms:
                         a POST taken at once, answered late), server_error,
                         unavailable, drop_connection, malformed_json, rate_limited (retry_after_secs),
                         redirect (302 to /_sim/redirected, which answers 200 to anything),
                         late_apply (ms: a POST answered 504 at once and applied after the delay)
  DELETE /_sim/faults
  PUT|DELETE /_sim/chaos {\"seed\", \"probability\"}  faults drawn at random per request from a seeded mix
                         (latency, late answer, 500, 503, 429 ± Retry-After, redirect, dropped connection,
                         malformed JSON on GETs); GET /_sim/chaos: how many of each were drawn
  GET|PUT /_sim/limits   per_vendor_per_second, per_vendor_concurrent, per_facility_per_second,
                         per_facility_concurrent (null = off), retry_after
  PUT  /_sim/switches    {\"license_denied_with_403\": bool}";

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

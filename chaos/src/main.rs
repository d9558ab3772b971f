//! `chaos server`: the server (what the harness starts, as many times as it needs).
//! `chaos [--seconds N] [--seed N] [--servers N] [--sqlite]`: one campaign, printing its figures; exits
//! non-zero when a check fails. On PostgreSQL when `TEST_POSTGRES_URL` (or `--postgres`) is given.

use chaos::campaign::{self, Plan};
use chaos::cluster::Store;
use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "A chaos campaign against the reporting outbox")]
struct Args {
    /// How long the faults, kills and key changes go on.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Fixes the schedule (kills, key changes, METRC's faults, what the registers record).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Server processes on PostgreSQL (always one on SQLite).
    #[arg(long, default_value_t = 3)]
    servers: usize,
    /// An administrator URL of PostgreSQL, ending in /database; a fresh database is created in it.
    #[arg(long, env = "TEST_POSTGRES_URL")]
    postgres: Option<String>,
    /// Run on SQLite even when a PostgreSQL URL is given.
    #[arg(long)]
    sqlite: bool,
    /// The share of METRC requests that meet a fault.
    #[arg(long, default_value_t = 0.25)]
    probability: f64,
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let program = args.next();
    let rest: Vec<std::ffi::OsString> = args.collect();
    if rest.first().is_some_and(|a| a == "server") {
        return server::cli::main(program.into_iter().chain(rest.into_iter().skip(1)));
    }
    let args = Args::parse();
    let store = match (&args.postgres, args.sqlite) {
        (Some(url), false) => Store::Postgres(url.clone()),
        _ => Store::Sqlite,
    };
    let plan = Plan {
        servers: if store == Store::Sqlite {
            1
        } else {
            args.servers.max(1)
        },
        faults_for: Duration::from_secs(args.seconds),
        fault_probability: args.probability.clamp(0.0, 1.0),
        ..Plan::ci(args.seed, store)
    };
    let bin = match std::env::current_exe() {
        Ok(bin) => bin,
        Err(e) => {
            eprintln!("error: cannot find this program's path: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(campaign::run(&bin, &plan)) {
        Ok(report) => {
            println!("{report}");
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("error: the campaign could not run: {e}");
            ExitCode::from(2)
        }
    }
}

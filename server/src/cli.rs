//! The server's command line: reads the configuration, starts logging, runs the application until Ctrl-C
//! or SIGTERM, then lets requests in flight finish. The `server` binary is only this; the chaos harness
//! links the same entry point into its own binary (`chaos server`), so that a build of it with planted
//! faults never replaces the `server` binary.

use crate::app::Application;
use crate::config::Config;
use clap::Parser;
use std::process::ExitCode;

/// Traceability Credentials server. Configuration comes from environment variables; see `.env.example`.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Seed the demo organization, licenses and users (idempotent), and generate an encryption key
    /// into the data folder when CREDENTIAL_KEYS is not set. Never use in production.
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Re-encrypt every stored METRC key under the first key of CREDENTIAL_KEYS, then exit. Afterwards
    /// the older keys can be removed from CREDENTIAL_KEYS. Safe to run while servers are serving.
    RotateCredentialKeys,
}

/// Runs the server with these command-line arguments (the first is the program's name), on a runtime of
/// its own. Returns the process's exit code.
pub fn main<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = Args::parse_from(args);
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(serve(args)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> ExitCode {
    let config = match Config::from_env(args.demo) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(config.log_json);
    if let Some(Command::RotateCredentialKeys) = args.command {
        return rotate(config).await;
    }
    let public_url = config.public_url.origin().to_owned();
    tracing::info!(
        demo = config.demo,
        database = ?crate::db::Backend::of_url(&config.database_url),
        metrc = %config.metrc.url_template,
        credential_key = config.credential_keys.active_id(),
        "starting"
    );
    if cfg!(feature = "planted-faults") {
        tracing::warn!(
            "built with planted faults: reports may be sent twice (a chaos-harness build)"
        );
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!("could not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match app.local_addr() {
        Ok(addr) => tracing::info!(%addr, url = %public_url, "listening"),
        Err(e) => tracing::warn!("listening, address unknown: {e}"),
    }
    match app.run_until(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("server failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn rotate(config: Config) -> ExitCode {
    let db = match crate::db::Db::connect(&config.database_url).await {
        Ok(db) => db,
        Err(e) => {
            tracing::error!("could not open the database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let custody = crate::keys::Custody::new(config.credential_keys.clone());
    match crate::keys::rotate::rotate(&db, &custody).await {
        Ok(done) => {
            tracing::info!(
                credentials = done.credentials,
                default_keys = done.default_keys,
                key = config.credential_keys.active_id(),
                "re-encrypted every stored key under the active key"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("rotation stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

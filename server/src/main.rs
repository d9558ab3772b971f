//! The server binary: reads the configuration, starts logging, runs the application until Ctrl-C or
//! SIGTERM, then lets requests in flight finish.

use clap::Parser;
use server::app::Application;
use server::config::Config;
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

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::from_env(args.demo) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    server::telemetry::init(config.log_json);
    if let Some(Command::RotateCredentialKeys) = args.command {
        return rotate(config).await;
    }
    let public_url = config.public_url.origin().to_owned();
    tracing::info!(
        demo = config.demo,
        database = ?server::db::Backend::of_url(&config.database_url),
        metrc = %config.metrc.url_template,
        credential_key = config.credential_keys.active_id(),
        "starting"
    );
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
    let db = match server::db::Db::connect(&config.database_url).await {
        Ok(db) => db,
        Err(e) => {
            tracing::error!("could not open the database: {e}");
            return ExitCode::FAILURE;
        }
    };
    let custody = server::keys::Custody::new(config.credential_keys.clone());
    match server::keys::rotate::rotate(&db, &custody).await {
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

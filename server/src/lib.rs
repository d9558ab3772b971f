//! The Traceability Credentials server: an axum application over SQLite or PostgreSQL that serves the
//! API and the built Leptos client. `main.rs` only runs [`cli::main`], which reads the configuration and runs
//! [`app::Application`].

pub mod accounts;
pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod crypto;
pub mod csp;
pub mod db;
pub mod demo;
pub mod error;
pub mod hooks;
pub mod keys;
pub mod licenses;
pub mod metrics;
pub mod passwords;
pub mod probes;
pub mod rate_limit;
pub mod reports;
pub mod sessions;
pub mod supervise;
pub mod tally;
pub mod telemetry;

use std::sync::Arc;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub db: db::Db,
    pub config: Arc<config::Config>,
    /// The one METRC client (its pacing is shared by every request).
    pub metrc: metrc::HttpMetrc,
    /// Wakes this process's outbox worker.
    pub outbox: Arc<reports::outbox::Outbox>,
    /// Every stored METRC key is sealed and opened through it.
    pub keys: Arc<keys::Custody>,
    /// One sign-in key check at a time in this process, paced: a shift starting at once is a trickle to
    /// METRC, and a person signing in on two devices has each key checked once.
    pub sign_in_checks: Arc<tokio::sync::Semaphore>,
    /// When the background tasks last showed they were alive.
    pub heartbeats: Arc<supervise::Heartbeats>,
    /// Pauses a test asked for (the `test-hooks` feature only).
    #[cfg(feature = "test-hooks")]
    pub hooks: Arc<hooks::Hooks>,
}

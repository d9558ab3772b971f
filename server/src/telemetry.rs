//! Structured logging through `tracing`. Every request runs in a span carrying its request id.
//!
//! What must never reach a log: METRC keys (their type cannot be displayed), passwords, session tokens,
//! cookies and `Authorization` headers (marked sensitive in the HTTP layers), and receipt contents.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: JSON lines or readable text, filtered by `RUST_LOG`
/// (default `info`).
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.compact().try_init()
    };
    if let Err(e) = result {
        eprintln!("logging was already set up: {e}");
    }
}

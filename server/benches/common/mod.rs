//! What the server's benchmarks share: the percentile of sorted samples, and the real server started on
//! port 0 over a fresh SQLite database with durable commits.

use server::app::Application;
use server::config::Config;
use server::db::Db;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

/// Starts the server (SQLite in a fresh folder, which the caller removes) talking to METRC at
/// `metrc_url`, with extra configuration variables.
pub async fn start_server(
    name: &str,
    metrc_url: String,
    vendor_key: &str,
    extra: &[(&str, &str)],
) -> (SocketAddr, Db, PathBuf) {
    let dir = std::env::temp_dir().join(format!("tc-bench-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut vars: HashMap<&str, String> = [
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        ("DATA_DIR", dir.display().to_string()),
        (
            "CREDENTIAL_KEYS",
            "bench:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_owned(),
        ),
        ("STATIC_DIR", "/nonexistent".to_owned()),
        ("METRC_URL_TEMPLATE", metrc_url),
        ("METRC_VENDOR_KEY", vendor_key.to_owned()),
    ]
    .into_iter()
    .collect();
    for (k, v) in extra {
        vars.insert(k, (*v).to_owned());
    }
    let config = Config::from_lookup(false, |name| vars.get(name).cloned()).expect("config");
    let app = Application::build(config).await.expect("server starts");
    let addr = app.local_addr().expect("bound");
    let db = app.db().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    (addr, db, dir)
}

//! What the server's benchmarks share: the percentile of sorted samples, the real server started on
//! port 0 over a fresh SQLite database with durable commits, and a signed-in organization.
// Each bench is its own crate and uses a part of this module.
#![allow(dead_code)]

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

/// One organization with the demo world's Colorado licenses (Colfax, Pearl) and one staff user, signed in
/// on the returned client. Returns the client and the two license ids.
pub async fn colorado_organization(db: &Db, base: &str) -> (reqwest::Client, Vec<i64>) {
    use server::accounts::{self, NewUser};
    use server::licenses::{self, NewLicense};
    use shared::{Email, LicenseNumber, Provider, Role, StateCode};
    const PASSWORD: &str = "bench password 1";
    let mut conn = db.pool.acquire().await.expect("connection");
    let organization_id = accounts::create_organization(&mut conn, "Bench Co.")
        .await
        .expect("organization");
    let mut ids = Vec::new();
    for number in [metrc_sim::demo::COLFAX, metrc_sim::demo::PEARL] {
        let number = LicenseNumber::parse(number).expect("number");
        ids.push(
            licenses::create(
                &mut conn,
                NewLicense {
                    organization_id,
                    number: &number,
                    state: StateCode::parse("CO").expect("state"),
                    display_name: "Store",
                    license_type: "Retail Marijuana Store",
                    provider: Provider::Metrc,
                    time_zone: None,
                },
            )
            .await
            .expect("license"),
        );
    }
    let hash = server::passwords::hash(PASSWORD.to_owned())
        .await
        .expect("hash");
    let email = Email::parse("bench@example.test").expect("email");
    accounts::create_user(
        &mut conn,
        NewUser {
            organization_id,
            email: &email,
            display_name: "Bench User",
            role: Role::Staff,
            password_hash: Some(&hash),
        },
    )
    .await
    .expect("user");
    drop(conn);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let signed_in = client
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({ "email": "bench@example.test", "password": PASSWORD }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 200);
    (client, ids)
}

//! The time of one coverage page (`GET /api/admin/coverage`, 50 users) for an organization of 1,000
//! active users × 50 tracked licenses on SQLite, measured at the endpoint from a client on the same
//! machine (so it includes the loopback and reqwest: an upper bound of the server's own time).
//!
//! The organization: 25 licenses in Colorado, 25 in Massachusetts; a verified Colorado default key that
//! reaches 20 of the Colorado licenses; 70 % of the users with a Colorado credential on 10 licenses, 30 %
//! with a Massachusetts credential on 5. Pages 1–20 in turn, with and without the "falls back to default"
//! filter. Run with `cargo bench -p server --bench coverage`; it prints medians and p99s.

use serde_json::json;
use std::time::Instant;

const USERS: i64 = 1_000;
const ROUNDS: usize = 400;
const PASSWORD: &str = "bench password 1";

mod common;
use common::percentile;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    let (addr, db, dir) = common::start_server(
        "coverage",
        "http://127.0.0.1:9/{state}".to_owned(),
        "unused",
        &[],
    )
    .await;

    let hash = server::passwords::hash(PASSWORD.to_owned())
        .await
        .expect("hash");
    let mut tx = db.pool.begin().await.expect("transaction");
    let organization: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Bench Co.', 0) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("organization");
    let mut licenses = Vec::new();
    for i in 0..50 {
        let (state, zone) = if i < 25 {
            ("CO", "America/Denver")
        } else {
            ("MA", "America/New_York")
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO licenses (organization_id, number, state, display_name, license_type, provider, \
             tracked, active, time_zone, created_at) VALUES ($1, $2, $3, $4, 'Retail', 'metrc', TRUE, TRUE, $5, 0) \
             RETURNING id",
        )
        .bind(organization)
        .bind(format!("{state}-{i:05}"))
        .bind(state)
        .bind(format!("Store {i}"))
        .bind(zone)
        .fetch_one(&mut *tx)
        .await
        .expect("license");
        licenses.push((id, format!("{state}-{i:05}")));
    }
    let mut users = Vec::new();
    for i in 0..USERS {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (organization_id, email, display_name, role, active, password_hash, created_at) \
             VALUES ($1, $2, $3, $4, TRUE, $5, 0) RETURNING id",
        )
        .bind(organization)
        .bind(format!("user{i:04}@bench.test"))
        .bind(format!("User {i:04}"))
        .bind(if i == 0 { "admin" } else { "staff" })
        .bind(if i == 0 { Some(hash.as_str()) } else { None })
        .fetch_one(&mut *tx)
        .await
        .expect("user");
        users.push(id);
    }
    let default_key: i64 = sqlx::query_scalar(
        "INSERT INTO default_keys (organization_id, provider, state, key_id, key_ciphertext, fingerprint_key_id, \
         key_fingerprint, key_last_four, status, verified_at, version, updated_by, updated_at) \
         VALUES ($1, 'metrc', 'CO', 'bench', 'x', 'bench', 'x', '0005', 'verified', 0, 1, $2, 0) RETURNING id",
    )
    .bind(organization)
    .bind(users[0])
    .fetch_one(&mut *tx)
    .await
    .expect("default key");
    for (_, number) in &licenses[..20] {
        sqlx::query(
            "INSERT INTO default_key_reaches (default_key_id, license_number) VALUES ($1, $2)",
        )
        .bind(default_key)
        .bind(number)
        .execute(&mut *tx)
        .await
        .expect("reach");
    }
    for (i, user) in users.iter().enumerate() {
        let (state, chosen): (&str, Vec<i64>) = if i % 10 < 7 {
            ("CO", (0..10).map(|k| licenses[(i + k) % 25].0).collect())
        } else {
            (
                "MA",
                (0..5).map(|k| licenses[25 + (i + k) % 25].0).collect(),
            )
        };
        let credential: i64 = sqlx::query_scalar(
            "INSERT INTO credentials (organization_id, user_id, provider, state, key_id, key_ciphertext, \
             fingerprint_key_id, key_fingerprint, key_last_four, status, verified_at, version, created_at, updated_at) \
             VALUES ($1, $2, 'metrc', $3, 'bench', 'x', 'bench', $4, 'abcd', 'verified', 0, 1, 0, 0) RETURNING id",
        )
        .bind(organization)
        .bind(*user)
        .bind(state)
        .bind(format!("fingerprint-{i}"))
        .fetch_one(&mut *tx)
        .await
        .expect("credential");
        for license in chosen {
            sqlx::query(
                "INSERT INTO credential_licenses (credential_id, user_id, provider, license_id) VALUES ($1, $2, 'metrc', $3)",
            )
            .bind(credential)
            .bind(*user)
            .bind(license)
            .execute(&mut *tx)
            .await
            .expect("credential license");
        }
    }
    tx.commit().await.expect("commit");
    sqlx::query("ANALYZE")
        .execute(&db.pool)
        .await
        .expect("analyze");

    let base = format!("http://{addr}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let signed_in = client
        .post(format!("{base}/api/session"))
        .json(&json!({ "email": "user0000@bench.test", "password": PASSWORD }))
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed_in.status(), 200);

    for fallback in [false, true] {
        let mut times = Vec::with_capacity(ROUNDS);
        let mut rows = 0;
        for round in 0..ROUNDS + 20 {
            let page = round % 20 + 1;
            let url = format!("{base}/api/admin/coverage?page={page}&fallback={fallback}");
            let started = Instant::now();
            let response = client.get(&url).send().await.expect("coverage");
            assert_eq!(response.status(), 200);
            let body: serde_json::Value = response.json().await.expect("json");
            let elapsed = started.elapsed();
            if round >= 20 {
                times.push(elapsed);
                rows += body["rows"].as_array().map_or(0, Vec::len);
            }
        }
        times.sort();
        println!(
            "coverage page (1,000 users x 50 licenses, fallback filter {fallback}): median {:>9.3?}  p99 {:>9.3?}  ({} rows per page on average; budget <= 50 ms)",
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            rows / ROUNDS
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

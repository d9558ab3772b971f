//! The accountability queries at the size issue 15 names: 50 licenses × 1,000 users × 90 days of reports
//! (1,000,000 reports), on SQLite and — when `TEST_POSTGRES_URL` is set — on PostgreSQL. Prints the median
//! and p99 of each query the page runs (`server::tally::days` for the rate and the chart, in one read, and
//! `server::tally::fallbacks` for the ranking), at every license and at one, with everything folded and with
//! a fresh tail of unfolded changes beside the folded counts (what a reader meets between two folds).
//!
//! The reports: each user works at one home license (user mod 50); users whose number ends in 0 have no
//! key of their own (their sends go under the default key: 100 people falling back); of the rest's reports
//! 2 % are held, 1 % pending, 0.5 % outcome unknown, 0.5 % dismissed. Written with one SQL statement per
//! backend (the triggers count them as the product's own writes do), then folded by `server::tally::fold`.
//! Run with `cargo bench -p server --bench accountability` (a few minutes: the data is built each run).

use server::db::Db;
use std::time::Instant;

mod common;
use common::percentile;

const ROUNDS: usize = 200;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let dir =
            std::env::temp_dir().join(format!("tc-bench-accountability-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
        run("SQLite", &url).await;
        let _ = std::fs::remove_dir_all(&dir);
        match std::env::var("TEST_POSTGRES_URL") {
            Ok(admin_url) => {
                sqlx::any::install_default_drivers();
                let name = format!("tc_bench_{}", std::process::id());
                let admin = sqlx::AnyPool::connect(&admin_url)
                    .await
                    .expect("PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .expect("create");
                let (base, _) = admin_url.rsplit_once('/').expect("a database URL");
                run("PostgreSQL", &format!("{base}/{name}")).await;
                sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                    .execute(&admin)
                    .await
                    .expect("drop");
            }
            Err(_) => println!("PostgreSQL: skipped (TEST_POSTGRES_URL is not set)"),
        }
    });
}

async fn run(backend: &str, url: &str) {
    let db = Db::connect(url).await.expect("database");
    let started = Instant::now();
    let (organization, license) = seed(&db, backend).await;
    let reports: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    let seeded = started.elapsed();
    let folding = Instant::now();
    let moved = server::tally::fold(&db).await.expect("fold");
    let folded_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM report_days")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    println!(
        "{backend}: {reports} reports written in {seeded:.1?}; {moved} changes folded into {folded_rows} day rows in {:.1?}",
        folding.elapsed()
    );
    sqlx::query("ANALYZE")
        .execute(&db.pool)
        .await
        .expect("analyze");
    measure(&db, backend, organization, license, "folded").await;
    // A tail of changes not folded yet: 2,000 reports of the last day sent meanwhile (4,000 delta rows).
    sqlx::query(
        "UPDATE reports SET status = 'sent', key_used = 'credential' WHERE id IN \
         (SELECT id FROM reports WHERE recorded_on = '2026-11-29' AND status = 'sent' AND key_used = 'credential' ORDER BY id LIMIT 2000)",
    )
    .execute(&db.pool)
    .await
    .expect("no change");
    sqlx::query(
        "UPDATE reports SET status = 'held' WHERE id IN \
         (SELECT id FROM reports WHERE recorded_on = '2026-11-29' AND status = 'sent' ORDER BY id LIMIT 2000)",
    )
    .execute(&db.pool)
    .await
    .expect("tail");
    let tail: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM report_deltas")
        .fetch_one(&db.pool)
        .await
        .expect("count");
    measure(
        &db,
        backend,
        organization,
        license,
        &format!("with {tail} changes not folded yet"),
    )
    .await;
    db.pool.close().await;
}

async fn measure(db: &Db, backend: &str, organization: i64, license: i64, state: &str) {
    for filter in [None, Some(license)] {
        let at = if filter.is_some() {
            "one license"
        } else {
            "every license"
        };
        let mut rate_and_chart = Vec::with_capacity(ROUNDS);
        let mut rate = Vec::with_capacity(ROUNDS);
        let mut ranking = Vec::with_capacity(ROUNDS);
        let mut seen = (0, 0);
        for round in 0..ROUNDS + 10 {
            let t = Instant::now();
            let days = server::tally::days(db, organization, "2026-09-01", "2026-11-29", filter)
                .await
                .expect("days");
            let chart = t.elapsed();
            let t = Instant::now();
            let _ = server::tally::days(db, organization, "2026-11-16", "2026-11-29", filter)
                .await
                .expect("days");
            let recent = t.elapsed();
            let t = Instant::now();
            let fallbacks =
                server::tally::fallbacks(db, organization, "2026-09-01", "2026-11-29", filter)
                    .await
                    .expect("ranking");
            let ranked = t.elapsed();
            if round >= 10 {
                rate_and_chart.push(chart);
                rate.push(recent);
                ranking.push(ranked);
                seen = (days.len(), fallbacks.len());
            }
        }
        for (name, times) in [
            ("rate + chart, 90 days", &mut rate_and_chart),
            ("rate alone, 14 days", &mut rate),
            ("ranking, 90 days", &mut ranking),
        ] {
            times.sort();
            println!(
                "{backend} ({state}, {at}): {name:<22} median {:>9.3?}  p99 {:>9.3?}  (budget p99 <= 100 ms)",
                percentile(times, 0.5),
                percentile(times, 0.99),
            );
        }
        println!(
            "{backend} ({state}, {at}): {} days, {} (user, license) pairs falling back",
            seen.0, seen.1
        );
    }
}

/// The organization, its 50 licenses and 1,000 users, and the 1,000,000 reports. Returns the organization
/// and one license.
async fn seed(db: &Db, backend: &str) -> (i64, i64) {
    let mut tx = db.pool.begin().await.expect("transaction");
    let organization: i64 = sqlx::query_scalar(
        "INSERT INTO organizations (name, created_at) VALUES ('Bench Co.', 0) RETURNING id",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("organization");
    let mut licenses = Vec::new();
    for i in 0..50 {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO licenses (organization_id, number, state, display_name, license_type, provider, \
             tracked, active, time_zone, created_at) VALUES ($1, $2, 'CO', $3, 'Retail', 'metrc', TRUE, TRUE, 'America/Denver', 0) \
             RETURNING id",
        )
        .bind(organization)
        .bind(format!("402R-{i:05}"))
        .bind(format!("Store {i}"))
        .fetch_one(&mut *tx)
        .await
        .expect("license");
        licenses.push(id);
    }
    let mut users = Vec::new();
    for i in 0..1_000 {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (organization_id, email, display_name, role, active, created_at) \
             VALUES ($1, $2, $3, 'staff', TRUE, 0) RETURNING id",
        )
        .bind(organization)
        .bind(format!("user{i:04}@bench.test"))
        .bind(format!("User {i:04}"))
        .fetch_one(&mut *tx)
        .await
        .expect("user");
        users.push(id);
    }
    tx.commit().await.expect("commit");
    let (first_license, first_user) = (licenses[0], users[0]);
    // i = 0 .. 999,999: day i mod 90, user (i div 90) mod 1000 at license user mod 50 (ids are consecutive).
    let status = "CASE WHEN (u % 10) = 0 THEN 'sent' WHEN (i % 200) < 4 THEN 'held' WHEN (i % 200) < 6 THEN 'pending' \
                  WHEN (i % 200) = 6 THEN 'outcome_unknown' WHEN (i % 200) = 7 THEN 'dismissed' ELSE 'sent' END";
    let key = "CASE WHEN (u % 10) = 0 THEN 'default' ELSE 'credential' END";
    let sql = if backend == "SQLite" {
        format!(
            "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < 999999), \
             rows AS (SELECT i, (i / 90) % 1000 AS u, i % 90 AS d FROM seq) \
             INSERT INTO reports (organization_id, license_id, user_id, kind, payload, status, key_used, next_attempt_at, recorded_at, recorded_on) \
             SELECT $1, $2 + (u % 50), $3 + u, 'sale', '', {status}, {key}, 0, 1788220800 + d * 86400, date('2026-09-01', '+' || d || ' days') FROM rows"
        )
    } else {
        format!(
            "WITH rows AS (SELECT i, (i / 90) % 1000 AS u, i % 90 AS d FROM generate_series(0, 999999) AS i) \
             INSERT INTO reports (organization_id, license_id, user_id, kind, payload, status, key_used, next_attempt_at, recorded_at, recorded_on) \
             SELECT $1, $2 + (u % 50), $3 + u, 'sale', '', {status}, {key}, 0, 1788220800 + d * 86400, to_char(DATE '2026-09-01' + d::int, 'YYYY-MM-DD') FROM rows"
        )
    };
    sqlx::query(&sql)
        .bind(organization)
        .bind(first_license)
        .bind(first_user)
        .execute(&db.pool)
        .await
        .expect("reports");
    (organization, first_license)
}

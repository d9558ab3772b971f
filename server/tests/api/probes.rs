//! `/healthz` and `/readyz`: what an orchestrator reads. Ready means the database answers with every
//! migration applied and each background worker beats when it said it would.

use crate::harness::TestApp;
use crate::on_both_databases;
use server::hooks::Point;
use std::time::{Duration, Instant};

/// A worker two seconds late for its heartbeat makes the server unready.
const QUICK_STALE: &[(&str, &str)] = &[("READY_HEARTBEAT_SLACK_SECS", "2")];

/// `GET path`: its status and JSON body.
async fn probe(app: &TestApp, path: &str) -> (u16, serde_json::Value) {
    let response = TestApp::new_client()
        .get(app.url(path))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

/// Probes `/readyz` until it answers `status` (or 20 s pass), and returns its last answer.
async fn readiness_becomes(app: &TestApp, status: u16) -> (u16, serde_json::Value) {
    let started = Instant::now();
    loop {
        let answer = probe(app, "/readyz").await;
        if answer.0 == status || started.elapsed() > Duration::from_secs(20) {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

on_both_databases! {
    /// Alive and ready once started; a stuck outbox worker (paused by a hook) makes it unready, naming
    /// the worker; once the worker goes on, ready again.
    async fn readiness_follows_the_workers_heartbeats(app: TestApp) with QUICK_STALE {
        let (status, body) = probe(&app, "/healthz").await;
        assert_eq!((status, body["status"].as_str()), (200, Some("alive")));
        let (status, body) = readiness_becomes(&app, 200).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("ready")), "{body}");

        app.state.hooks.pause_at(Point::OutboxPass, Duration::from_secs(8));
        let (status, body) = readiness_becomes(&app, 503).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "not ready");
        let problems = body["problems"].to_string();
        assert!(problems.contains("the reporting outbox is"), "{problems}");
        assert!(!problems.contains("key re-check"), "{problems}");

        app.state.hooks.pause_at(Point::OutboxPass, Duration::ZERO);
        let (status, body) = readiness_becomes(&app, 200).await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The database stops taking connections (its connections are cut): unready, naming the database; once it
/// takes them again, ready again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_database_postgres() {
    let app = TestApp::spawn(server::db::Backend::Postgres).await;
    assert_eq!(readiness_becomes(&app, 200).await.0, 200);
    let admin_url = std::env::var("TEST_POSTGRES_URL").expect("TEST_POSTGRES_URL");
    let (_, name) = app.database_url.rsplit_once('/').expect("a database name");
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&admin_url).await.expect("admin");
    let run = |sql: String| {
        let admin = admin.clone();
        async move { sqlx::query(&sql).execute(&admin).await.expect("statement") }
    };
    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    run(format!(
        "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    let (status, body) = readiness_becomes(&app, 503).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["problems"].to_string().contains("database"), "{body}");

    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    let (status, body) = readiness_becomes(&app, 200).await;
    assert_eq!(status, 200, "{body}");
}

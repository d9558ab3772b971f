//! Prometheus metrics on `METRICS_ADDR`, scraped from a server process of its own (the metrics recorder
//! is one per process): the outbox's depth rises while METRC fails and falls once it answers, METRC's
//! answers are counted by state, endpoint and status class, and nothing secret or personal is in them.

use crate::harness::{PASSWORD, TestApp, sale};
use crate::on_both_databases;
use metrc_sim::demo::{CO_BOTH, COLFAX};
use metrc_sim::faults::{Fault, FaultKind};
use reqwest::Client;
use serde_json::json;
use shared::Role;
use std::time::{Duration, Instant};

/// The value of one series (`name{labels}` exactly as rendered), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        line.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

async fn scrape(addr: &str) -> String {
    let response = Client::new()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("the metrics listener answers");
    assert_eq!(response.status(), 200);
    response.text().await.expect("text")
}

/// Scrapes until `series` satisfies `want` (or 30 s pass), returning the last scrape.
async fn until(addr: &str, series: &str, want: impl Fn(f64) -> bool) -> String {
    let started = Instant::now();
    loop {
        let text = scrape(addr).await;
        if value(&text, series).is_some_and(&want) || started.elapsed() > Duration::from_secs(30) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const PENDING: &str = r#"tc_reports{status="pending",reason="none"}"#;
const SENT: &str = r#"tc_reports{status="sent",reason="none"}"#;

on_both_databases! {
    async fn the_outbox_depth_rises_while_metrc_fails_and_falls_after(app: TestApp) {
        let mut app = app;
        let licenses = app.add_demo_licenses().await;
        app.add_user("clerk@example.test", "Casey Clerk", Role::Staff).await;
        app.stop_server().await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let metrics_addr = format!("127.0.0.1:{port}");
        let (_child, base) = app
            .spawn_server_binary(&[
                ("METRICS_ADDR", metrics_addr.as_str()),
                ("OUTBOX_RETRY_SECS", "1"),
                ("OUTBOX_RETRY_MAX_SECS", "1"),
                ("METRC_DEADLINE_SECS", "2"),
                ("METRC_REQUEST_TIMEOUT_SECS", "2"),
            ])
            .await;
        // Not on the public port.
        let public = Client::new().get(format!("{base}/metrics")).send().await.expect("request");
        assert!(!public.text().await.unwrap_or_default().contains("tc_reports"));

        let clerk = TestApp::new_client();
        let post = |path: &str, body: serde_json::Value| {
            clerk.post(format!("{base}{path}")).header("origin", &base).json(&body).send()
        };
        let signed_in = post("/api/session", json!({ "email": "clerk@example.test", "password": PASSWORD })).await.expect("sign-in");
        assert_eq!(signed_in.status(), 200);
        let saved = post("/api/credentials", json!({ "provider": "metrc", "state": "CO",
            "license_ids": [licenses.colfax, licenses.pearl], "key": CO_BOTH })).await.expect("save");
        assert_eq!(saved.status(), 201);
        assert_eq!(
            value(&scrape(&metrics_addr).await, r#"tc_verify_and_save_total{state="CO",verdict="verified"}"#),
            Some(1.0)
        );

        app.sim.add_fault(Fault { state: "co".into(), user_key: None, kind: FaultKind::Unavailable, times: None });
        for _ in 0..3 {
            let recorded = post("/api/sales", sale(licenses.colfax, COLFAX)).await.expect("sale");
            assert_eq!(recorded.status(), 201);
        }
        let failing = until(&metrics_addr, r#"tc_metrc_requests_total{state="CO",endpoint="receipts",status="5xx"}"#, |n| n >= 2.0).await;
        assert_eq!(value(&failing, PENDING), Some(3.0), "{failing}");
        assert!(
            value(&failing, r#"tc_metrc_requests_total{state="CO",endpoint="receipts",status="5xx"}"#) >= Some(2.0),
            "{failing}"
        );
        let oldest = format!(r#"tc_oldest_pending_report_age_seconds{{organization="{}",license="402R-00101"}}"#, app.organization_id);
        let aged = until(&metrics_addr, &oldest, |age| age >= 1.0).await;
        assert!(value(&aged, &oldest) >= Some(1.0), "{aged}");
        assert_eq!(value(&aged, PENDING), Some(3.0), "still failing: {aged}");
        assert!(failing.contains("tc_metrc_request_duration_seconds_bucket"), "{failing}");

        app.sim.clear_faults();
        let drained = until(&metrics_addr, PENDING, |n| n == 0.0).await;
        assert_eq!(value(&drained, PENDING), Some(0.0), "{drained}");
        assert_eq!(value(&drained, SENT), Some(3.0), "{drained}");
        assert_eq!(value(&drained, &oldest), Some(0.0));
        assert_eq!(value(&drained, r#"tc_worker_heartbeat_late_seconds{worker="outbox"}"#), Some(0.0), "{drained}");
        for secret in [CO_BOTH, "clerk@example.test", "Casey Clerk", PASSWORD] {
            assert!(!drained.contains(secret), "{secret} is in the metrics");
        }
    }
}

//! Reporting exactly once off the paths the other tests walk: a redirect, a lost claim, a failed mark, a
//! lookup that cannot answer yet, a panic. Each test here failed on the outbox before it was hardened.

use crate::harness::{TestApp, receipts_with, record, sale, settled};
use crate::on_both_databases;
use metrc_sim::demo::{CO_BOTH, COLFAX, PEARL, package_label};
use metrc_sim::faults::{Fault, FaultKind};
use reqwest::Client;
use serde_json::{Value, json};
use server::hooks::Point;
use shared::report::{KeyUsed, ReportStatus, ReportView};
use std::time::{Duration, Instant};

async fn add_credential(app: &TestApp, client: &Client, ids: &[i64]) {
    let response = client
        .post(app.url("/api/credentials"))
        .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": ids, "key": CO_BOTH }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
}

/// The clerk's sale whose POST METRC took and whose answer was lost, with METRC unavailable from then
/// on (every lookup fails until the test clears the faults).
async fn sale_with_a_lost_answer(app: &TestApp, clerk: &Client, license_id: i64) -> ReportView {
    app.sim.add_fault(fault(FaultKind::DropConnection, Some(1)));
    app.sim.add_fault(fault(FaultKind::Unavailable, None));
    record(app, clerk, "/api/sales", &sale(license_id, COLFAX)).await
}

/// The admin sets the demo manager's key as Colorado's default key.
async fn set_default_key(app: &TestApp, admin: &Client) {
    let response = admin
        .put(app.url("/api/admin/integration/CO/default-key"))
        .json(&json!({ "key": metrc_sim::demo::CO_MANAGER, "version": null }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

/// The clerk deletes their (first) credential.
async fn delete_credential(app: &TestApp, clerk: &Client) {
    let page: Value = crate::harness::get_json(app, clerk, "/api/credentials").await;
    let deleted = clerk
        .delete(app.url(&format!(
            "/api/credentials/{}",
            page["credentials"][0]["id"]
        )))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
}

fn adjustment(license_id: i64, number: &str) -> Value {
    json!({ "license_id": license_id, "package_label": package_label(number, "0001"), "quantity": "-1",
            "unit": "Grams", "reason": "Drying", "date": "2026-11-27", "note": "" })
}

fn fault(kind: FaultKind, times: Option<u32>) -> Fault {
    Fault {
        state: "co".into(),
        user_key: None,
        kind,
        times,
    }
}

/// The report as "My reports" shows it now.
async fn current(app: &TestApp, client: &Client, id: i64) -> ReportView {
    let reports: Vec<ReportView> = crate::harness::get_json(app, client, "/api/reports").await;
    reports.into_iter().find(|r| r.id == id).expect("listed")
}

/// Waits until a report's status is `want` (or 20 s pass), returning it.
async fn becomes(app: &TestApp, client: &Client, id: i64, want: ReportStatus) -> ReportView {
    let started = Instant::now();
    loop {
        let report = current(app, client, id).await;
        if report.status == want || started.elapsed() > Duration::from_secs(20) {
            return report;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

on_both_databases! {
    /// METRC (or a proxy before it) answers a receipt's POST with a redirect to a URL answering 200. A
    /// followed redirect turned the POST into a GET and the sale read "Sent" with nothing in METRC; now
    /// the receipt is looked up, not found, and sent — once.
    async fn a_redirected_sale_reaches_metrc_once(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        app.sim.add_fault(fault(FaultKind::Redirect, Some(1)));
        let recorded = record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let report = settled(&app, &clerk, recorded.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number).len(), 1, "in METRC exactly once");
    }

    /// A redirected adjustment cannot be looked up: "outcome unknown", never "Sent".
    async fn a_redirected_adjustment_is_outcome_unknown(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        app.sim.add_fault(fault(FaultKind::Redirect, Some(1)));
        let recorded = record(&app, &clerk, "/api/adjustments", &adjustment(licenses.colfax, COLFAX)).await;
        let report = settled(&app, &clerk, recorded.id).await;
        assert_eq!(report.status, ReportStatus::OutcomeUnknown, "{report:?}");
        assert!(app.sim.adjustments("co").is_empty());
    }

    /// The outbox worker panics: its supervisor logs it and starts it again, and the sale goes out.
    async fn a_panicking_worker_is_restarted(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        app.state.hooks.panic_at(Point::OutboxPass);
        let recorded = record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert!(crate::harness::logs().contains("a background task stopped; restarting it"));
        assert!(app.state.heartbeats.outbox.due().is_some());
    }

    /// A handler that panics answers the envelope's 500 and the server goes on serving.
    async fn a_panicking_handler_answers_500_and_the_server_goes_on(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        app.state.hooks.panic_at(Point::KeyWriteStarted);
        let response = clerk
            .post(app.url("/api/credentials"))
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax], "key": CO_BOTH }))
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(response.status(), 500);
        let error = crate::harness::envelope(response).await;
        assert_eq!(error.code, shared::api::ErrorCode::Internal);
        add_credential(&app, &clerk, &[licenses.colfax]).await;
    }
}

/// A worker's claim expires while METRC holds its first POST, and a second server takes the rest: the
/// first must not post what it no longer holds. (PostgreSQL: the only backend several servers share.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_that_lost_its_claim_does_not_post_postgres() {
    let app = TestApp::spawn_with(
        server::db::Backend::Postgres,
        &[
            ("OUTBOX_LEASE_SECS", "1"),
            ("OUTBOX_POSTS_PER_LICENSE", "1"),
            ("OUTBOX_POLL_MS", "100"),
            // The 3 s POST outlives the 2 s request timeout: looked up until it has surely settled, then
            // posted again — quickly.
            ("OUTBOX_RETRY_SECS", "1"),
            ("OUTBOX_RETRY_MAX_SECS", "2"),
        ],
    )
    .await;
    let licenses = app.add_demo_licenses().await;
    let (_, clerk) = app.signed_in_user("clerk@example.test").await;
    // Twenty sales held for want of a key, released together: one pass claims all of them.
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(
            record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX))
                .await
                .id,
        );
    }
    for id in &ids {
        assert_eq!(settled(&app, &clerk, *id).await.status, ReportStatus::Held);
    }
    let second = app.build_another().await.expect("a second server");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(second.run_until(async move {
        let _ = stopped.await;
    }));
    // The first POST (whoever sends it) waits 3 s in METRC; the rest of that pass's claim expires meanwhile.
    // (The first fault is taken by the credential's own key check, which comes first.)
    app.sim
        .add_fault(fault(FaultKind::Latency { ms: 0 }, Some(1)));
    app.sim
        .add_fault(fault(FaultKind::Latency { ms: 3_000 }, Some(1)));
    add_credential(&app, &clerk, &[licenses.colfax]).await;
    for id in &ids {
        let report = becomes(&app, &clerk, *id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
    }
    // Whatever is still in flight lands.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let numbers: Vec<String> = app
        .sim
        .receipts("co")
        .into_iter()
        .map(|r| {
            r.body["ExternalReceiptNumber"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(numbers.len(), 20, "every sale exactly once: {numbers:?}");
    assert!(
        crate::harness::logs().contains("claimed by another worker: not posted here"),
        "the race this test is about did happen"
    );
    let _ = stop.send(());
    let _ = serving.await;
}

/// Retries within a second or two, so a test waits seconds, not minutes.
const QUICK_RETRIES: &[(&str, &str)] =
    &[("OUTBOX_RETRY_SECS", "1"), ("OUTBOX_RETRY_MAX_SECS", "2")];

/// Quick retries, and a lookup that finds nothing believed 4 s after the POST (plus METRC's deadline and
/// request timeout): lookups come many times before that.
const SLOW_SETTLE: &[(&str, &str)] = &[
    ("OUTBOX_RETRY_SECS", "1"),
    ("OUTBOX_RETRY_MAX_SECS", "2"),
    ("OUTBOX_SETTLE_SECS", "4"),
];

/// Quick retries, and a receipt that cannot be looked up is "outcome unknown" at the first failure.
const GIVE_UP_AT_ONCE: &[(&str, &str)] = &[
    ("OUTBOX_RETRY_SECS", "1"),
    ("OUTBOX_RETRY_MAX_SECS", "2"),
    ("OUTBOX_LOOKUP_GIVE_UP_HOURS", "0"),
];

on_both_databases! {
    /// METRC's gateway answers 504 while METRC applies the batch a second later: a lookup at once finds
    /// nothing, yet the sale is not posted again; once the POST has settled it is looked up, found, Sent.
    async fn a_sale_applied_after_its_504_is_posted_once(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        app.sim.add_fault(fault(FaultKind::LateApply { ms: 1_000 }, Some(1)));
        let recorded = record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number).len(), 1, "in METRC once");
        assert_eq!(app.sim.post_count(), 1, "posted once");
    }

    /// A report a worker holds right now (its POST in flight) cannot be dismissed: that could not stop it.
    async fn a_report_being_sent_cannot_be_dismissed(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("admin@example.test", "Avery Admin", shared::Role::Admin).await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        app.sim.add_fault(fault(FaultKind::Latency { ms: 2_000 }, Some(1)));
        let recorded = record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let started = Instant::now();
        while app.sim.post_count() == 0 && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let refused = admin
            .post(app.url(&format!("/api/admin/compliance/{}/dismiss", recorded.id)))
            .json(&json!({ "reason": "entered in METRC by hand" }))
            .send()
            .await
            .expect("request");
        assert_eq!(refused.status(), 409);
        // Nor resent: its sender would write its outcome over the resend.
        for action in ["resend", "resend-default"] {
            let refused = admin
                .post(app.url(&format!("/api/admin/compliance/{}/{action}", recorded.id)))
                .send()
                .await
                .expect("request");
            assert_eq!(refused.status(), 409, "{action}");
        }
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
    }

    /// A sale held because the clerk's key stopped working: the clerk deletes that credential, and the
    /// sale is decided again — the organization's default key covers the license, so it goes under it.
    /// (It stayed held "401 Unauthorized" for good before: a deletion released nothing.)
    async fn deleting_a_broken_credential_sends_what_it_held_under_the_default_key(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("admin@example.test", "Avery Admin", shared::Role::Admin).await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        set_default_key(&app, &admin).await;
        app.sim.revoke_user_key("co", CO_BOTH);
        let recorded = record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let held = becomes(&app, &clerk, recorded.id, ReportStatus::Held).await;
        assert_eq!(held.reason.as_deref(), Some("401 Unauthorized"), "{held:?}");
        delete_credential(&app, &clerk).await;
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Default));
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number), [metrc_sim::demo::CO_MANAGER]);
    }
}

on_both_databases! {
    /// Marking one batch fails (a database error planted by a trigger): the other license's batch, already
    /// in METRC, is still recorded as sent — its outcome is not thrown away with the failed one's.
    async fn one_failed_mark_keeps_the_other_batches_outcomes(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        // Recorded while no key covers them, then released together into one pass.
        let at_colfax = record(
            &app,
            &clerk,
            "/api/adjustments",
            &adjustment(licenses.colfax, COLFAX),
        )
        .await;
        let at_pearl = record(
            &app,
            &clerk,
            "/api/adjustments",
            &adjustment(licenses.pearl, PEARL),
        )
        .await;
        assert_eq!(
            settled(&app, &clerk, at_pearl.id).await.status,
            ReportStatus::Held
        );
        let planted = match app.db.backend {
            server::db::Backend::Sqlite => vec![format!(
                "CREATE TRIGGER planted BEFORE UPDATE OF posting ON reports WHEN NEW.posting AND NEW.id = {} \
                 BEGIN SELECT RAISE(ABORT, 'planted'); END",
                at_pearl.id
            )],
            server::db::Backend::Postgres => vec![
                "CREATE FUNCTION planted() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'planted'; END $$ LANGUAGE plpgsql"
                    .to_owned(),
                format!(
                    "CREATE TRIGGER planted BEFORE UPDATE OF posting ON reports FOR EACH ROW \
                     WHEN (NEW.posting AND NEW.id = {}) EXECUTE FUNCTION planted()",
                    at_pearl.id
                ),
            ],
        };
        for sql in &planted {
            app.execute(sql, &[]).await;
        }
        add_credential(&app, &clerk, &[licenses.colfax, licenses.pearl]).await;
        let colfax = becomes(&app, &clerk, at_colfax.id, ReportStatus::Sent).await;
        assert_eq!(colfax.status, ReportStatus::Sent, "{colfax:?}");
        assert_eq!(app.sim.adjustments("co").len(), 1, "only Colfax's went");
        let drop = match app.db.backend {
            server::db::Backend::Sqlite => "DROP TRIGGER planted",
            server::db::Backend::Postgres => "DROP TRIGGER planted ON reports",
        };
        app.execute(drop, &[]).await;
        let pearl = becomes(&app, &clerk, at_pearl.id, ReportStatus::Sent).await;
        assert_eq!(pearl.status, ReportStatus::Sent, "{pearl:?}");
        assert_eq!(app.sim.adjustments("co").len(), 2, "each once");
    }

    /// A redirected sale (not taken) is looked up pass after pass, retries coming quicker than a POST
    /// takes to settle. A lookup is not a POST: the wait counts from the POST, so once it has settled the
    /// sale is posted again and Sent, once. (It stayed pending for ever while each lookup restarted the
    /// wait — found by the chaos harness.)
    async fn a_sale_looked_up_often_is_posted_again_once_its_post_settled(app: TestApp) with SLOW_SETTLE {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        app.sim.add_fault(fault(FaultKind::Redirect, Some(1)));
        let recorded = record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number).len(), 1, "in METRC once");
        assert_eq!(app.sim.post_count(), 2, "the redirected POST and one more");
    }

    /// A sale's answer is lost and METRC cannot be asked about it for a while: it is looked up again and
    /// again (never "outcome unknown" after one failed lookup, never posted again blind), and once METRC
    /// answers it is Sent — once.
    async fn a_receipt_is_looked_up_until_metrc_answers(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        let recorded = sale_with_a_lost_answer(&app, &clerk, licenses.colfax).await;
        // Through several failed lookups: still waiting, never given up.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(8) {
            let report = current(&app, &clerk, recorded.id).await;
            assert_eq!(report.status, ReportStatus::Pending, "{report:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        app.sim.clear_faults();
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Credential));
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number).len(), 1);
        assert_eq!(app.sim.post_count(), 1, "never posted again meanwhile");
    }

    /// "Resend" on an adjustment whose outcome is unknown (METRC may have applied it; it cannot be asked):
    /// refused until the admin confirms they checked METRC and it is not there, then sent — and audited so.
    async fn resending_an_unknown_adjustment_needs_the_admins_check(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app
            .signed_in_as("admin@example.test", "Avery Admin", shared::Role::Admin)
            .await;
        let (clerk_id, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        // A 500: METRC may or may not have taken it (here it did not).
        app.sim.add_fault(fault(FaultKind::ServerError, Some(1)));
        let recorded = record(
            &app,
            &clerk,
            "/api/adjustments",
            &adjustment(licenses.colfax, COLFAX),
        )
        .await;
        let report = settled(&app, &clerk, recorded.id).await;
        assert_eq!(report.status, ReportStatus::OutcomeUnknown, "{report:?}");
        let resend = |body: Option<Value>| {
            let mut request =
                admin.post(app.url(&format!("/api/admin/compliance/{}/resend", recorded.id)));
            if let Some(body) = body {
                request = request.json(&body);
            }
            request.send()
        };
        let refused = resend(None).await.expect("request");
        assert_eq!(refused.status(), 409);
        let error = crate::harness::envelope(refused).await;
        assert_eq!(error.message, shared::report::resend::CHECK_METRC_FIRST);
        let unchecked = resend(Some(json!({ "checked_not_in_metrc": false })))
            .await
            .expect("request");
        assert_eq!(unchecked.status(), 409);
        assert_eq!(
            current(&app, &clerk, recorded.id).await.status,
            ReportStatus::OutcomeUnknown
        );
        assert!(
            app.sim.adjustments("co").is_empty(),
            "nothing was sent meanwhile"
        );

        let checked = resend(Some(json!({ "checked_not_in_metrc": true })))
            .await
            .expect("request");
        assert_eq!(checked.status(), 204);
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(app.sim.adjustments("co").len(), 1);
        let details: Vec<String> = sqlx::query_scalar(
            "SELECT detail FROM audit_log WHERE action = 'report_resent' AND subject_user_id = $1",
        )
        .bind(clerk_id)
        .fetch_all(&app.db.pool)
        .await
        .expect("audit");
        assert_eq!(details.len(), 1, "{details:?}");
        assert!(details[0].contains("checked METRC"), "{details:?}");
    }

    /// A sale whose answer was lost; then its key is revoked, so the lookup itself is refused (401). The
    /// sale is held for the key — still marked, since METRC never said whether it has it — and once the
    /// clerk saves a new key it is looked up, found, never posted again.
    async fn a_sale_whose_lookup_is_refused_keeps_its_mark(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        let recorded = sale_with_a_lost_answer(&app, &clerk, licenses.colfax).await;
        let started = Instant::now();
        while current(&app, &clerk, recorded.id).await.reason.is_none()
            && started.elapsed() < Duration::from_secs(10)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(app.sim.revoke_user_key("co", CO_BOTH));
        app.sim.clear_faults();
        let held = becomes(&app, &clerk, recorded.id, ReportStatus::Held).await;
        assert_eq!(held.reason.as_deref(), Some(shared::report::reasons::UNAUTHORIZED), "{held:?}");
        let page: Value = crate::harness::get_json(&app, &clerk, "/api/credentials").await;
        let credential = &page["credentials"][0];
        let saved = clerk
            .put(app.url(&format!("/api/credentials/{}", credential["id"])))
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax],
                           "key": metrc_sim::demo::CO_COLFAX_ONLY, "version": credential["version"] }))
            .send()
            .await
            .expect("request");
        assert_eq!(saved.status(), 200);
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number).len(), 1);
        assert_eq!(app.sim.post_count(), 1, "posted once, found by the lookup");
    }

    /// A pass decides to hold a sale for want of a key just as the clerk saves one: the save's release
    /// cannot see the sale (it is claimed, still pending), so the pass, seeing keys changed since its
    /// claim, sends it again instead of holding it. (Held "No credential for …" for good before — found by
    /// the chaos harness.)
    async fn a_key_saved_while_a_pass_decides_to_hold_still_sends_the_sale(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        let decided = app.state.hooks.pause_at(Point::OutboxDecided, Duration::from_millis(1500));
        let recorded = record(&app, &clerk, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        decided.notified().await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Credential));
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number), [CO_BOTH]);
    }

    /// A sale posted under the clerk's own key whose answer was lost, then found by a lookup under the
    /// default key (the clerk deleted their credential meanwhile): it went under the clerk's key, and the
    /// product says so. (It said "default key" before — found by the chaos harness's review.)
    async fn a_sale_found_by_a_later_lookup_keeps_the_key_it_went_under(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", shared::Role::Admin).await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        set_default_key(&app, &admin).await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        let recorded = sale_with_a_lost_answer(&app, &clerk, licenses.colfax).await;
        // The send is over: its answer lost, its lookups failed, it waits to be looked up again.
        let started = Instant::now();
        while current(&app, &clerk, recorded.id).await.reason.is_none_or(|r| !r.contains("looked up again"))
            && started.elapsed() < Duration::from_secs(15)
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        delete_credential(&app, &clerk).await;
        app.sim.clear_faults();
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Credential), "{report:?}");
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number), [CO_BOTH], "in METRC once, under the clerk's key");
    }

    /// A sale whose answer was lost, then held (its key turned invalid) before METRC could be asked: it keeps
    /// its mark through the hold, so once the key is fixed it is looked up — found — never posted again.
    async fn a_held_sale_that_may_be_in_metrc_is_looked_up_when_released(app: TestApp) with QUICK_RETRIES {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        let recorded = sale_with_a_lost_answer(&app, &clerk, licenses.colfax).await;
        let started = Instant::now();
        while app.sim.post_count() == 0 && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The key turns invalid before the lookup could answer: the next pass holds the sale.
        app.execute(
            "UPDATE credentials SET status = 'invalid', version = version + 1",
            &[],
        )
        .await;
        let held = becomes(&app, &clerk, recorded.id, ReportStatus::Held).await;
        assert_eq!(held.status, ReportStatus::Held, "{held:?}");
        app.sim.clear_faults();
        // The clerk saves their key again: the held sale is released, looked up, found.
        let page: Value = crate::harness::get_json(&app, &clerk, "/api/credentials").await;
        let credential = &page["credentials"][0];
        let saved = clerk
            .put(app.url(&format!("/api/credentials/{}", credential["id"])))
            .json(
                &json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax],
                           "key": "", "version": credential["version"] }),
            )
            .send()
            .await
            .expect("request");
        assert_eq!(saved.status(), 200);
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let number = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &number).len(), 1);
        assert_eq!(app.sim.post_count(), 1, "posted once, found by the lookup");
    }
}

on_both_databases! {
    /// "Resend" on a sale whose outcome is unknown (its answer was lost, and lookups gave up): it is looked up
    /// first, found, and shown Sent — never posted a second time.
    async fn resending_an_unknown_sale_looks_it_up_first(app: TestApp) with GIVE_UP_AT_ONCE {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app
            .signed_in_as("admin@example.test", "Avery Admin", shared::Role::Admin)
            .await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &clerk, &[licenses.colfax]).await;
        let recorded = sale_with_a_lost_answer(&app, &clerk, licenses.colfax).await;
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::OutcomeUnknown).await;
        assert_eq!(report.status, ReportStatus::OutcomeUnknown, "{report:?}");
        app.sim.clear_faults();
        let resent = admin
            .post(app.url(&format!("/api/admin/compliance/{}/resend", recorded.id)))
            .send()
            .await
            .expect("request");
        assert_eq!(resent.status(), 204);
        let report = becomes(&app, &clerk, recorded.id, ReportStatus::Sent).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let number = report.external_number.expect("number");
        assert_eq!(
            receipts_with(&app, "co", &number).len(),
            1,
            "never posted twice"
        );
    }
}

//! Recording sales and adjustments, and the outbox that sends them to the METRC simulator under the key
//! the product's table chooses: every row of the table, a revoked key, a lost license, replay after a
//! fix, a refused row, a storm of 503s.

use crate::harness::{TestApp, envelope, logs, receipts_with, record, sale, settled};
use crate::on_both_databases;
use metrc_sim::demo::{CO_BOTH, CO_MANAGER, COLFAX, MA_NEWBURY, NEWBURY, PEARL, package_label};
use metrc_sim::faults::{Fault, FaultKind};
use reqwest::Client;
use serde_json::{Value, json};
use shared::Role;
use shared::report::{KeyUsed, ReportStatus, ReportView, reasons};
use std::time::{Duration, Instant};

async fn add_credential(
    app: &TestApp,
    client: &Client,
    state: &str,
    ids: &[i64],
    key: &str,
) -> i64 {
    let response = client
        .post(app.url("/api/credentials"))
        .json(&json!({ "provider": "metrc", "state": state, "license_ids": ids, "key": key }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201);
    let saved: Value = response.json().await.expect("saved");
    saved["credential"]["id"].as_i64().expect("id")
}

async fn set_default_key(app: &TestApp, admin: &Client, state: &str, key: &str) {
    let response = admin
        .put(app.url(&format!("/api/admin/integration/{state}/default-key")))
        .json(&json!({ "key": key, "version": null }))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
}

on_both_databases! {
    async fn a_sale_goes_out_under_the_users_own_verified_key_in_facility_time(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        let credential = add_credential(&app, &staff, "CO", &[licenses.colfax, licenses.pearl], CO_BOTH).await;
        let recorded = record(&app, &staff, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let external = recorded.external_number.clone().expect("a receipt number");
        assert_eq!(recorded.status, ReportStatus::Pending);
        let report = settled(&app, &staff, recorded.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Credential));
        assert_eq!(receipts_with(&app, "co", &external), [CO_BOTH]);
        let body = &app.sim.receipts("co").into_iter().find(|r| r.body["ExternalReceiptNumber"] == external.as_str()).expect("receipt").body;
        let when = body["SalesDateTime"].as_str().expect("a time");
        assert_eq!(when.len(), "2026-01-15T05:00:00.000".len(), "{when}");
        assert!(!when.contains('Z') && !when.contains('+'), "facility-local, no offset: {when}");
        assert_eq!(app.count("SELECT COUNT(*) FROM reports WHERE credential_id = $1", &[credential]).await, 1);
        // An adjustment too.
        let adjustment = record(&app, &staff, "/api/adjustments", &json!({
            "license_id": licenses.pearl, "package_label": package_label(PEARL, "0001"), "quantity": "-2",
            "unit": "Grams", "reason": "Drying", "date": "2026-11-27", "note": "" })).await;
        let report = settled(&app, &staff, adjustment.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(app.sim.adjustments("co").len(), 1);
        assert_eq!(app.sim.adjustments("co")[0].user_key, CO_BOTH);
    }

    async fn without_a_credential_the_default_key_is_used_and_without_either_the_report_waits(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        set_default_key(&app, &admin, "CO", CO_MANAGER).await;
        let co = record(&app, &staff, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let report = settled(&app, &staff, co.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Default));
        assert_eq!(receipts_with(&app, "co", co.external_number.as_deref().expect("number")), [CO_MANAGER]);

        // Massachusetts has no default key and the clerk no credential: held, named, not sent.
        let ma = record(&app, &staff, "/api/sales", &sale(licenses.newbury, NEWBURY)).await;
        let report = settled(&app, &staff, ma.id).await;
        assert_eq!(report.status, ReportStatus::Held);
        assert_eq!(report.reason.as_deref(), Some(reasons::no_credential(NEWBURY).as_str()));
        assert!(app.sim.receipts("ma").is_empty());
        // A default key for MA sends it, once.
        set_default_key(&app, &admin, "MA", MA_NEWBURY).await;
        let report = settled(&app, &staff, ma.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(receipts_with(&app, "ma", ma.external_number.as_deref().expect("number")), [MA_NEWBURY]);
    }

    async fn a_revoked_key_holds_the_sale_as_401_until_the_credential_is_fixed_then_it_goes_once(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        set_default_key(&app, &admin, "CO", CO_MANAGER).await;
        let credential = add_credential(&app, &staff, "CO", &[licenses.colfax, licenses.pearl], CO_BOTH).await;
        let new_key = app.sim.rotate_user_key("co", CO_BOTH).expect("the key exists");

        let recorded = record(&app, &staff, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let report = settled(&app, &staff, recorded.id).await;
        assert_eq!(report.status, ReportStatus::Held);
        assert_eq!(report.reason.as_deref(), Some(reasons::UNAUTHORIZED));
        let status: String = sqlx::query_scalar("SELECT status FROM credentials WHERE id = $1")
            .bind(credential).fetch_one(&app.db.pool).await.expect("row");
        assert_eq!(status, "invalid", "the re-check marked the credential");
        let external = recorded.external_number.clone().expect("number");
        assert!(receipts_with(&app, "co", &external).is_empty(), "never under the default key instead");
        // Another sale while invalid: held at once, no POST.
        let second = record(&app, &staff, "/api/sales", &sale(licenses.pearl, PEARL)).await;
        assert_eq!(settled(&app, &staff, second.id).await.reason.as_deref(), Some(reasons::UNAUTHORIZED));

        // The user pastes their new key: both go out under it, once each.
        let page: Value = staff.get(app.url("/api/credentials")).send().await.expect("page").json().await.expect("json");
        let version = page["credentials"][0]["version"].as_i64().expect("version");
        let response = staff.put(app.url(&format!("/api/credentials/{credential}")))
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax, licenses.pearl], "key": new_key, "version": version }))
            .send().await.expect("request");
        assert_eq!(response.status(), 200);
        for (id, number) in [(recorded.id, external.clone()), (second.id, second.external_number.clone().expect("number"))] {
            let report = settled(&app, &staff, id).await;
            assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
            assert_eq!(receipts_with(&app, "co", &number), std::slice::from_ref(&new_key));
        }
        assert!(!logs().contains(&new_key), "a key reached the log");
    }

    async fn a_key_that_lost_a_license_holds_the_sale_as_no_access(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        let credential = add_credential(&app, &staff, "CO", &[licenses.colfax, licenses.pearl], CO_BOTH).await;
        assert!(app.sim.set_user_key_facilities("co", CO_BOTH, &[COLFAX]));
        let recorded = record(&app, &staff, "/api/sales", &sale(licenses.pearl, PEARL)).await;
        let report = settled(&app, &staff, recorded.id).await;
        assert_eq!(report.status, ReportStatus::Held);
        assert_eq!(report.reason.as_deref(), Some(reasons::no_access(PEARL).as_str()));
        let status: String = sqlx::query_scalar("SELECT status FROM credentials WHERE id = $1")
            .bind(credential).fetch_one(&app.db.pool).await.expect("row");
        assert_eq!(status, "license_lost");
        assert!(app.sim.receipts("co").is_empty());
    }

    async fn a_refused_row_is_held_with_metrcs_message_and_the_rest_go_out(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &staff, "CO", &[licenses.colfax], CO_BOTH).await;
        let mut bad = sale(licenses.colfax, COLFAX);
        bad["transactions"][0]["package_label"] = json!("1A4000000000000000009999");
        let bad = record(&app, &staff, "/api/sales", &bad).await;
        let good = record(&app, &staff, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let bad = settled(&app, &staff, bad.id).await;
        assert_eq!(bad.status, ReportStatus::Held);
        assert_eq!(
            bad.reason.as_deref(),
            Some("Package 1A4000000000000000009999 is not an active package at 402R-00101."),
            "METRC's own message"
        );
        assert_eq!(settled(&app, &staff, good.id).await.status, ReportStatus::Sent);
        assert_eq!(app.sim.receipts("co").len(), 1);
    }

    async fn a_patients_license_number_reaches_metrc_and_nothing_else(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &staff, "CO", &[licenses.colfax], CO_BOTH).await;
        let patient = "CO-PATIENT-93-4471";
        let mut body = sale(licenses.colfax, COLFAX);
        body["customer_type"] = json!("Patient");
        body["patient_license_number"] = json!(patient);
        let response = staff.post(app.url("/api/sales")).json(&body).send().await.expect("request");
        assert_eq!(response.status(), 201);
        let text = response.text().await.expect("body");
        assert!(!text.contains(patient), "not echoed: {text}");
        let recorded: ReportView = serde_json::from_str(&text).expect("report");
        assert_eq!(settled(&app, &staff, recorded.id).await.status, ReportStatus::Sent);
        let receipt = app.sim.receipts("co").pop().expect("in METRC");
        assert_eq!(receipt.body["PatientLicenseNumber"], patient);
        let listed = staff.get(app.url("/api/reports")).send().await.expect("request").text().await.expect("body");
        assert!(!listed.contains(patient));
        assert!(!logs().contains(patient), "a patient number reached the log");
        // A sale to a patient without one is refused at once.
        body["patient_license_number"] = json!("");
        let response = staff.post(app.url("/api/sales")).json(&body).send().await.expect("request");
        assert_eq!(response.status(), 422);
    }

    async fn a_deactivated_users_waiting_reports_go_out_under_the_default_key(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let (staff_id, staff) = app.signed_in_user("clerk@example.test").await;
        add_credential(&app, &staff, "CO", &[licenses.colfax], CO_BOTH).await;
        assert!(app.sim.revoke_user_key("co", CO_BOTH));
        let recorded = record(&app, &staff, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        assert_eq!(settled(&app, &staff, recorded.id).await.reason.as_deref(), Some(reasons::UNAUTHORIZED));
        // The clerk leaves: their key is destroyed; what they recorded still has to reach METRC.
        let users: shared::admin::UsersAdminPage = admin.get(app.url("/api/admin/users")).send().await.expect("request").json().await.expect("users");
        let clerk = users.users.iter().find(|u| u.id == staff_id).expect("listed");
        let response = admin.put(app.url(&format!("/api/admin/users/{staff_id}")))
            .json(&json!({ "role": "staff", "active": false, "version": clerk.version })).send().await.expect("request");
        assert_eq!(response.status(), 200);
        set_default_key(&app, &admin, "CO", CO_MANAGER).await;
        let started = Instant::now();
        while receipts_with(&app, "co", recorded.external_number.as_deref().expect("number")).is_empty() && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(receipts_with(&app, "co", recorded.external_number.as_deref().expect("number")), [CO_MANAGER]);
    }

    async fn recording_is_refused_at_an_inactive_license_or_another_organizations(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        app.execute("UPDATE licenses SET active = FALSE WHERE id = $1", &[licenses.colfax]).await;
        let response = staff.post(app.url("/api/sales")).json(&sale(licenses.colfax, COLFAX)).send().await.expect("request");
        assert_eq!(response.status(), 409);
        assert!(envelope(response).await.message.contains("402R-00101 is inactive or not tracked"));
        let response = staff.post(app.url("/api/sales")).json(&sale(999_999, COLFAX)).send().await.expect("request");
        assert_eq!(response.status(), 422);
        let response = staff.post(app.url("/api/sales")).json(&json!({ "license_id": licenses.pearl, "customer_type": "Consumer", "transactions": [] })).send().await.expect("request");
        assert_eq!(response.status(), 422);
        assert_eq!(app.count("SELECT COUNT(*) FROM reports", &[]).await, 0, "nothing recorded");
    }
}

on_both_databases! {
    async fn compliance_management_resends_with_the_default_key_or_dismisses_each_audited(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        set_default_key(&app, &admin, "CO", CO_MANAGER).await;
        add_credential(&app, &staff, "CO", &[licenses.colfax, licenses.pearl], CO_BOTH).await;
        assert!(app.sim.revoke_user_key("co", CO_BOTH));
        let first = record(&app, &staff, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        let second = record(&app, &staff, "/api/sales", &sale(licenses.pearl, PEARL)).await;
        for r in [&first, &second] {
            assert_eq!(settled(&app, &staff, r.id).await.reason.as_deref(), Some(reasons::UNAUTHORIZED));
        }
        // Staff cannot see or act on it.
        assert_eq!(staff.get(app.url("/api/admin/compliance")).send().await.expect("request").status(), 403);
        let page: shared::report::CompliancePage = admin.get(app.url("/api/admin/compliance")).send().await.expect("request").json().await.expect("page");
        assert_eq!(page.reports.len(), 2);
        assert_eq!(page.reports[0].user, "Casey Clerk");
        assert_eq!(page.counts, [(reasons::UNAUTHORIZED.to_owned(), 2)]);
        // The staff member's credentials page counts what waits for the key.
        let credentials: Value = staff.get(app.url("/api/credentials")).send().await.expect("request").json().await.expect("page");
        assert_eq!(credentials["credentials"][0]["waiting"], 2);

        // "Resend with default key": goes out under the default key, by the admin's decision.
        let response = admin.post(app.url(&format!("/api/admin/compliance/{}/resend-default", first.id))).send().await.expect("request");
        assert_eq!(response.status(), 204);
        let report = settled(&app, &staff, first.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Default));
        assert_eq!(receipts_with(&app, "co", first.external_number.as_deref().expect("number")), [CO_MANAGER]);
        // "Dismiss" needs a reason.
        let url = app.url(&format!("/api/admin/compliance/{}/dismiss", second.id));
        assert_eq!(admin.post(&url).json(&json!({ "reason": " " })).send().await.expect("request").status(), 422);
        assert_eq!(admin.post(&url).json(&json!({ "reason": "Voided at the register" })).send().await.expect("request").status(), 204);
        assert_eq!(settled(&app, &staff, second.id).await.status, ReportStatus::Dismissed);
        // Both decisions are in the audit log; a sent or dismissed report cannot be acted on again.
        let audit: shared::admin::AuditPage = admin.get(app.url("/api/admin/audit")).send().await.expect("request").json().await.expect("audit");
        let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).take(2).collect();
        assert_eq!(actions, ["report_dismissed", "report_resent_with_default_key"]);
        assert!(audit.entries[0].detail.contains("Voided at the register"));
        for id in [first.id, second.id] {
            let response = admin.post(app.url(&format!("/api/admin/compliance/{id}/resend"))).send().await.expect("request");
            assert_eq!(response.status(), 404);
        }
        assert!(app.sim.receipts("co").len() == 1, "the dismissed sale never went out");
    }
}

async fn storm(backend: server::db::Backend) {
    let app = TestApp::spawn_with(backend, &[("OUTBOX_RETRY_SECS", "1")]).await;
    let licenses = app.add_demo_licenses().await;
    let (_, staff) = app.signed_in_user("clerk@example.test").await;
    add_credential(
        &app,
        &staff,
        "CO",
        &[licenses.colfax, licenses.pearl],
        CO_BOTH,
    )
    .await;
    // METRC answers 503 and then 429 for a while; every receipt still arrives exactly once.
    for kind in [
        FaultKind::Unavailable,
        FaultKind::RateLimited {
            retry_after_secs: None,
        },
    ] {
        app.sim.add_fault(Fault {
            state: "co".into(),
            user_key: None,
            kind,
            times: Some(6),
        });
    }
    let mut recorded = Vec::new();
    for i in 0..25 {
        let (id, number) = if i % 2 == 0 {
            (licenses.colfax, COLFAX)
        } else {
            (licenses.pearl, PEARL)
        };
        recorded.push(record(&app, &staff, "/api/sales", &sale(id, number)).await);
    }
    for r in &recorded {
        let report = settled(&app, &staff, r.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let number = r.external_number.as_deref().expect("number");
        assert_eq!(
            receipts_with(&app, "co", number).len(),
            1,
            "{number} exactly once"
        );
    }
    assert_eq!(app.sim.receipts("co").len(), 25);
}

#[tokio::test]
async fn a_storm_of_503_and_429_delivers_every_receipt_once_sqlite() {
    storm(server::db::Backend::Sqlite).await;
}

#[tokio::test]
async fn a_storm_of_503_and_429_delivers_every_receipt_once_postgres() {
    storm(server::db::Backend::Postgres).await;
}

/// The credential's status as the user's credentials page shows it, once it is `want` (or after 10 s).
async fn status_becomes(app: &TestApp, client: &Client, want: &str) -> String {
    let started = Instant::now();
    loop {
        let page: Value = client
            .get(app.url("/api/credentials"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("page");
        let status = page["credentials"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if status == want || started.elapsed() > Duration::from_secs(10) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn background_recheck(backend: server::db::Backend) {
    // Every key is due at once, checked one every 20 ms.
    let app = TestApp::spawn_with(
        backend,
        &[("KEY_RECHECK_HOURS", "0"), ("KEY_RECHECK_PACE_MS", "20")],
    )
    .await;
    let licenses = app.add_demo_licenses().await;
    let (_, staff) = app.signed_in_user("clerk@example.test").await;
    add_credential(
        &app,
        &staff,
        "CO",
        &[licenses.colfax, licenses.pearl],
        CO_BOTH,
    )
    .await;
    // No sale needed: the re-check finds what changed in METRC.
    assert!(app.sim.set_user_key_facilities("co", CO_BOTH, &[COLFAX]));
    assert_eq!(
        status_becomes(&app, &staff, "license_lost").await,
        "license_lost"
    );
    assert!(
        app.sim
            .set_user_key_facilities("co", CO_BOTH, &[COLFAX, PEARL])
    );
    assert_eq!(status_becomes(&app, &staff, "verified").await, "verified");
    assert!(app.sim.revoke_user_key("co", CO_BOTH));
    assert_eq!(status_becomes(&app, &staff, "invalid").await, "invalid");
    // An outage is never a verdict: with METRC down the status stays as it was.
    app.sim.add_fault(Fault {
        state: "co".into(),
        user_key: None,
        kind: FaultKind::Unavailable,
        times: None,
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(status_becomes(&app, &staff, "invalid").await, "invalid");
}

#[tokio::test]
async fn the_background_recheck_flags_a_key_before_a_sale_fails_sqlite() {
    background_recheck(server::db::Backend::Sqlite).await;
}

#[tokio::test]
async fn the_background_recheck_flags_a_key_before_a_sale_fails_postgres() {
    background_recheck(server::db::Backend::Postgres).await;
}

#[tokio::test]
async fn a_second_server_on_one_sqlite_database_refuses_to_start_clearly() {
    let mut app = TestApp::spawn(server::db::Backend::Sqlite).await;
    let refused = app
        .build_another()
        .await
        .expect_err("a second server must not start");
    assert!(
        matches!(refused, server::app::StartError::SqliteInUse(_)),
        "{refused:?}"
    );
    let message = refused.to_string();
    assert!(
        message.contains("another server is already running"),
        "{message}"
    );
    assert!(message.contains("use PostgreSQL"), "{message}");
    // Once the first one stops, another may serve the database.
    app.stop_server().await;
    assert!(app.build_another().await.is_ok());
}

/// Two server processes on one PostgreSQL database: each with its own outbox worker, every receipt
/// reaches METRC exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_send_every_receipt_once_postgres() {
    let app = TestApp::spawn(server::db::Backend::Postgres).await;
    let second = app
        .build_another()
        .await
        .expect("a second server on PostgreSQL starts");
    let (stop_second, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(second.run_until(async move {
        let _ = stopped.await;
    }));
    let licenses = app.add_demo_licenses().await;
    let (_, staff) = app.signed_in_user("clerk@example.test").await;
    add_credential(
        &app,
        &staff,
        "CO",
        &[licenses.colfax, licenses.pearl],
        CO_BOTH,
    )
    .await;
    // METRC is slow, so both workers are busy at once.
    app.sim.add_fault(Fault {
        state: "co".into(),
        user_key: None,
        kind: FaultKind::Latency { ms: 30 },
        times: None,
    });
    let mut recorded = Vec::new();
    for i in 0..40 {
        let (id, number) = if i % 2 == 0 {
            (licenses.colfax, COLFAX)
        } else {
            (licenses.pearl, PEARL)
        };
        recorded.push(record(&app, &staff, "/api/sales", &sale(id, number)).await);
    }
    for r in &recorded {
        assert_eq!(settled(&app, &staff, r.id).await.status, ReportStatus::Sent);
        let number = r.external_number.as_deref().expect("number");
        assert_eq!(
            receipts_with(&app, "co", number).len(),
            1,
            "{number} exactly once"
        );
    }
    assert_eq!(app.sim.receipts("co").len(), 40);
    let _ = stop_second.send(());
    let _ = serving.await;
}

/// The server process is killed (SIGKILL) while its POSTs to METRC are in flight, then started again: no
/// receipt is lost or reported twice, and no adjustment is posted again blindly (it is "outcome unknown"
/// unless it never left).
async fn killed_while_sending(backend: server::db::Backend) {
    let mut app = TestApp::spawn(backend).await;
    let licenses = app.add_demo_licenses().await;
    app.add_user("clerk@example.test", "Casey Clerk", Role::Staff)
        .await;
    app.stop_server().await;
    // A batch being posted keeps its claim 2 × 2 + 2 + 30 = 36 s: the restarted server takes it over then.
    let settings: &[(&str, &str)] = &[
        ("OUTBOX_LEASE_SECS", "1"),
        ("OUTBOX_RETRY_SECS", "1"),
        ("METRC_DEADLINE_SECS", "2"),
        ("METRC_REQUEST_TIMEOUT_SECS", "2"),
        ("OUTBOX_SETTLE_SECS", "2"),
    ];
    let (mut child, base) = app.spawn_server_binary(settings).await;
    let staff = TestApp::new_client();
    let signed_in = staff
        .post(format!("{base}/api/session"))
        .header("origin", &base)
        .json(&json!({ "email": "clerk@example.test", "password": crate::harness::PASSWORD }))
        .send()
        .await
        .expect("sign-in");
    assert_eq!(signed_in.status(), 200);
    let saved = staff
        .post(format!("{base}/api/credentials"))
        .header("origin", &base)
        .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax, licenses.pearl], "key": CO_BOTH }))
        .send()
        .await
        .expect("save");
    assert_eq!(saved.status(), 201);

    // METRC takes each POST at once and answers late: the process dies before it hears back.
    app.sim.add_fault(Fault {
        state: "co".into(),
        user_key: None,
        kind: FaultKind::SlowAnswer { ms: 1_500 },
        times: None,
    });
    let before = app.sim.request_count();
    let mut receipts = Vec::new();
    for i in 0..6 {
        let (id, number) = if i % 2 == 0 {
            (licenses.colfax, COLFAX)
        } else {
            (licenses.pearl, PEARL)
        };
        let response = staff
            .post(format!("{base}/api/sales"))
            .header("origin", &base)
            .json(&sale(id, number))
            .send()
            .await
            .expect("sale");
        assert_eq!(response.status(), 201);
        let report: ReportView = response.json().await.expect("report");
        receipts.push(report.external_number.expect("number"));
    }
    for quantity in ["-1", "-2", "-3"] {
        let response = staff.post(format!("{base}/api/adjustments")).header("origin", &base).json(&json!({
            "license_id": licenses.colfax, "package_label": package_label(COLFAX, "0001"), "quantity": quantity,
            "unit": "Grams", "reason": "Drying", "date": "2026-11-27", "note": "" })).send().await.expect("adjustment");
        assert_eq!(response.status(), 201);
    }
    for _ in 0..200 {
        if app.sim.request_count() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.sim.request_count() > before, "a POST reached METRC");
    child.kill().await.expect("SIGKILL");
    // Whatever METRC was answering arrives; then it is quick again.
    tokio::time::sleep(Duration::from_millis(1_700)).await;
    app.sim.clear_faults();

    let (_child, base) = app.spawn_server_binary(settings).await;
    let started = Instant::now();
    loop {
        let open = app
            .count("SELECT COUNT(*) FROM reports WHERE status = 'pending'", &[])
            .await;
        if open == 0 || started.elapsed() > Duration::from_secs(90) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!base.is_empty());
    for number in &receipts {
        assert_eq!(
            receipts_with(&app, "co", number).len(),
            1,
            "{number} exactly once"
        );
    }
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM reports WHERE kind = 'sale' AND status = 'sent'",
            &[]
        )
        .await,
        6
    );
    // Each adjustment reached METRC at most once; one that may have left is "outcome unknown", never re-posted.
    let posted: Vec<String> = app
        .sim
        .adjustments("co")
        .iter()
        .map(|a| a.body["Quantity"].to_string())
        .collect();
    let mut distinct = posted.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        posted.len(),
        "no adjustment twice: {posted:?}"
    );
    let sent = app
        .count(
            "SELECT COUNT(*) FROM reports WHERE kind = 'adjustment' AND status = 'sent'",
            &[],
        )
        .await;
    let unknown = app
        .count(
            "SELECT COUNT(*) FROM reports WHERE kind = 'adjustment' AND status = 'outcome_unknown'",
            &[],
        )
        .await;
    assert_eq!(
        sent + unknown,
        3,
        "every adjustment settled: {sent} sent, {unknown} unknown"
    );
    assert!(
        i64::try_from(posted.len()).unwrap_or(0) >= sent,
        "a sent adjustment is in METRC"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_sending_loses_and_duplicates_nothing_sqlite() {
    killed_while_sending(server::db::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_while_sending_loses_and_duplicates_nothing_postgres() {
    killed_while_sending(server::db::Backend::Postgres).await;
}

/// A backlog at one license goes out in batches of 10, never more than `OUTBOX_POSTS_PER_LICENSE` (2)
/// POSTs at once.
async fn in_flight_limit(backend: server::db::Backend) {
    let app = TestApp::spawn(backend).await;
    let licenses = app.add_demo_licenses().await;
    let (_, staff) = app.signed_in_user("clerk@example.test").await;
    // Without a key the sales wait; one credential then releases all 45 at once.
    let mut recorded = Vec::new();
    for _ in 0..45 {
        recorded.push(record(&app, &staff, "/api/sales", &sale(licenses.colfax, COLFAX)).await);
    }
    for r in &recorded {
        assert_eq!(settled(&app, &staff, r.id).await.status, ReportStatus::Held);
    }
    app.sim.add_fault(Fault {
        state: "co".into(),
        user_key: None,
        kind: FaultKind::Latency { ms: 150 },
        times: None,
    });
    add_credential(&app, &staff, "CO", &[licenses.colfax], CO_BOTH).await;
    for r in &recorded {
        assert_eq!(settled(&app, &staff, r.id).await.status, ReportStatus::Sent);
    }
    assert_eq!(app.sim.receipts("co").len(), 45);
    assert_eq!(
        app.sim.max_posts_in_flight("co", COLFAX),
        2,
        "two at once, never more"
    );
}

#[tokio::test]
async fn a_backlog_never_has_more_than_two_posts_in_flight_per_license_sqlite() {
    in_flight_limit(server::db::Backend::Sqlite).await;
}

#[tokio::test]
async fn a_backlog_never_has_more_than_two_posts_in_flight_per_license_postgres() {
    in_flight_limit(server::db::Backend::Postgres).await;
}

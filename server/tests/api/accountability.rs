//! The accountability rate, its days and who falls back: counted by the database's triggers, folded in the
//! background, and always equal to counting the reports themselves — whatever changes a status, whenever
//! a fold runs.

use crate::harness::{TestApp, envelope, record, sale, settled};
use crate::on_both_databases;
use metrc_sim::demo::{CO_BOTH, CO_MANAGER, COLFAX, NEWBURY, PEARL};
use reqwest::Client;
use serde_json::json;
use shared::Role;
use shared::accountability::AccountabilityPage;
use shared::report::ReportStatus;

async fn accountability(app: &TestApp, admin: &Client, query: &str) -> AccountabilityPage {
    let response = admin
        .get(app.url(&format!("/api/admin/accountability{query}")))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.expect("page")
}

/// Per (day, license, bucket): the counts as the accountability queries read them (folded + not yet), and
/// as counting the reports gives them. Zero sums are left out of both.
async fn both_counts(
    app: &TestApp,
) -> (
    Vec<(String, i64, String, i64)>,
    Vec<(String, i64, String, i64)>,
) {
    let counted: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT recorded_on, license_id, bucket, CAST(SUM(n) AS BIGINT) AS n FROM ( \
           SELECT recorded_on, license_id, bucket, n FROM report_days \
           UNION ALL SELECT recorded_on, license_id, bucket, n FROM report_deltas) c \
         GROUP BY recorded_on, license_id, bucket HAVING SUM(n) <> 0 ORDER BY 1, 2, 3",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("counted");
    let direct: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "SELECT recorded_on, license_id, \
           CASE WHEN status = 'sent' THEN CASE WHEN key_used = 'credential' THEN 'own' ELSE 'default' END ELSE status END AS bucket, \
           COUNT(*) AS n FROM reports WHERE recorded_on IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("direct");
    (counted, direct)
}

on_both_databases! {
    async fn the_rate_counts_own_and_default_sends_and_shows_the_rest_beside_it(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let (_, own) = app.signed_in_as("olive@example.test", "Olive Own", Role::Staff).await;
        let (dana, fallback) = app.signed_in_as("dana@example.test", "=Dana Default", Role::Staff).await;
        let response = admin
            .put(app.url("/api/admin/integration/CO/default-key"))
            .json(&json!({ "key": CO_MANAGER, "version": null }))
            .send().await.expect("request");
        assert_eq!(response.status(), 200);
        let response = own
            .post(app.url("/api/credentials"))
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax, licenses.pearl], "key": CO_BOTH }))
            .send().await.expect("request");
        assert_eq!(response.status(), 201);

        let before = accountability(&app, &admin, "?days=7").await;
        assert_eq!(before.recent.sent(), 0);
        assert_eq!(before.days.len(), 7);
        let mut ids = Vec::new();
        for (client, license, number) in [(&own, licenses.colfax, COLFAX), (&own, licenses.pearl, PEARL), (&fallback, licenses.pearl, PEARL)] {
            let report = record(&app, client, "/api/sales", &sale(license, number)).await;
            ids.push((client, report.id));
        }
        // No key at all for Massachusetts: held, beside the rate and not in it.
        let held = record(&app, &fallback, "/api/sales", &sale(licenses.newbury, NEWBURY)).await;
        for (client, id) in &ids {
            assert_eq!(settled(&app, client, *id).await.status, ReportStatus::Sent);
        }
        assert_eq!(settled(&app, &fallback, held.id).await.status, ReportStatus::Held);

        for folded in [false, true] {
            if folded {
                server::tally::fold(&app.db).await.expect("fold");
                assert_eq!(app.count("SELECT COUNT(*) FROM report_deltas", &[]).await, 0);
            }
            let page = accountability(&app, &admin, "?days=7").await;
            assert_eq!((page.recent.own, page.recent.default, page.recent.held), (2, 1, 1), "folded: {folded}");
            assert_eq!(page.recent.rate().expect("a rate").percent(), "66.7%");
            assert_eq!(page.before.sent(), 0);
            let today = page.days.last().expect("today");
            assert_eq!((today.counts.own, today.counts.default, today.counts.held), (2, 1, 1));
            assert_eq!(page.fallbacks.len(), 1);
            assert_eq!(page.fallbacks[0].user_id, dana);
            assert_eq!(page.fallbacks[0].name, "=Dana Default");
            assert_eq!(page.fallbacks[0].count, 1);
            assert_eq!(page.fallbacks[0].licenses.iter().map(ToString::to_string).collect::<Vec<_>>(), [PEARL]);
            // One license: Colfax had only the own-key sale.
            let colfax = accountability(&app, &admin, &format!("?days=30&license={}", licenses.colfax)).await;
            assert_eq!(colfax.days.len(), 30);
            assert_eq!((colfax.recent.own, colfax.recent.default, colfax.recent.held), (1, 0, 0));
            assert!(colfax.fallbacks.is_empty());
            assert_eq!(accountability(&app, &admin, "?days=90").await.days.len(), 90);
        }
        let (counted, direct) = both_counts(&app).await;
        assert_eq!(counted, direct);

        // Refusals: a period that is not offered, another organization's license, a staff member.
        let response = admin.get(app.url("/api/admin/accountability?days=5")).send().await.expect("request");
        assert_eq!(response.status(), 422);
        assert_eq!(envelope(response).await.fields[0].message, "Choose 7, 30 or 90 days.");
        let other_org = {
            let mut conn = app.db.pool.acquire().await.expect("connection");
            server::accounts::create_organization(&mut conn, "Elsewhere").await.expect("org")
        };
        let theirs = app.add_license_in(other_org, "402R-09999", "CO", "Theirs").await;
        let response = admin.get(app.url(&format!("/api/admin/accountability?license={theirs}"))).send().await.expect("request");
        assert_eq!(response.status(), 404);
        assert_eq!(own.get(app.url("/api/admin/accountability")).send().await.expect("request").status(), 403);
    }

    async fn the_counts_equal_counting_the_reports_through_every_change_fold_and_backfill(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        // Recorded while nothing can be sent (no key anywhere): 60 reports to change by hand.
        let mut ids = Vec::new();
        for i in 0..60 {
            let (license, number) = [(licenses.colfax, COLFAX), (licenses.pearl, PEARL), (licenses.newbury, NEWBURY)][i % 3];
            ids.push(record(&app, &staff, "/api/sales", &sale(license, number)).await.id);
        }
        // Spread over days, as a backfill of older reports would have.
        for (i, id) in ids.iter().enumerate() {
            let day = format!("2026-10-{:02}", 1 + i % 9);
            sqlx::query("UPDATE reports SET recorded_on = $1 WHERE id = $2").bind(day).bind(id).execute(&app.db.pool).await.expect("day");
        }
        // Statuses changed at random while folds run beside them.
        let folding = {
            let db = app.db.clone();
            tokio::spawn(async move {
                for _ in 0..40 {
                    server::tally::fold(&db).await.expect("fold");
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            })
        };
        let choices = [("pending", None), ("held", None), ("outcome_unknown", None), ("dismissed", None), ("sent", Some("credential")), ("sent", Some("default"))];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..400 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let id = ids[(seed % 60) as usize];
            let (status, key) = choices[((seed >> 8) % 6) as usize];
            sqlx::query("UPDATE reports SET status = $1, key_used = $2, lease_owner = NULL WHERE id = $3")
                .bind(status).bind(key).bind(id).execute(&app.db.pool).await.expect("update");
        }
        folding.await.expect("folds");
        let (counted, direct) = both_counts(&app).await;
        assert_eq!(counted, direct);
        assert_eq!(direct.iter().map(|r| r.3).sum::<i64>(), 60);

        // Two folds at once count every row once.
        let (a, b) = tokio::join!(server::tally::fold(&app.db), server::tally::fold(&app.db));
        a.expect("fold");
        b.expect("fold");
        let (counted, direct) = both_counts(&app).await;
        assert_eq!(counted, direct);

        // Reports without a day (recorded before the column existed) are counted once dated.
        let forgotten = app.execute("UPDATE reports SET recorded_on = NULL WHERE id % 4 = 0", &[]).await;
        assert!(forgotten > 0);
        let (counted, direct) = both_counts(&app).await;
        assert_eq!(counted, direct, "a report without a day is in neither");
        assert_eq!(direct.iter().map(|r| r.3).sum::<i64>(), 60 - i64::try_from(forgotten).expect("small"));
        assert_eq!(server::tally::backfill(&app.db).await.expect("backfill"), forgotten);
        server::tally::fold(&app.db).await.expect("fold");
        let (counted, direct) = both_counts(&app).await;
        assert_eq!(counted, direct);
        assert_eq!(direct.iter().map(|r| r.3).sum::<i64>(), 60);
        assert_eq!(app.count("SELECT COUNT(*) FROM reports WHERE recorded_on IS NULL", &[]).await, 0);
    }
}

/// Sign-in re-checks every credential (`KEY_CHECK_AT_SIGN_IN_MINUTES=0`), paced quickly; an outage gives up
/// after 2 s.
const CHECK_AT_SIGN_IN: &[(&str, &str)] = &[
    ("KEY_CHECK_AT_SIGN_IN_MINUTES", "0"),
    ("KEY_RECHECK_PACE_MS", "50"),
    ("METRC_DEADLINE_SECS", "2"),
];

async fn alerts(app: &TestApp, client: &Client) -> shared::credential::Alerts {
    let response = client
        .get(app.url("/api/me/alerts"))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("alerts")
}

/// The alerts once this sign-in's check is done (or after 10 s, whatever they are).
async fn checked_alerts(app: &TestApp, client: &Client) -> shared::credential::Alerts {
    let started = std::time::Instant::now();
    loop {
        let now = alerts(app, client).await;
        if !now.checking || started.elapsed() > std::time::Duration::from_secs(10) {
            return now;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

on_both_databases! {
    async fn signing_in_checks_the_keys_and_the_banner_names_the_state_and_what_waits(app: TestApp) with CHECK_AT_SIGN_IN {
        use metrc_sim::faults::{Fault, FaultKind};
        use shared::credential::Problem;
        let licenses = app.add_demo_licenses().await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        let (_, other) = app.signed_in_as("olive@example.test", "Olive Other", Role::Staff).await;
        let response = staff
            .post(app.url("/api/credentials"))
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax], "key": CO_BOTH }))
            .send().await.expect("request");
        assert_eq!(response.status(), 201);
        let credential: serde_json::Value = response.json().await.expect("saved");
        let credential_id = credential["credential"]["id"].as_i64().expect("id");
        assert!(alerts(&app, &staff).await.alerts.is_empty());

        // METRC down at sign-in: the check changes nothing.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let checked_before = app.count("SELECT COALESCE(checked_at, 0) FROM credentials WHERE id = $1", &[credential_id]).await;
        app.sim.add_fault(Fault { state: "co".into(), user_key: None, kind: FaultKind::Unavailable, times: None });
        let again = TestApp::new_client();
        assert_eq!(app.sign_in_with(&again, "clerk@example.test", crate::harness::PASSWORD).await.status(), 200);
        let now = checked_alerts(&app, &again).await;
        assert!(!now.checking, "the check ended");
        assert!(now.alerts.is_empty(), "an outage is not a broken key: {now:?}");
        let checked = app.count("SELECT COALESCE(checked_at, 0) FROM credentials WHERE id = $1", &[credential_id]).await;
        assert!(checked > checked_before, "the sign-in asked METRC");
        app.sim.clear_faults();

        // The key revoked in METRC: the next sign-in finds it within seconds, before any sale fails. (A key
        // checked in the very second of a sign-in is not older than 0 minutes: a second passes first.)
        assert!(app.sim.revoke_user_key("co", CO_BOTH));
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let shift = TestApp::new_client();
        let before = std::time::Instant::now();
        assert_eq!(app.sign_in_with(&shift, "clerk@example.test", crate::harness::PASSWORD).await.status(), 200);
        let now = checked_alerts(&app, &shift).await;
        assert!(before.elapsed() < std::time::Duration::from_secs(10));
        assert_eq!(now.alerts.len(), 1, "{now:?}");
        let alert = &now.alerts[0];
        assert_eq!((alert.problem, alert.credential_id, alert.sales), (Problem::Invalid, Some(credential_id), 0));
        assert_eq!(alert.sentence(), "Your METRC key for Colorado stopped working.");

        // A sale held for the key, and one at a license none of the clerk's credentials covers.
        let held = record(&app, &shift, "/api/sales", &sale(licenses.colfax, COLFAX)).await;
        assert_eq!(settled(&app, &shift, held.id).await.status, ReportStatus::Held);
        let uncovered = record(&app, &shift, "/api/sales", &sale(licenses.newbury, NEWBURY)).await;
        assert_eq!(settled(&app, &shift, uncovered.id).await.status, ReportStatus::Held);
        let now = alerts(&app, &shift).await;
        let sentences: Vec<String> = now.alerts.iter().map(|a| format!("{} {}", a.sentence(), a.action())).collect();
        assert_eq!(sentences, [
            "Your METRC key for Colorado stopped working — 1 sale is waiting. Update your key.",
            "1 sale is waiting for your METRC key for Massachusetts. Add your key.",
        ]);
        // Nobody else's problem.
        assert!(alerts(&app, &other).await.alerts.is_empty());
        // Signed out: 401.
        assert_eq!(TestApp::new_client().get(app.url("/api/me/alerts")).send().await.expect("request").status(), 401);
    }
}

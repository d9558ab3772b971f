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
            // The reports' day (Denver's and Boston's dates differ two hours a day): all on one.
            let day: String = sqlx::query_scalar("SELECT recorded_on FROM reports WHERE id = $1")
                .bind(held.id).fetch_one(&app.db.pool).await.expect("day");
            let theirs = page.days.iter().filter(|d| d.counts.sent() + d.counts.held > 0).collect::<Vec<_>>();
            assert!(theirs.len() <= 2, "{theirs:?}");
            let total = page.total();
            assert_eq!((total.own, total.default, total.held), (2, 1, 1));
            assert!(page.days.iter().any(|d| d.day == day));
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
        let page = accountability(&app, &admin, "?days=7").await;
        assert!(page.fallbacks[0].active);
        // Deactivated: still ranked (their reports went out so), marked, with no Coverage row to link to.
        app.execute("UPDATE users SET active = FALSE WHERE id = $1", &[dana]).await;
        let page = accountability(&app, &admin, "?days=7").await;
        assert_eq!((page.fallbacks[0].user_id, page.fallbacks[0].active), (dana, false));

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
        for id in ids.iter().take(20) {
            sqlx::query("UPDATE reports SET status = 'sent', key_used = 'default' WHERE id = $1")
                .bind(id).execute(&app.db.pool).await.expect("update");
        }
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
        // (The server's own task may date some first.)
        assert!(server::tally::backfill(&app.db).await.expect("backfill") <= forgotten);
        server::tally::fold(&app.db).await.expect("fold");
        let (counted, direct) = both_counts(&app).await;
        assert_eq!(counted, direct);
        assert_eq!(direct.iter().map(|r| r.3).sum::<i64>(), 60);
        assert_eq!(app.count("SELECT COUNT(*) FROM reports WHERE recorded_on IS NULL", &[]).await, 0);
    }
}

/// Sign-in re-checks every credential (`KEY_CHECK_AT_SIGN_IN_MINUTES=0`), paced quickly; an outage gives up
/// after 4 s.
const CHECK_AT_SIGN_IN: &[(&str, &str)] = &[
    ("KEY_CHECK_AT_SIGN_IN_MINUTES", "0"),
    ("KEY_RECHECK_PACE_MS", "50"),
    ("METRC_DEADLINE_SECS", "4"),
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

/// The alerts once this sign-in's check is done (or after 20 s, whatever they are).
async fn checked_alerts(app: &TestApp, client: &Client) -> shared::credential::Alerts {
    let started = std::time::Instant::now();
    loop {
        let now = alerts(app, client).await;
        if !now.checking || started.elapsed() > std::time::Duration::from_secs(20) {
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

        // A working Massachusetts key (it sends the sale that waited there), then METRC's Massachusetts API
        // down at the next sign-in: that check changes nothing — no banner for a key METRC could not be asked
        // about — while Colorado's refused key stays refused.
        let response = shift
            .post(app.url("/api/credentials"))
            .json(&json!({ "provider": "metrc", "state": "MA", "license_ids": [licenses.newbury], "key": metrc_sim::demo::MA_NEWBURY }))
            .send().await.expect("request");
        assert_eq!(response.status(), 201);
        let ma: serde_json::Value = response.json().await.expect("saved");
        let ma_id = ma["credential"]["id"].as_i64().expect("id");
        assert_eq!(settled(&app, &shift, uncovered.id).await.status, ReportStatus::Sent);
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let checked_before = app.count("SELECT COALESCE(checked_at, 0) FROM credentials WHERE id = $1", &[ma_id]).await;
        app.sim.add_fault(Fault { state: "ma".into(), user_key: None, kind: FaultKind::Unavailable, times: None });
        let again = TestApp::new_client();
        assert_eq!(app.sign_in_with(&again, "clerk@example.test", crate::harness::PASSWORD).await.status(), 200);
        let now = checked_alerts(&app, &again).await;
        assert!(!now.checking, "the check ended");
        let problems: Vec<(Problem, Option<i64>)> = now.alerts.iter().map(|a| (a.problem, a.credential_id)).collect();
        assert_eq!(problems, [(Problem::Invalid, Some(credential_id))], "an outage is not a broken key");
        let checked = app.count("SELECT COALESCE(checked_at, 0) FROM credentials WHERE id = $1", &[ma_id]).await;
        assert!(checked > checked_before, "the sign-in asked METRC about the Massachusetts key");
        app.sim.clear_faults();
    }
}

/// A download's rows, read by the csv crate with every record required to have the header's length, after
/// checking what RFC 4180 asks of the bytes: CRLF after every record, no bare LF or CR outside quotes, and
/// quotes only around whole fields.
async fn csv_rows(response: reqwest::Response) -> Vec<Vec<String>> {
    assert_eq!(response.status(), 200);
    let kind = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(kind, "text/csv; charset=utf-8");
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment;")
    );
    let bytes = response.bytes().await.expect("body");
    let text = std::str::from_utf8(&bytes).expect("UTF-8");
    // RFC 4180 by hand: outside quotes, a CR is always followed by LF, an LF always preceded by CR, and a
    // quote only opens a field (a quote inside a quoted field is doubled).
    let (mut quoted, mut field_start, mut previous) = (false, true, '\0');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    quoted = false;
                    let next = chars.peek().copied();
                    assert!(
                        matches!(next, None | Some(',') | Some('\r')),
                        "a closing quote ends its field"
                    );
                }
            }
        } else {
            match c {
                '"' => {
                    assert!(field_start, "a quote only opens a field");
                    quoted = true;
                }
                '\r' => assert_eq!(chars.peek(), Some(&'\n'), "CR is followed by LF"),
                '\n' => assert_eq!(previous, '\r', "LF comes after CR"),
                _ => {}
            }
        }
        field_start = !quoted && (c == ',' || c == '\n');
        previous = c;
    }
    assert!(
        !quoted && text.ends_with("\r\n"),
        "every record ends with CRLF"
    );
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_reader(bytes.as_ref())
        .records()
        .map(|r| r.expect("a record").iter().map(str::to_owned).collect())
        .collect()
}

on_both_databases! {
    async fn the_csv_downloads_are_rfc_4180_hold_the_filtered_rows_and_never_run_a_formula(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let (_, staff) = app.signed_in_as("dana@example.test", "=HYPERLINK(\"x\")", Role::Staff).await;
        // Nothing can be sent (no key): the reports wait in Compliance Management.
        let mut ids = Vec::new();
        for (license, number) in [(licenses.colfax, COLFAX), (licenses.pearl, PEARL), (licenses.colfax, COLFAX)] {
            ids.push(record(&app, &staff, "/api/sales", &sale(license, number)).await.id);
        }
        let adjustment = record(&app, &staff, "/api/adjustments", &json!({
            "license_id": licenses.colfax, "package_label": metrc_sim::demo::package_label(COLFAX, "0001"),
            "quantity": "-5", "unit": "Grams", "reason": "Drying", "date": "2026-11-27", "note": "" })).await;
        for id in ids.iter().chain([&adjustment.id]) {
            assert_eq!(settled(&app, &staff, *id).await.status, ReportStatus::Held);
        }
        let page: shared::report::CompliancePage = admin.get(app.url("/api/admin/compliance")).send().await.expect("request").json().await.expect("page");

        let rows = csv_rows(admin.get(app.url(&format!("/api/admin/compliance.csv?license={COLFAX}&status=held"))).send().await.expect("request")).await;
        assert_eq!(rows[0][..4], ["Report", "Line", "License", "User"]);
        let api_ids: Vec<String> = page.reports.iter()
            .filter(|r| r.report.license_number.as_str() == COLFAX && r.report.status == ReportStatus::Held)
            .map(|r| r.report.external_number.clone().unwrap_or_else(|| format!("#{}", r.report.id)))
            .collect();
        let csv_ids: Vec<String> = rows[1..].iter().map(|r| r[0].clone()).collect();
        assert_eq!(csv_ids, api_ids, "the same rows as the API for the same filters");
        assert_eq!(csv_ids.len(), 3);
        for row in &rows[1..] {
            assert_eq!(row[3], "'=HYPERLINK(\"x\")", "a name that looks like a formula is inert");
            assert!(row[13].ends_with("-07:00") || row[13].ends_with("-06:00"), "Denver's offset: {}", row[13]);
        }
        let adjustment_row = rows.iter().find(|r| r[5] == "adjustment").expect("the adjustment");
        assert_eq!(adjustment_row[7], "-5", "a quantity is a number, left alone");
        let sale_row = rows.iter().find(|r| r[5] == "sale").expect("a sale");
        assert_eq!((sale_row[7].as_str(), sale_row[9].as_str()), ("1.5", "20"));
        // Every license and status: every row of the API.
        let all = csv_rows(admin.get(app.url("/api/admin/compliance.csv")).send().await.expect("request")).await;
        assert_eq!(all.len() - 1, page.reports.len());
        assert_eq!(admin.get(app.url("/api/admin/compliance.csv?status=sent")).send().await.expect("request").status(), 400);

        // Coverage: every active user, then the counts per license.
        let coverage = csv_rows(admin.get(app.url("/api/admin/coverage.csv")).send().await.expect("request")).await;
        let users = app.count("SELECT COUNT(*) FROM users WHERE organization_id = $1 AND active", &[app.organization_id]).await;
        assert_eq!(i64::try_from(coverage.len()).expect("small"), 1 + users + 3);
        assert!(coverage.iter().any(|r| r[0] == "'=HYPERLINK(\"x\")"));

        // The audit log, 100,000 records, streamed; each download is itself audited.
        let bulk = if app.db.backend == server::db::Backend::Sqlite {
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
              INSERT INTO audit_log (organization_id, actor_user_id, subject_user_id, action, result, detail, at) \
              SELECT $1, $2, $2, 'bulk', 'ok', '-detail ' || i, 1795930200 + i FROM n"
        } else {
            "INSERT INTO audit_log (organization_id, actor_user_id, subject_user_id, action, result, detail, at) \
              SELECT $1, $2, $2, 'bulk', 'ok', '-detail ' || i, 1795930200 + i FROM generate_series(1, 100000) AS i"
        };
        let staff_id = app.count("SELECT id FROM users WHERE email = 'dana@example.test'", &[]).await;
        app.execute(bulk, &[app.organization_id, staff_id]).await;
        let audit = csv_rows(admin.get(app.url(&format!("/api/admin/audit.csv?user={staff_id}"))).send().await.expect("request")).await;
        assert_eq!(audit[0], ["Time", "Actor", "Subject", "Action", "Result", "Detail", "Licenses"]);
        let bulk: Vec<&Vec<String>> = audit.iter().filter(|r| r[3] == "bulk").collect();
        assert_eq!(bulk.len(), 100_000);
        assert_eq!(bulk[0][5], "'-detail 100000", "newest first, text starting with - is inert");
        assert_eq!(bulk[0][0], "2026-11-30T09:16:40+00:00");
        let downloads = app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'export_downloaded'", &[]).await;
        assert_eq!(downloads, 4, "each download is audited (a refused one is not)");
        // Staff cannot download.
        for path in ["/api/admin/compliance.csv", "/api/admin/coverage.csv", "/api/admin/audit.csv"] {
            assert_eq!(staff.get(app.url(path)).send().await.expect("request").status(), 403);
        }
    }
}

on_both_databases! {
    async fn the_polls_never_keep_an_unattended_session_alive(app: TestApp) {
        let (user, staff) = app.signed_in_user("clerk@example.test").await;
        let seen = |app: &TestApp| {
            let db = app.db.clone();
            async move {
                sqlx::query_scalar::<_, i64>("SELECT last_seen_at FROM sessions WHERE user_id = $1")
                    .bind(user).fetch_one(&db.pool).await.expect("session")
            }
        };
        app.execute("UPDATE sessions SET last_seen_at = last_seen_at - 600 WHERE user_id = $1", &[user]).await;
        let before = seen(&app).await;
        assert_eq!(alerts(&app, &staff).await.alerts.len(), 0);
        assert_eq!(seen(&app).await, before, "the poll is not the person's activity");
        // Nor is Register's reload of "My reports" while a report is on its way.
        assert_eq!(staff.get(app.url("/api/reports")).send().await.expect("request").status(), 200);
        assert_eq!(seen(&app).await, before, "the reports poll is not the person's activity");
        // Anything the person does is.
        assert_eq!(staff.get(app.url("/api/credentials")).send().await.expect("request").status(), 200);
        assert!(seen(&app).await > before);
    }
}

//! Key custody (`server::keys`): every stored METRC key — a person's credential or the organization's
//! default key — has one holder, is rotated, re-checked and opened through one module, and no race, stale
//! answer, vanished server key or `Debug` print breaks that.

use crate::harness::{
    PASSWORD, TEST_CREDENTIAL_KEYS, TestApp, envelope, get_json, logs, receipts_with, record, sale,
    settled,
};
use crate::on_both_databases;
use metrc_sim::demo::{CO_BOTH, CO_COLFAX_ONLY, CO_MANAGER, COLFAX, MA_NEWBURY, PEARL, VENDOR_KEY};
use metrc_sim::faults::{Fault, FaultKind};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use server::crypto::CredentialKeys;
use server::hooks::Point;
use shared::Role;
use shared::admin::IntegrationPage;
use shared::api::ErrorCode;
use shared::credential::{CredentialStatus, CredentialsPage};
use shared::report::{KeyUsed, ReportStatus, ReportView, reasons};
use std::time::{Duration, Instant};

/// Every stored key due for its re-check at once, one checked every 20 ms.
const EVERY_KEY_DUE: &[(&str, &str)] = &[("KEY_RECHECK_HOURS", "0"), ("KEY_RECHECK_PACE_MS", "20")];

/// The verify limit the refusal tests count against, set rather than assumed.
const TEN_ATTEMPTS: &[(&str, &str)] = &[("VERIFY_ATTEMPTS_PER_MINUTE", "10")];

fn body(state: &str, license_ids: &[i64], key: &str) -> Value {
    json!({ "provider": "metrc", "state": state, "license_ids": license_ids, "key": key })
}

async fn save(app: &TestApp, client: &Client, body: &Value) -> reqwest::Response {
    client
        .post(app.url("/api/credentials"))
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn credential_id(response: reqwest::Response) -> i64 {
    assert_eq!(response.status(), 201, "saved");
    let saved: Value = response.json().await.expect("saved");
    saved["credential"]["id"].as_i64().expect("id")
}

async fn set_default_key(
    app: &TestApp,
    admin: &Client,
    key: &str,
    version: Option<i64>,
) -> reqwest::Response {
    admin
        .put(app.url("/api/admin/integration/CO/default-key"))
        .json(&json!({ "key": key, "version": version }))
        .send()
        .await
        .expect("request")
}

/// Deactivates a user through the admin API, as the Users tab does.
async fn deactivate(app: &TestApp, admin: &Client, user_id: i64) -> StatusCode {
    let version = app
        .count("SELECT version FROM users WHERE id = $1", &[user_id])
        .await;
    admin
        .put(app.url(&format!("/api/admin/users/{user_id}")))
        .json(&json!({ "role": "staff", "active": false, "version": version }))
        .send()
        .await
        .expect("request")
        .status()
}

/// The audit trail about a user: (action, result, detail), oldest first.
async fn audit_of(app: &TestApp, user_id: i64) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT action, result, detail FROM audit_log WHERE subject_user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(&app.db.pool)
    .await
    .expect("audit")
}

async fn record_sale(app: &TestApp, client: &Client, license_id: i64, number: &str) -> ReportView {
    record(app, client, "/api/sales", &sale(license_id, number)).await
}

async fn page(app: &TestApp, client: &Client) -> CredentialsPage {
    get_json(app, client, "/api/credentials").await
}

async fn integration(app: &TestApp, admin: &Client) -> IntegrationPage {
    get_json(app, admin, "/api/admin/integration").await
}

/// A save of `CO_BOTH` by a new clerk, held `point` for 1 s on purpose, while an admin deactivates the
/// clerk as soon as the save gets there: the save's answer, the deactivation's status and the clerk's id.
async fn deactivate_during_save(
    app: &TestApp,
    point: Point,
) -> (reqwest::Response, StatusCode, i64) {
    let licenses = app.add_demo_licenses().await;
    let (_, admin) = app
        .signed_in_as("admin@example.test", "Avery Admin", Role::Admin)
        .await;
    let (clerk_id, clerk) = app.signed_in_user("clerk@example.test").await;
    let reached = app.state.hooks.pause_at(point, Duration::from_millis(1000));
    let request = body("CO", &[licenses.colfax], CO_BOTH);
    let saving = save(app, &clerk, &request);
    let deactivating = async {
        reached.notified().await;
        deactivate(app, &admin, clerk_id).await
    };
    let (saved, deactivated) = tokio::join!(saving, deactivating);
    (saved, deactivated, clerk_id)
}

/// Two people save the same key at the same moment, 50 times over: one holder each round.
async fn two_people_one_key(backend: server::db::Backend) {
    let app = TestApp::spawn_with(backend, &[("VERIFY_ATTEMPTS_PER_MINUTE", "1000")]).await;
    let licenses = app.add_demo_licenses().await;
    let (_, first) = app.signed_in_user("first@example.test").await;
    let (_, second) = app.signed_in_user("second@example.test").await;
    // METRC answers slowly: both requests are past the first holder check before either writes.
    app.sim.add_fault(Fault {
        state: "co".into(),
        user_key: Some(CO_BOTH.into()),
        kind: FaultKind::Latency { ms: 30 },
        times: None,
    });
    let request = body("CO", &[licenses.colfax], CO_BOTH);
    for round in 0..50 {
        let (a, b) = tokio::join!(save(&app, &first, &request), save(&app, &second, &request));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}");
        let (winner, loser, client) = if a.status() == 201 {
            (a, b, &first)
        } else {
            (b, a, &second)
        };
        assert_eq!(envelope(loser).await.code, ErrorCode::KeyBelongsToAnother);
        let id = credential_id(winner).await;
        let deleted = client
            .delete(app.url(&format!("/api/credentials/{id}")))
            .send()
            .await
            .expect("request");
        assert_eq!(deleted.status(), 204);
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM credentials", &[]).await, 0);
}

mod two_people_saving_one_key_at_once_get_one_holder {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() {
        super::two_people_one_key(server::db::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() {
        super::two_people_one_key(server::db::Backend::Postgres).await;
    }
}

on_both_databases! {
    /// The window between "nobody holds this key" and the insert, widened on purpose to 700 ms: the
    /// organization's lock, not timing, keeps one holder.
    async fn a_widened_write_window_still_gets_one_holder(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, first) = app.signed_in_user("first@example.test").await;
        let (_, second) = app.signed_in_user("second@example.test").await;
        app.state
            .hooks
            .pause_at(Point::KeyWriteChecked, Duration::from_millis(700));
        let request = body("CO", &[licenses.colfax], CO_BOTH);
        let (a, b) = tokio::join!(save(&app, &first, &request), save(&app, &second, &request));
        let mut statuses = [a.status().as_u16(), b.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409]);
        assert_eq!(app.count("SELECT COUNT(*) FROM credentials", &[]).await, 1);
    }

    /// Deactivated while METRC is still checking the key: nothing is stored, the save says why, and the
    /// audit log has both.
    async fn deactivation_while_metrc_is_slow_leaves_no_key(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("admin@example.test", "Avery Admin", Role::Admin).await;
        let (clerk_id, clerk) = app.signed_in_user("clerk@example.test").await;
        app.sim.add_fault(Fault {
            state: "co".into(),
            user_key: Some(CO_BOTH.into()),
            kind: FaultKind::Latency { ms: 1500 },
            times: Some(1),
        });
        let request = body("CO", &[licenses.colfax], CO_BOTH);
        let saving = save(&app, &clerk, &request);
        let deactivating = async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            deactivate(&app, &admin, clerk_id).await
        };
        let (saved, deactivated) = tokio::join!(saving, deactivating);
        assert_eq!(deactivated, 200);
        assert_eq!(saved.status(), 403);
        let error = envelope(saved).await;
        assert!(error.message.contains("deactivated"), "{}", error.message);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM credentials WHERE user_id = $1", &[clerk_id]).await,
            0
        );
        let audit = audit_of(&app, clerk_id).await;
        assert!(audit.iter().any(|(a, _, _)| a == "user_deactivated"), "{audit:?}");
        assert!(
            audit.iter().any(|(a, r, _)| a == "verify_failed" && r == "account_deactivated"),
            "{audit:?}"
        );
    }

    /// Deactivation lands inside the save's write transaction (held open 1 s on purpose): whichever
    /// order the database lets them commit in, no key of the deactivated user remains.
    async fn deactivation_inside_the_write_transaction_leaves_no_key(app: TestApp) {
        let (saved, deactivated, clerk_id) = deactivate_during_save(&app, Point::KeyWriteStarted).await;
        assert_eq!(deactivated, 200);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM credentials WHERE user_id = $1", &[clerk_id]).await,
            0,
            "a deactivated user holds no key"
        );
        let audit = audit_of(&app, clerk_id).await;
        match app.db.backend {
            // PostgreSQL lets the deactivation commit during the pause; the save then sees it.
            server::db::Backend::Postgres => {
                assert_eq!(saved.status(), 403);
                assert!(envelope(saved).await.message.contains("deactivated"));
                assert!(audit.iter().any(|(a, r, _)| a == "verify_failed" && r == "account_deactivated"), "{audit:?}");
            }
            // SQLite's write lock makes the deactivation wait for the save, then destroy the key.
            server::db::Backend::Sqlite => {
                assert_eq!(saved.status(), 201);
                assert!(
                    audit.iter().any(|(a, _, d)| a == "user_deactivated" && d.contains("1 stored METRC key")),
                    "{audit:?}"
                );
            }
        }
    }

    /// Deactivation lands after the save checked its user and the key's holders, before it writes (held
    /// there 1 s on purpose): the deactivation waits for the organization's lock, then sees the saved key
    /// and destroys it — on PostgreSQL too, where it could not see an uncommitted insert.
    async fn deactivation_after_the_saves_checks_destroys_the_saved_key(app: TestApp) {
        let (saved, deactivated, clerk_id) = deactivate_during_save(&app, Point::KeyWriteChecked).await;
        assert_eq!(saved.status(), 201);
        assert_eq!(deactivated, 200);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM credentials WHERE user_id = $1", &[clerk_id]).await,
            0,
            "a deactivated user holds no key"
        );
        let audit = audit_of(&app, clerk_id).await;
        assert!(
            audit.iter().any(|(a, _, d)| a == "user_deactivated" && d.contains("1 stored METRC key")),
            "{audit:?}"
        );
    }

    /// A report refused with the old, revoked key is re-checked while the user saves a new key: the
    /// stale "invalid" is dropped, the new credential stays verified, and the sale goes under it.
    async fn a_stale_recheck_never_overwrites_a_new_key(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        let id = credential_id(save(&app, &clerk, &body("CO", &[licenses.colfax], CO_BOTH)).await).await;
        // The sale's POST with the old key waits 1.5 s in METRC; meanwhile it is revoked and replaced.
        app.sim.add_fault(Fault {
            state: "co".into(),
            user_key: Some(CO_BOTH.into()),
            kind: FaultKind::Latency { ms: 1500 },
            times: Some(1),
        });
        let recorded = record_sale(&app, &clerk, licenses.colfax, COLFAX).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(app.sim.revoke_user_key("co", CO_BOTH));
        let edited = clerk
            .put(app.url(&format!("/api/credentials/{id}")))
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax],
                           "key": CO_COLFAX_ONLY, "version": 1 }))
            .send()
            .await
            .expect("request");
        assert_eq!(edited.status(), 200);
        let report = settled(&app, &clerk, recorded.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        let external = report.external_number.expect("number");
        assert_eq!(receipts_with(&app, "co", &external), [CO_COLFAX_ONLY]);
        let credential = page(&app, &clerk).await.credentials.remove(0);
        assert_eq!(credential.status, CredentialStatus::Verified);
    }

    /// A credential sealed under a server key no longer configured: its reports are held for an
    /// operator ("cannot be read"), never as the user's "401 Unauthorized"; one error line is logged; a
    /// restart with the missing server key sends them.
    async fn an_unreadable_key_is_an_operators_problem_not_the_users(app: TestApp) {
        let mut app = app;
        let licenses = app.add_demo_licenses().await;
        let (clerk_id, clerk) = app.signed_in_user("clerk@example.test").await;
        let id = credential_id(save(&app, &clerk, &body("CO", &[licenses.colfax], CO_BOTH)).await).await;
        let gone_id = format!("gone{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let gone = CredentialKeys::generate(&gone_id);
        let sealed = gone.seal(
            &format!("user:{clerk_id}"),
            &shared::MetrcUserKey::parse(CO_BOTH).expect("key"),
        );
        sqlx::query("UPDATE credentials SET key_id = $1, key_ciphertext = $2 WHERE id = $3")
            .bind(&sealed.key_id)
            .bind(&sealed.ciphertext)
            .bind(id)
            .execute(&app.db.pool)
            .await
            .expect("re-sealed");
        let mut held = Vec::new();
        for _ in 0..2 {
            let recorded = record_sale(&app, &clerk, licenses.colfax, COLFAX).await;
            let report = settled(&app, &clerk, recorded.id).await;
            assert_eq!(report.status, ReportStatus::Held);
            assert_eq!(report.reason.as_deref(), Some(reasons::KEY_UNREADABLE));
            held.push(report);
        }
        assert_eq!(page(&app, &clerk).await.credentials[0].status, CredentialStatus::Verified);
        let lines = logs()
            .lines()
            .filter(|l| l.contains(&format!("sealed_with={gone_id}")) && l.contains("ERROR"))
            .count();
        assert_eq!(lines, 1, "one error line for the key");

        // The operator puts the missing server key back: the held reports go out.
        app.restart_with(&[(
            "CREDENTIAL_KEYS",
            &format!("{TEST_CREDENTIAL_KEYS},{}", gone.to_config_string()),
        )])
        .await;
        for report in held {
            let report = settled(&app, &clerk, report.id).await;
            assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
            assert_eq!(report.key_used, Some(KeyUsed::Credential));
        }
    }

    /// METRC refuses the default key at one license: that license leaves the key's reach (its sale waits
    /// as "No credential for …", never as the user's "401 Unauthorized"), and the key keeps working at the
    /// others.
    async fn a_default_key_refused_at_one_license_keeps_working_at_the_others(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("admin@example.test", "Avery Admin", Role::Admin).await;
        assert_eq!(set_default_key(&app, &admin, CO_MANAGER, None).await.status(), 200);
        assert!(app.sim.set_user_key_facilities("co", CO_MANAGER, &[COLFAX]));
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        let at_pearl = record_sale(&app, &clerk, licenses.pearl, PEARL).await;
        let report = settled(&app, &clerk, at_pearl.id).await;
        assert_eq!(report.status, ReportStatus::Held);
        assert_eq!(report.reason, Some(reasons::no_credential(PEARL)));
        let co = integration(&app, &admin).await.states.into_iter().find(|s| s.state.code() == "CO").expect("CO");
        assert_eq!(co.default_key.as_ref().map(|k| k.status), Some(CredentialStatus::Verified));
        let pearl = co.licenses.iter().find(|l| l.id == licenses.pearl).expect("Pearl");
        assert!(!pearl.reached_by_default, "Pearl left the default key's reach");
        let at_colfax = record_sale(&app, &clerk, licenses.colfax, COLFAX).await;
        let report = settled(&app, &clerk, at_colfax.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Default));
    }

    /// A row the rotation cannot read is left as it is and named; every other key is rotated.
    async fn rotation_passes_over_an_unreadable_row(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("admin@example.test", "Avery Admin", Role::Admin).await;
        assert_eq!(set_default_key(&app, &admin, CO_MANAGER, None).await.status(), 200);
        let (first_id, first) = app.signed_in_user("first@example.test").await;
        let damaged = credential_id(save(&app, &first, &body("CO", &[licenses.colfax], CO_BOTH)).await).await;
        let (_, second) = app.signed_in_user("second@example.test").await;
        credential_id(save(&app, &second, &body("MA", &[licenses.newbury], MA_NEWBURY)).await).await;
        let gone = CredentialKeys::generate("gone");
        let sealed = gone.seal(&format!("user:{first_id}"), &shared::MetrcUserKey::parse(CO_BOTH).expect("key"));
        sqlx::query("UPDATE credentials SET key_id = $1, key_ciphertext = $2 WHERE id = $3")
            .bind(&sealed.key_id).bind(&sealed.ciphertext).bind(damaged)
            .execute(&app.db.pool).await.expect("damaged");
        let new_only = CredentialKeys::generate("new");
        let both = CredentialKeys::parse(&format!("{},{TEST_CREDENTIAL_KEYS}", new_only.to_config_string())).expect("keys");
        match server::keys::rotate::rotate(&app.db, &server::keys::Custody::new(both)).await {
            Err(server::keys::rotate::RotateError::Unreadable { rotated, unreadable }) => {
                assert_eq!((rotated.credentials, rotated.default_keys), (1, 1));
                assert_eq!(unreadable, [("credentials", damaged)]);
            }
            other => panic!("expected the damaged row to be named, got {other:?}"),
        }
        assert_eq!(
            app.count("SELECT COUNT(*) FROM default_keys WHERE key_id = 'new'", &[]).await,
            1,
            "the default key was rotated all the same"
        );
    }

    /// Every table with a sealed key is on the rotation's list: a new one that is not fails here.
    async fn every_sealed_column_is_rotated(app: TestApp) {
        let sql = match app.db.backend {
            server::db::Backend::Sqlite => {
                "SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND (p.name LIKE '%ciphertext%' OR p.name LIKE '%fingerprint%') \
                 GROUP BY m.name ORDER BY m.name"
            }
            server::db::Backend::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.columns \
                 WHERE table_schema = current_schema() \
                 AND (column_name LIKE '%ciphertext%' OR column_name LIKE '%fingerprint%') GROUP BY table_name ORDER BY 1"
            }
        };
        let tables: Vec<String> = sqlx::query_scalar(sql).fetch_all(&app.db.pool).await.expect("schema");
        let mut listed: Vec<&str> = server::keys::rotate::SEALED_TABLES.iter().map(|t| t.name()).collect();
        listed.sort_unstable();
        assert_eq!(tables, listed);
    }

    /// After real use, `Debug` of the state, the METRC client, the configuration and every request type
    /// that carries a secret shows none of them.
    async fn debug_output_holds_no_secret(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app.signed_in_as("admin@example.test", "Avery Admin", Role::Admin).await;
        assert_eq!(set_default_key(&app, &admin, CO_MANAGER, None).await.status(), 200);
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        credential_id(save(&app, &clerk, &body("CO", &[licenses.colfax, licenses.pearl], CO_BOTH)).await).await;
        let patient = "PATIENT-LIC-77123";
        let mut patient_sale = sale(licenses.colfax, COLFAX);
        patient_sale["customer_type"] = json!("Patient");
        patient_sale["patient_license_number"] = json!(patient);
        let response = clerk.post(app.url("/api/sales")).json(&patient_sale).send().await.expect("request");
        assert_eq!(response.status(), 201);

        let token = "setup-token-5f2c9a1b";
        let link: shared::admin::SetupLink = admin
            .post(app.url("/api/admin/users"))
            .json(&json!({ "email": "new@example.test", "display_name": "Nia New", "role": "staff" }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a set-up link");
        let link_token = link.url.rsplit_once('#').expect("a token").1.to_owned();
        let receipt: metrc::reports::Receipt = serde_json::from_str(
            &sqlx::query_scalar::<_, String>("SELECT payload FROM reports WHERE kind = 'sale'")
                .fetch_one(&app.db.pool)
                .await
                .expect("the stored receipt"),
        )
        .expect("a receipt");
        let database_password = app
            .database_url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .and_then(|(user, _)| user.split_once(':'))
            .map(|(_, password)| password.to_owned());
        let sign_in = shared::api::SignInRequest { email: "clerk@example.test".into(), password: PASSWORD.into() };
        let sale_request: shared::report::SaleRequest =
            serde_json::from_value(patient_sale.clone()).expect("sale request");
        let printed = [
            format!("{:?}", app.state),
            format!("{:?}", app.state.metrc),
            format!("{:?}", app.state.config),
            format!("{:?}", shared::credential::CredentialRequest {
                provider: "metrc".into(), state: "CO".into(), license_ids: vec![1], key: CO_BOTH.into(), version: None,
            }),
            format!("{:?}", shared::admin::DefaultKeyRequest { key: CO_MANAGER.into(), version: None }),
            format!("{sign_in:?}"),
            format!("{:?}", sign_in.parse().expect("valid")),
            format!("{:?}", shared::admin::SetPasswordRequest {
                token: token.into(), password: PASSWORD.into(), confirm: PASSWORD.into(),
            }),
            format!("{sale_request:?}"),
            format!("{:?}", sale_request.parse().expect("valid sale")),
            format!("{link:?}"),
            format!("{receipt:?}"),
        ];
        let mut secrets = vec![
            CO_BOTH.to_owned(), CO_MANAGER.to_owned(), VENDOR_KEY.to_owned(), PASSWORD.to_owned(),
            token.to_owned(), patient.to_owned(), link_token,
            TEST_CREDENTIAL_KEYS.split_once(':').expect("id:key").1.to_owned(),
        ];
        secrets.extend(database_password);
        for text in &printed {
            for secret in &secrets {
                assert!(!text.contains(secret.as_str()), "{secret:?} in {text}");
            }
        }
        // The printouts are real ones, not empty.
        assert!(printed[0].contains("AppState") && printed[2].contains("bind_addr"));
        assert!(printed[9].contains("patient_license_number"));
    }
}

on_both_databases! {
    /// Rotation re-seals every table that holds a key: after `new,old` and a restart with `new` alone, the
    /// default key still opens (a sale without a credential goes out under it) and is still recognised by its
    /// fingerprint (nobody can save it as their own).
    async fn rotation_covers_default_keys(app: TestApp) {
        let mut app = app;
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app
            .signed_in_as("admin@example.test", "Avery Admin", Role::Admin)
            .await;
        assert_eq!(
            set_default_key(&app, &admin, CO_MANAGER, None)
                .await
                .status(),
            200
        );
        for (email, state, license, key) in [
            ("first@example.test", "CO", licenses.colfax, CO_BOTH),
            ("second@example.test", "MA", licenses.newbury, MA_NEWBURY),
        ] {
            let (_, client) = app.signed_in_user(email).await;
            credential_id(save(&app, &client, &body(state, &[license], key)).await).await;
        }
        let new_only = CredentialKeys::generate("new");
        let both = CredentialKeys::parse(&format!(
            "{},{TEST_CREDENTIAL_KEYS}",
            new_only.to_config_string()
        ))
        .expect("keys");
        let custody = server::keys::Custody::new(both);
        let rotated = server::keys::rotate::rotate(&app.db, &custody)
            .await
            .expect("rotation");
        assert_eq!((rotated.credentials, rotated.default_keys), (2, 1));

        app.restart_with(&[("CREDENTIAL_KEYS", &new_only.to_config_string())])
            .await;
        let old_rows = app
            .count(
                "SELECT (SELECT COUNT(*) FROM credentials WHERE key_id <> 'new' OR fingerprint_key_id <> 'new') \
                 + (SELECT COUNT(*) FROM default_keys WHERE key_id <> 'new' OR fingerprint_key_id <> 'new')",
                &[],
            )
            .await;
        assert_eq!(old_rows, 0, "every stored key is under the new server key");

        // A user without a credential: the sale goes out under the default key, which opens.
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        let recorded = record_sale(&app, &clerk, licenses.colfax, COLFAX).await;
        let report = settled(&app, &clerk, recorded.id).await;
        assert_eq!(report.status, ReportStatus::Sent, "{report:?}");
        assert_eq!(report.key_used, Some(KeyUsed::Default));
        let external = report.external_number.expect("receipt number");
        assert_eq!(receipts_with(&app, "co", &external), [CO_MANAGER]);

        // Its fingerprint still matches: it cannot become someone's own key.
        let refused = save(&app, &clerk, &body("CO", &[licenses.pearl], CO_MANAGER)).await;
        assert_eq!(refused.status(), 409);
        assert_eq!(envelope(refused).await.code, ErrorCode::KeyBelongsToAnother);
    }

    /// The background re-check covers default keys: a default key METRC no longer lets reach a license shows
    /// it uncovered, and a revoked one becomes invalid (a sale without a credential is then held).
    async fn default_keys_are_rechecked(app: TestApp) with EVERY_KEY_DUE {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app
            .signed_in_as("admin@example.test", "Avery Admin", Role::Admin)
            .await;
        assert_eq!(
            set_default_key(&app, &admin, CO_MANAGER, None)
                .await
                .status(),
            200
        );
        assert!(app.sim.set_user_key_facilities("co", CO_MANAGER, &[COLFAX]));
        let started = Instant::now();
        loop {
            let page = integration(&app, &admin).await;
            let co = page
                .states
                .iter()
                .find(|s| s.state.code() == "CO")
                .expect("CO");
            let pearl = co
                .licenses
                .iter()
                .find(|l| l.number.as_str() == PEARL)
                .expect("Pearl");
            if !pearl.reached_by_default {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "Pearl is still shown reached"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(app.sim.revoke_user_key("co", CO_MANAGER));
        let started = Instant::now();
        loop {
            let page = integration(&app, &admin).await;
            let status = page
                .states
                .iter()
                .find(|s| s.state.code() == "CO")
                .and_then(|s| s.default_key.as_ref())
                .map(|k| k.status);
            if status == Some(CredentialStatus::Invalid) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still {status:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (_, clerk) = app.signed_in_user("clerk@example.test").await;
        let recorded = record_sale(&app, &clerk, licenses.colfax, COLFAX).await;
        let report = settled(&app, &clerk, recorded.id).await;
        assert_eq!(report.status, ReportStatus::Held);
        assert_eq!(report.reason, Some(reasons::no_credential(COLFAX)));
    }

    /// Offering the organization's default key as one's own, again and again: each refusal is audited
    /// (whose kind of key, never the key), and counts against the verify limit; so do a colleague's key and
    /// an admin offering a person's key as the default key.
    async fn someone_elses_key_is_refused_audited_and_counted(app: TestApp) with TEN_ATTEMPTS {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = app
            .signed_in_as("admin@example.test", "Avery Admin", Role::Admin)
            .await;
        assert_eq!(
            set_default_key(&app, &admin, CO_MANAGER, None)
                .await
                .status(),
            200
        );
        let (clerk_id, clerk) = app.signed_in_user("clerk@example.test").await;
        let request = body("CO", &[licenses.colfax], CO_MANAGER);
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(save(&app, &clerk, &request).await.status().as_u16());
        }
        assert_eq!(statuses[..10], [409; 10], "{statuses:?}");
        assert_eq!(statuses[10..], [429; 10], "{statuses:?}");
        let refusals: Vec<_> = audit_of(&app, clerk_id)
            .await
            .into_iter()
            .filter(|(a, r, _)| a == "verify_failed" && r == "key_is_default_key")
            .collect();
        assert_eq!(refusals.len(), 10);
        for (_, _, detail) in &refusals {
            assert!(
                detail.contains(COLFAX) && detail.contains("the organization's default key"),
                "{detail}"
            );
            assert!(
                !detail.contains(CO_MANAGER) && !detail.contains("Avery"),
                "{detail}"
            );
        }
        // A colleague's key, and the admin offering a person's key as the default key: audited too.
        let (first_id, first) = app.signed_in_user("first@example.test").await;
        credential_id(save(&app, &first, &body("CO", &[licenses.pearl], CO_BOTH)).await).await;
        let (second_id, second) = app.signed_in_user("second@example.test").await;
        let refused = save(&app, &second, &body("CO", &[licenses.colfax], CO_BOTH)).await;
        assert_eq!(refused.status(), 409);
        let colleague: Vec<_> = audit_of(&app, second_id)
            .await
            .into_iter()
            .filter(|(a, r, _)| a == "verify_failed" && r == "key_of_another_person")
            .collect();
        assert_eq!(colleague.len(), 1, "{colleague:?}");
        let detail = &colleague[0].2;
        assert!(detail.contains("a person's key"), "{detail}");
        assert!(
            !detail.contains("first@") && !detail.contains(&CO_BOTH[CO_BOTH.len() - 4..]),
            "{detail}"
        );
        let version = integration(&app, &admin)
            .await
            .states
            .iter()
            .find(|s| s.state.code() == "CO")
            .and_then(|s| s.default_key.as_ref())
            .map(|k| k.version);
        let offered = set_default_key(&app, &admin, CO_BOTH, version).await;
        assert_eq!(offered.status(), 409);
        let admin_trail: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT action, result, detail FROM audit_log WHERE action = 'default_key_verify_failed'",
        )
        .fetch_all(&app.db.pool)
        .await
        .expect("audit");
        assert_eq!(admin_trail.len(), 1, "{admin_trail:?}");
        assert_eq!(admin_trail[0].1, "key_of_a_person");
        let detail = &admin_trail[0].2;
        assert!(detail.contains("a person's key"), "{detail}");
        assert!(
            !detail.contains(&CO_BOTH[CO_BOTH.len() - 4..]),
            "not even the last four of a person's key"
        );
        // The admin's offers count too: one verified default key and one refusal so far, 8 more allowed.
        let mut answers = Vec::new();
        for _ in 0..9 {
            answers.push(
                set_default_key(&app, &admin, CO_BOTH, version)
                    .await
                    .status()
                    .as_u16(),
            );
        }
        assert_eq!(answers[..8], [409; 8], "{answers:?}");
        assert_eq!(answers[8], 429, "{answers:?}");
        assert_ne!(first_id, second_id);
    }
}

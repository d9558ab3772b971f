//! The admin API: access control, organization isolation, licenses, users (set-up links, deactivation),
//! the default key per state, coverage and the audit log.

use crate::harness::{PASSWORD, TestApp, envelope, logs, send};
use crate::on_both_databases;
use metrc_sim::demo::{CO_BOTH, CO_COLFAX_ONLY, CO_MANAGER, CO_REVOKED};
use metrc_sim::faults::{Fault, FaultKind};
use reqwest::{Client, Method};
use serde_json::{Value, json};
use shared::Role;
use shared::admin::{
    AuditPage, Cover, CoveragePage, IntegrationPage, LicenseAdminView, LicensesAdminPage,
    SetupLink, StateIntegration, UserAdminView, UsersAdminPage,
};
use shared::api::ErrorCode;
use shared::credential::{CredentialStatus, CredentialsPage};

async fn get<T: serde::de::DeserializeOwned>(app: &TestApp, client: &Client, path: &str) -> T {
    let response = send(app, client, Method::GET, path, None).await;
    assert_eq!(response.status(), 200, "GET {path}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.expect("json")
}

async fn admin(app: &TestApp) -> (i64, Client) {
    app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin)
        .await
}

fn license_body(number: &str, state: &str) -> Value {
    json!({ "number": number, "state": state, "name": "Aurora – Havana St", "license_type": "Retail Marijuana Store", "time_zone": "" })
}

fn change_body(license: &LicenseAdminView, tracked: bool, active: bool) -> Value {
    json!({ "name": license.name, "license_type": license.license_type, "time_zone": license.time_zone,
            "tracked": tracked, "active": active, "version": license.version })
}

async fn set_default_key(
    app: &TestApp,
    client: &Client,
    state: &str,
    key: &str,
    version: Option<i64>,
) -> reqwest::Response {
    send(
        app,
        client,
        Method::PUT,
        &format!("/api/admin/integration/{state}/default-key"),
        Some(json!({ "key": key, "version": version })),
    )
    .await
}

async fn add_credential(
    app: &TestApp,
    client: &Client,
    license_ids: &[i64],
    key: &str,
) -> reqwest::Response {
    send(
        app,
        client,
        Method::POST,
        "/api/credentials",
        Some(json!({ "provider": "metrc", "state": "CO", "license_ids": license_ids, "key": key })),
    )
    .await
}

/// Every admin endpoint, as (method, path, body).
fn admin_endpoints(license: i64, user: i64) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/admin/licenses".into(), None),
        (
            Method::POST,
            "/api/admin/licenses".into(),
            Some(license_body("402R-00999", "CO")),
        ),
        (
            Method::PUT,
            format!("/api/admin/licenses/{license}"),
            Some(
                json!({ "name": "X", "license_type": "Y", "time_zone": "America/Denver", "tracked": true, "active": true, "version": 1 }),
            ),
        ),
        (Method::GET, "/api/admin/users".into(), None),
        (
            Method::POST,
            "/api/admin/users".into(),
            Some(
                json!({ "email": "new@example.test", "display_name": "Nia New", "role": "staff" }),
            ),
        ),
        (
            Method::PUT,
            format!("/api/admin/users/{user}"),
            Some(json!({ "role": "admin", "active": true, "version": 1 })),
        ),
        (
            Method::POST,
            format!("/api/admin/users/{user}/setup-link"),
            None,
        ),
        (Method::GET, "/api/admin/coverage".into(), None),
        (Method::GET, "/api/admin/audit".into(), None),
        (Method::GET, "/api/admin/integration".into(), None),
        (
            Method::PUT,
            "/api/admin/integration/CO/default-key".into(),
            Some(json!({ "key": CO_MANAGER, "version": null })),
        ),
        (
            Method::DELETE,
            "/api/admin/integration/CO/default-key".into(),
            None,
        ),
    ]
}

on_both_databases! {
    async fn staff_get_403_from_every_admin_endpoint_and_visitors_401(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (staff_id, staff) = app.signed_in_user("clerk@example.test").await;
        for (method, path, body) in admin_endpoints(licenses.colfax, staff_id) {
            let response = send(&app, &staff, method.clone(), &path, body.clone()).await;
            assert_eq!(response.status(), 403, "{method} {path} as staff");
            let error = envelope(response).await;
            assert_eq!(error.code, ErrorCode::Forbidden);
            assert_eq!(error.message, shared::admin::messages::ADMINS_ONLY);
            let response = send(&app, &TestApp::new_client(), method.clone(), &path, body).await;
            assert_eq!(response.status(), 401, "{method} {path} signed out");
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM licenses", &[]).await, 3, "nothing was added");
        assert_eq!(app.count("SELECT COUNT(*) FROM default_keys", &[]).await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE role = 'admin'", &[]).await, 0);
    }

    async fn another_organizations_rows_are_invisible_and_unchangeable(app: TestApp) {
        app.add_demo_licenses().await;
        let (_, admin) = admin(&app).await;
        // The other organization: an admin, a staff member with a credential, a license, a default key.
        let mut conn = app.db.pool.acquire().await.expect("connection");
        let other = server::accounts::create_organization(&mut conn, "Other Co.").await.expect("org");
        drop(conn);
        let other_license = app.add_license_in(other, "MR281001", "MA", "Other – Boston").await;
        let other_pearl = app.add_license_in(other, "402R-00102", "CO", "Other – Pearl").await;
        let other_admin = app.add_user_in(other, "boss@other.test", "Olga Other", Role::Admin).await;
        let other_staff = app.add_user_in(other, "clerk@other.test", "Otto Other", Role::Staff).await;
        let other_admin_client = TestApp::new_client();
        assert_eq!(app.sign_in_with(&other_admin_client, "boss@other.test", PASSWORD).await.status(), 200);
        let other_staff_client = TestApp::new_client();
        assert_eq!(app.sign_in_with(&other_staff_client, "clerk@other.test", PASSWORD).await.status(), 200);
        assert_eq!(add_credential(&app, &other_staff_client, &[other_pearl], CO_BOTH).await.status(), 201);
        assert_eq!(set_default_key(&app, &other_admin_client, "MA", metrc_sim::demo::MA_NEWBURY, None).await.status(), 200);

        // Lists show only our own rows.
        let licenses: LicensesAdminPage = get(&app, &admin, "/api/admin/licenses").await;
        assert!(licenses.licenses.iter().all(|l| l.id != other_license && l.id != other_pearl));
        assert_eq!(licenses.licenses.len(), 3);
        let users: UsersAdminPage = get(&app, &admin, "/api/admin/users").await;
        assert!(users.users.iter().all(|u| u.id != other_admin && u.id != other_staff));
        let coverage: CoveragePage = get(&app, &admin, "/api/admin/coverage").await;
        assert!(coverage.rows.iter().all(|r| r.user_id != other_admin && r.user_id != other_staff));
        assert!(coverage.licenses.iter().all(|l| l.id != other_license && l.id != other_pearl));
        let integration: IntegrationPage = get(&app, &admin, "/api/admin/integration").await;
        assert!(integration.states.iter().all(|s| s.default_key.is_none()), "their MA key is not ours");
        let audit: AuditPage = get(&app, &admin, "/api/admin/audit").await;
        assert!(audit.entries.iter().all(|e| !e.actor.contains("Other")), "{audit:?}");
        for filter in [format!("user={other_staff}"), format!("user={other_admin}"), format!("license={other_pearl}"), format!("license={other_license}")] {
            let audit: AuditPage = get(&app, &admin, &format!("/api/admin/audit?{filter}")).await;
            assert!(audit.entries.is_empty(), "{filter}: {audit:?}");
        }

        // Their ids answer 404 and change nothing.
        for (method, path, body) in admin_endpoints(other_pearl, other_staff) {
            if method == Method::GET || path.ends_with("/admin/licenses") || path.ends_with("/admin/users") || path.contains("integration") {
                continue;
            }
            let response = send(&app, &admin, method.clone(), &path, body).await;
            assert_eq!(response.status(), 404, "{method} {path}");
        }
        // Their held report (no credential, no default key in Nevada) is not ours to resend or dismiss.
        let other_nevada = app.add_license_in(other, "NV-000001", "NV", "Other – Las Vegas").await;
        let held = other_staff_client
            .post(app.url("/api/sales"))
            .json(&json!({ "license_id": other_nevada, "customer_type": "Consumer", "transactions": [
                { "package_label": "1A4000000000000000000001", "quantity": "1", "unit": "Grams", "total_amount": "1" }] }))
            .send()
            .await
            .expect("request");
        assert_eq!(held.status(), 201);
        let held: Value = held.json().await.expect("report");
        let held = held["id"].as_i64().expect("id");
        for action in ["resend", "resend-default", "dismiss"] {
            let response = send(&app, &admin, Method::POST, &format!("/api/admin/compliance/{held}/{action}"), Some(json!({ "reason": "not ours" }))).await;
            assert_eq!(response.status(), 404, "{action}");
        }
        let page: Value = get(&app, &admin, "/api/admin/compliance").await;
        assert_eq!(page["reports"].as_array().map(Vec::len), Some(0));
        assert_eq!(app.count("SELECT COUNT(*) FROM reports WHERE id = $1 AND status <> 'dismissed' AND NOT force_default", &[held]).await, 1);
        // Our admin removing "the" MA default key finds none of ours; theirs stays.
        let response = send(&app, &admin, Method::DELETE, "/api/admin/integration/MA/default-key", None).await;
        assert_eq!(response.status(), 404);
        assert_eq!(app.count("SELECT COUNT(*) FROM default_keys WHERE organization_id = $1", &[other]).await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM credentials WHERE user_id = $1", &[other_staff]).await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE id = $1 AND role = 'staff' AND active", &[other_staff]).await, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM password_setups", &[]).await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM licenses WHERE id = $1 AND display_name = 'Other – Pearl'", &[other_pearl]).await, 1);
        // The same license number in two organizations is two licenses.
        let response = send(&app, &admin, Method::POST, "/api/admin/licenses", Some(license_body("402R-00999", "CO"))).await;
        assert_eq!(response.status(), 201);
        let response = send(&app, &other_admin_client, Method::POST, "/api/admin/licenses", Some(license_body("402R-00999", "CO"))).await;
        assert_eq!(response.status(), 201);
    }

    async fn concurrent_adds_of_one_license_number_make_one_license(app: TestApp) {
        let (_, admin) = admin(&app).await;
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (admin, url) = (admin.clone(), app.url("/api/admin/licenses"));
            tasks.spawn(async move {
                let response = admin.post(url).json(&license_body("402R-00777", "CO")).send().await.expect("request");
                (response.status().as_u16(), response.json::<Value>().await.expect("json"))
            });
        }
        let mut created = 0;
        while let Some(done) = tasks.join_next().await {
            match done.expect("task") {
                (201, _) => created += 1,
                (409, body) => assert_eq!(body["code"], "conflict", "{body}"),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(created, 1);
        assert_eq!(app.count("SELECT COUNT(*) FROM licenses WHERE number = '402R-00777'", &[]).await, 1);
        // Afterwards the duplicate is named.
        let response = send(&app, &admin, Method::POST, "/api/admin/licenses", Some(license_body("402R-00777", "CO"))).await;
        assert_eq!(response.status(), 409);
        assert_eq!(envelope(response).await.message, shared::admin::messages::license_exists("402R-00777"));
    }

    async fn a_license_is_added_changed_withdrawn_and_offered_only_while_active_and_tracked(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = admin(&app).await;
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        // Bad fields are all reported; nothing is added.
        let response = send(&app, &admin, Method::POST, "/api/admin/licenses",
            Some(json!({ "number": "", "state": "ZZ", "name": "", "license_type": "", "time_zone": "Mars/Olympus" }))).await;
        assert_eq!(response.status(), 422);
        assert_eq!(envelope(response).await.fields.len(), 5);
        // A license in a new state is offered on the credentials page for that state.
        let response = send(&app, &admin, Method::POST, "/api/admin/licenses", Some(license_body("C10-0000001-LIC", "CA"))).await;
        assert_eq!(response.status(), 201);
        let added: LicenseAdminView = response.json().await.expect("license");
        assert_eq!(added.time_zone, "America/Los_Angeles");
        assert!(added.active && added.tracked);
        let page: CredentialsPage = get(&app, &staff, "/api/credentials").await;
        assert!(page.states(shared::Provider::Metrc).iter().any(|s| s.code() == "CA"));

        // Colfax on a staff credential; deactivating it keeps it on the credential, no longer offered.
        assert_eq!(add_credential(&app, &staff, &[licenses.colfax], CO_BOTH).await.status(), 201);
        let all: LicensesAdminPage = get(&app, &admin, "/api/admin/licenses").await;
        let colfax = all.licenses.iter().find(|l| l.id == licenses.colfax).expect("colfax").clone();
        assert_eq!(colfax.credentials, 1, "the warning counts its credentials");
        let response = send(&app, &admin, Method::PUT, &format!("/api/admin/licenses/{}", colfax.id), Some(change_body(&colfax, true, false))).await;
        assert_eq!(response.status(), 200);
        let changed: LicenseAdminView = response.json().await.expect("license");
        assert!(!changed.active);
        assert_eq!(changed.version, colfax.version + 1);
        let page: CredentialsPage = get(&app, &staff, "/api/credentials").await;
        assert_eq!(page.credentials[0].license_ids, [licenses.colfax], "the credential keeps it");
        assert!(!page.license(licenses.colfax).expect("listed").offered);
        // The stale version loses; number and state cannot be sent at all.
        let response = send(&app, &admin, Method::PUT, &format!("/api/admin/licenses/{}", colfax.id), Some(change_body(&colfax, false, true))).await;
        assert_eq!(response.status(), 409);
        // Untracking Pearl: not offered either. Reactivating Colfax: offered again.
        let pearl = all.licenses.iter().find(|l| l.id == licenses.pearl).expect("pearl").clone();
        assert_eq!(send(&app, &admin, Method::PUT, &format!("/api/admin/licenses/{}", pearl.id), Some(change_body(&pearl, false, true))).await.status(), 200);
        assert_eq!(send(&app, &admin, Method::PUT, &format!("/api/admin/licenses/{}", changed.id), Some(change_body(&changed, true, true))).await.status(), 200);
        let page: CredentialsPage = get(&app, &staff, "/api/credentials").await;
        assert!(page.license(licenses.colfax).expect("listed").offered);
        assert!(!page.license(licenses.pearl).expect("listed").offered);
        // Each change is in the audit log, filterable by license.
        let audit: AuditPage = get(&app, &admin, &format!("/api/admin/audit?license={}", licenses.colfax)).await;
        let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["license_reactivated", "license_deactivated", "credential_added"]);
        assert!(audit.entries.iter().all(|e| e.licenses.contains(&"402R-00101".to_owned())));
    }

    async fn a_new_user_sets_a_password_once_through_their_link(app: TestApp) {
        let (_, admin) = admin(&app).await;
        let response = send(&app, &admin, Method::POST, "/api/admin/users",
            Some(json!({ "email": " Nia@Example.test", "display_name": "Nia New", "role": "staff" }))).await;
        assert_eq!(response.status(), 201);
        let link: SetupLink = response.json().await.expect("link");
        assert_eq!(link.user.email, "nia@example.test");
        assert!(!link.user.has_password);
        let (base, token) = link.url.split_once("/set-password#").expect("a link with its token in the fragment");
        assert!(base.starts_with("http://127.0.0.1"), "PUBLIC_URL's origin: {base}");
        assert!(token.len() >= 40);
        assert!(link.expires_at > server::db::now_unix() + 23 * 3600);
        // The email is taken now.
        let response = send(&app, &admin, Method::POST, "/api/admin/users",
            Some(json!({ "email": "nia@example.test", "display_name": "Nia Again", "role": "staff" }))).await;
        assert_eq!(response.status(), 409);

        // Before setting a password, sign-in fails.
        assert_eq!(app.sign_in("nia@example.test", "a long new password").await.status(), 401);
        let visitor = TestApp::new_client();
        let bad = send(&app, &visitor, Method::POST, "/api/password-setup",
            Some(json!({ "token": token, "password": "short", "confirm": "short" }))).await;
        assert_eq!(bad.status(), 422);
        let set = send(&app, &visitor, Method::POST, "/api/password-setup",
            Some(json!({ "token": token, "password": "a long new password", "confirm": "a long new password" }))).await;
        assert_eq!(set.status(), 204);
        assert_eq!(app.sign_in("nia@example.test", "a long new password").await.status(), 200);
        // The link works once, and an admin cannot issue a new one to take the account over.
        let again = send(&app, &visitor, Method::POST, "/api/password-setup",
            Some(json!({ "token": token, "password": "another long password", "confirm": "another long password" }))).await;
        assert_eq!(again.status(), 410);
        assert_eq!(envelope(again).await.message, shared::admin::messages::LINK_EXPIRED);
        let response = send(&app, &admin, Method::POST, &format!("/api/admin/users/{}/setup-link", link.user.id), None).await;
        assert_eq!(response.status(), 409);
        assert_eq!(app.sign_in("nia@example.test", "a long new password").await.status(), 200);
    }

    async fn an_expired_or_replaced_link_does_not_work(app: TestApp) {
        let (_, admin) = admin(&app).await;
        let response = send(&app, &admin, Method::POST, "/api/admin/users",
            Some(json!({ "email": "late@example.test", "display_name": "Lee Late", "role": "staff" }))).await;
        let first: SetupLink = response.json().await.expect("link");
        let response = send(&app, &admin, Method::POST, &format!("/api/admin/users/{}/setup-link", first.user.id), None).await;
        assert_eq!(response.status(), 200);
        let second: SetupLink = response.json().await.expect("link");
        let token = |l: &SetupLink| l.url.split_once('#').map(|(_, t)| t.to_owned()).expect("token");
        let body = |t: String| Some(json!({ "token": t, "password": "a long new password", "confirm": "a long new password" }));
        let visitor = TestApp::new_client();
        assert_eq!(send(&app, &visitor, Method::POST, "/api/password-setup", body(token(&first))).await.status(), 410, "replaced");
        app.execute("UPDATE password_setups SET expires_at = expires_at - 86401", &[]).await;
        assert_eq!(send(&app, &visitor, Method::POST, "/api/password-setup", body(token(&second))).await.status(), 410, "expired");
        assert_eq!(app.count("SELECT COUNT(*) FROM users WHERE email = 'late@example.test' AND password_hash IS NULL", &[]).await, 1);
    }

    async fn a_deactivated_user_is_signed_out_their_keys_destroyed_and_their_history_kept(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (_, admin) = admin(&app).await;
        let (staff_id, staff) = app.signed_in_user("clerk@example.test").await;
        assert_eq!(add_credential(&app, &staff, &[licenses.colfax, licenses.pearl], CO_BOTH).await.status(), 201);
        let users: UsersAdminPage = get(&app, &admin, "/api/admin/users").await;
        let clerk = users.users.iter().find(|u| u.id == staff_id).expect("listed").clone();
        assert_eq!(clerk.credentials, 1);

        let response = send(&app, &admin, Method::PUT, &format!("/api/admin/users/{staff_id}"),
            Some(json!({ "role": "staff", "active": false, "version": clerk.version }))).await;
        assert_eq!(response.status(), 200);
        let changed: UserAdminView = response.json().await.expect("user");
        assert!(!changed.active);
        assert_eq!(changed.credentials, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM credentials WHERE user_id = $1", &[staff_id]).await, 0, "ciphertexts gone");
        assert_eq!(app.count("SELECT COUNT(*) FROM credential_licenses WHERE user_id = $1", &[staff_id]).await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions WHERE user_id = $1", &[staff_id]).await, 0);
        assert_eq!(send(&app, &staff, Method::GET, "/api/credentials", None).await.status(), 401, "signed out at once");
        assert_eq!(app.sign_in("clerk@example.test", PASSWORD).await.status(), 401);
        // The trail keeps them: their own credential_added and the deactivation.
        let audit: AuditPage = get(&app, &admin, &format!("/api/admin/audit?user={staff_id}")).await;
        let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["user_deactivated", "credential_added"]);
        assert!(audit.entries[0].detail.contains("1 stored METRC key(s) destroyed"));
        // Out of coverage too.
        let coverage: CoveragePage = get(&app, &admin, "/api/admin/coverage").await;
        assert!(coverage.rows.iter().all(|r| r.user_id != staff_id));
        // Reactivated: can sign in again, with no keys.
        let response = send(&app, &admin, Method::PUT, &format!("/api/admin/users/{staff_id}"),
            Some(json!({ "role": "staff", "active": true, "version": changed.version }))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(app.sign_in("clerk@example.test", PASSWORD).await.status(), 200);
    }

    async fn the_organization_always_keeps_an_active_admin(app: TestApp) {
        let (admin_id, admin) = admin(&app).await;
        let users: UsersAdminPage = get(&app, &admin, "/api/admin/users").await;
        let me = users.users.iter().find(|u| u.id == admin_id).expect("me").clone();
        for body in [json!({ "role": "staff", "active": true, "version": me.version }), json!({ "role": "admin", "active": false, "version": me.version })] {
            let response = send(&app, &admin, Method::PUT, &format!("/api/admin/users/{admin_id}"), Some(body)).await;
            assert_eq!(response.status(), 409);
            assert_eq!(envelope(response).await.message, shared::admin::messages::LAST_ADMIN);
        }
        // With a second admin, the first may step down.
        let (second, _) = app.signed_in_as("blair@example.test", "Blair Boss", Role::Admin).await;
        assert!(second > 0);
        let response = send(&app, &admin, Method::PUT, &format!("/api/admin/users/{admin_id}"),
            Some(json!({ "role": "staff", "active": true, "version": me.version }))).await;
        assert_eq!(response.status(), 200);
        // And is staff from the next request on.
        assert_eq!(send(&app, &admin, Method::GET, "/api/admin/users", None).await.status(), 403);
    }

    async fn the_default_key_is_verified_sealed_and_never_shown(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let extra = app.add_license("402R-00103", "CO", "Aurora – Havana St").await;
        let (_, admin) = admin(&app).await;
        // Invalid: refused, nothing stored.
        let response = set_default_key(&app, &admin, "CO", CO_REVOKED, None).await;
        assert_eq!(response.status(), 422);
        let error = envelope(response).await;
        assert_eq!(error.code, ErrorCode::MetrcKeyInvalid);
        assert_eq!(error.message, shared::admin::messages::default_key_invalid(shared::StateCode::parse("CO").expect("CO")));
        // METRC down: "could not be reached", never "invalid"; nothing stored.
        app.sim.add_fault(Fault { state: "co".into(), user_key: None, kind: FaultKind::Unavailable, times: None });
        let response = set_default_key(&app, &admin, "CO", CO_MANAGER, None).await;
        assert_eq!(response.status(), 503);
        assert_eq!(envelope(response).await.code, ErrorCode::MetrcUnavailable);
        app.sim.clear_faults();
        assert_eq!(app.count("SELECT COUNT(*) FROM default_keys", &[]).await, 0);
        // No license in the state: nothing to cover.
        assert_eq!(set_default_key(&app, &admin, "NV", CO_MANAGER, None).await.status(), 409);

        // Valid: stored sealed, shown by its last four, the license it does not reach listed.
        let response = set_default_key(&app, &admin, "CO", &format!(" {CO_MANAGER} "), None).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.expect("body");
        assert!(!text.contains(CO_MANAGER));
        let co: StateIntegration = serde_json::from_str(&text).expect("state");
        let key = co.default_key.clone().expect("a default key");
        assert_eq!(key.key_last_four, "0005");
        assert_eq!(key.status, CredentialStatus::Verified);
        assert_eq!(key.updated_by, "Avery Admin");
        let not_covered: Vec<i64> = co.not_covered().iter().map(|l| l.id).collect();
        assert_eq!(not_covered, [extra]);
        let stored: String = sqlx::query_scalar("SELECT key_ciphertext FROM default_keys")
            .fetch_one(&app.db.pool).await.expect("row");
        assert!(!stored.contains(CO_MANAGER));
        let page: IntegrationPage = get(&app, &admin, "/api/admin/integration").await;
        assert!(!serde_json::to_string(&page).expect("json").contains(CO_MANAGER));
        // Replacing needs the version seen.
        assert_eq!(set_default_key(&app, &admin, "CO", CO_COLFAX_ONLY, None).await.status(), 409);
        let response = set_default_key(&app, &admin, "CO", CO_COLFAX_ONLY, Some(key.version)).await;
        assert_eq!(response.status(), 200);
        let co: StateIntegration = response.json().await.expect("state");
        let not_covered: Vec<i64> = co.not_covered().iter().map(|l| l.id).collect();
        assert_eq!(not_covered, [licenses.pearl, extra]);
        // A staff member cannot store the default key as their own.
        let (_, staff) = app.signed_in_user("clerk@example.test").await;
        let response = add_credential(&app, &staff, &[licenses.colfax], CO_COLFAX_ONLY).await;
        assert_eq!(response.status(), 409);
        assert_eq!(envelope(response).await.code, ErrorCode::KeyBelongsToAnother);
        // And a person's key cannot become the default key.
        assert_eq!(add_credential(&app, &staff, &[licenses.colfax, licenses.pearl], CO_BOTH).await.status(), 201);
        let response = set_default_key(&app, &admin, "CO", CO_BOTH, Some(key.version + 1)).await;
        assert_eq!(response.status(), 409);
        assert_eq!(envelope(response).await.message, shared::admin::messages::DEFAULT_KEY_IS_PERSONAL);
        // Removed: gone from the page and the table.
        assert_eq!(send(&app, &admin, Method::DELETE, "/api/admin/integration/CO/default-key", None).await.status(), 204);
        assert_eq!(app.count("SELECT COUNT(*) FROM default_keys", &[]).await, 0);
        assert_eq!(app.count("SELECT COUNT(*) FROM default_key_reaches", &[]).await, 0);
        // Never in a log line.
        let logs = logs();
        for key in [CO_MANAGER, CO_COLFAX_ONLY, CO_REVOKED] {
            assert!(!logs.contains(key), "a default key reached the log");
        }
        let audit: AuditPage = get(&app, &admin, "/api/admin/audit").await;
        let actions: Vec<&str> = audit.entries.iter().map(|e| e.action.as_str()).filter(|a| a.starts_with("default_key")).collect();
        // The refused personal key is audited too (newest first).
        assert_eq!(actions, ["default_key_removed", "default_key_verify_failed", "default_key_replaced", "default_key_set", "default_key_verify_failed", "default_key_verify_failed"]);
        assert!(!serde_json::to_string(&audit).expect("json").contains(CO_MANAGER));
    }

    async fn coverage_shows_own_key_default_key_or_not_covered_with_counts(app: TestApp) {
        let licenses = app.add_demo_licenses().await;
        let (admin_id, admin) = admin(&app).await;
        let (staff_id, staff) = app.signed_in_user("clerk@example.test").await;
        let untracked = app.add_license("402R-00104", "CO", "Untracked").await;
        app.execute("UPDATE licenses SET tracked = FALSE WHERE id = $1", &[untracked]).await;

        // No default key, no credential: nobody is covered.
        let coverage: CoveragePage = get(&app, &admin, "/api/admin/coverage").await;
        let numbers: Vec<&str> = coverage.licenses.iter().map(|l| l.number.as_str()).collect();
        assert_eq!(numbers, ["402R-00101", "402R-00102", "MR281001"], "active, tracked licenses only");
        assert_eq!(coverage.users, 2);
        assert!(coverage.rows.iter().all(|r| r.cells.iter().all(|c| *c == Cover::NotCovered)));
        assert!(coverage.licenses.iter().all(|l| l.not_covered == 2 && l.own == 0 && l.default == 0));

        // A default key for CO reaching Colfax only; the clerk's own key on Pearl.
        assert_eq!(set_default_key(&app, &admin, "CO", CO_COLFAX_ONLY, None).await.status(), 200);
        assert_eq!(add_credential(&app, &staff, &[licenses.pearl], CO_BOTH).await.status(), 201);
        let coverage: CoveragePage = get(&app, &admin, "/api/admin/coverage").await;
        let row = |id: i64| coverage.rows.iter().find(|r| r.user_id == id).expect("row").cells.clone();
        assert_eq!(row(staff_id), [Cover::Default, Cover::Own(CredentialStatus::Verified), Cover::NotCovered]);
        assert_eq!(row(admin_id), [Cover::Default, Cover::NotCovered, Cover::NotCovered]);
        let counts: Vec<(i64, i64, i64)> = coverage.licenses.iter().map(|l| (l.own, l.default, l.not_covered)).collect();
        assert_eq!(counts, [(0, 2, 0), (1, 0, 1), (0, 0, 2)]);
        // An invalid own key is still the user's own (their reports are held, not sent under the default).
        app.execute("UPDATE credentials SET status = 'invalid' WHERE user_id = $1", &[staff_id]).await;
        let coverage: CoveragePage = get(&app, &admin, "/api/admin/coverage").await;
        let clerk = coverage.rows.iter().find(|r| r.user_id == staff_id).expect("row");
        assert_eq!(clerk.cells[1], Cover::Own(CredentialStatus::Invalid));
        // An invalid default key counts as not covered.
        app.execute("UPDATE default_keys SET status = 'invalid' WHERE organization_id = $1", &[app.organization_id]).await;
        let coverage: CoveragePage = get(&app, &admin, "/api/admin/coverage").await;
        assert_eq!(coverage.licenses[0].not_covered, 2);
        app.execute("UPDATE default_keys SET status = 'verified' WHERE organization_id = $1", &[app.organization_id]).await;

        // The filter: both fall back to the default key at Colfax; once the clerk covers Colfax, only the admin.
        let fallback: CoveragePage = get(&app, &admin, "/api/admin/coverage?fallback=true").await;
        assert_eq!(fallback.users, 2);
        let page: CredentialsPage = get(&app, &staff, "/api/credentials").await;
        let credential = &page.credentials[0];
        let response = send(&app, &staff, Method::PUT, &format!("/api/credentials/{}", credential.id),
            Some(json!({ "provider": "metrc", "state": "CO", "license_ids": [licenses.colfax, licenses.pearl], "key": "", "version": credential.version }))).await;
        assert_eq!(response.status(), 200);
        let fallback: CoveragePage = get(&app, &admin, "/api/admin/coverage?fallback=true").await;
        assert!(fallback.fallback_only);
        let ids: Vec<i64> = fallback.rows.iter().map(|r| r.user_id).collect();
        assert_eq!(ids, [admin_id]);
        assert_eq!(send(&app, &admin, Method::GET, "/api/admin/coverage?page=0", None).await.status(), 400);
    }

    async fn coverage_pages_by_fifty_users(app: TestApp) {
        app.add_demo_licenses().await;
        let (_, admin) = admin(&app).await;
        for i in 0..60 {
            app.add_user(&format!("user{i:02}@example.test"), &format!("User {i:02}"), Role::Staff).await;
        }
        let first: CoveragePage = get(&app, &admin, "/api/admin/coverage").await;
        assert_eq!((first.users, first.pages, first.rows.len()), (61, 2, 50));
        let second: CoveragePage = get(&app, &admin, "/api/admin/coverage?page=2").await;
        assert_eq!(second.rows.len(), 11);
        let mut seen: Vec<i64> = first.rows.iter().chain(&second.rows).map(|r| r.user_id).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 61, "every user once");
        let beyond: CoveragePage = get(&app, &admin, "/api/admin/coverage?page=3").await;
        assert!(beyond.rows.is_empty());
    }

    async fn the_audit_log_pages_and_filters_by_user(app: TestApp) {
        let (_, admin) = admin(&app).await;
        let (staff_id, _) = app.signed_in_user("clerk@example.test").await;
        for i in 0..(shared::admin::AUDIT_PAGE_SIZE + 5) {
            let response = send(&app, &admin, Method::POST, "/api/admin/licenses", Some(license_body(&format!("402R-1{i:04}"), "CO"))).await;
            assert_eq!(response.status(), 201);
        }
        let first: AuditPage = get(&app, &admin, "/api/admin/audit").await;
        assert_eq!(first.entries.len(), shared::admin::AUDIT_PAGE_SIZE);
        let before = first.next_before.expect("another page");
        let second: AuditPage = get(&app, &admin, &format!("/api/admin/audit?before={before}")).await;
        assert_eq!(second.entries.len(), 5);
        assert!(second.next_before.is_none());
        assert!(first.entries.windows(2).all(|w| w[0].id > w[1].id), "newest first");
        let theirs: AuditPage = get(&app, &admin, &format!("/api/admin/audit?user={staff_id}")).await;
        assert!(theirs.entries.is_empty());
        assert_eq!(send(&app, &admin, Method::GET, "/api/admin/audit?user=abc", None).await.status(), 400);
    }
}

#[tokio::test]
async fn demo_mode_seeds_the_colorado_default_key() {
    let app = TestApp::spawn(server::db::Backend::Sqlite).await;
    assert!(
        server::demo::seed(&app.db, &app.keys())
            .await
            .expect("seed")
    );
    let client = TestApp::new_client();
    assert_eq!(
        app.sign_in_with(&client, server::demo::ADMIN_EMAIL, server::demo::PASSWORD)
            .await
            .status(),
        200
    );
    let page: IntegrationPage = get(&app, &client, "/api/admin/integration").await;
    let co = page
        .states
        .iter()
        .find(|s| s.state.code() == "CO")
        .expect("CO");
    let key = co.default_key.as_ref().expect("the CO default key");
    assert_eq!(key.key_last_four, &CO_MANAGER[CO_MANAGER.len() - 4..]);
    assert!(co.not_covered().is_empty(), "it reaches both CO licenses");
    // It opens as the organization's CO key, and is the simulator's manager key.
    let (key_id, ciphertext, organization_id): (String, String, i64) =
        sqlx::query_as("SELECT key_id, key_ciphertext, organization_id FROM default_keys")
            .fetch_one(&app.db.pool)
            .await
            .expect("row");
    let opened = app
        .keys()
        .open(
            &server::keys::Holder::Organization {
                organization_id,
                state: shared::StateCode::parse("CO").expect("CO"),
            }
            .owner(),
            &server::crypto::Sealed { key_id, ciphertext },
        )
        .expect("opens");
    assert_eq!(opened.expose_secret(), CO_MANAGER);
    assert_eq!(server::demo::CO_DEFAULT_KEY, CO_MANAGER);
}

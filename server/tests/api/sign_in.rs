//! Signing in and out, sessions and their expiry, and the sign-in limits.

use crate::harness::{PASSWORD, TestApp, envelope};
use crate::on_both_databases;
use reqwest::StatusCode;
use shared::Role;
use shared::api::{ErrorCode, Me};

on_both_databases! {
    /// The happy path: the answer names the user, the cookie is HttpOnly and SameSite, and /api/me works.
    async fn a_correct_password_starts_a_session(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        let response = app.sign_in(" Sam@Test.Example ", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        let cookie = response.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        assert!(cookie.starts_with("tc_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http must not set Secure: {cookie}");
        let me: Me = response.json().await.expect("me");
        assert_eq!(me.user.email, "sam@test.example");
        assert_eq!(me.user.initials, "SS");
        assert_eq!(me.user.role, Role::Staff);
        assert_eq!(me.organization.name, "Test Dispensary Inc.");

        let again: Me = app.me().await.json().await.expect("me");
        assert_eq!(again, me);
    }

    async fn a_wrong_password_is_refused_without_a_session(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        let response = app.sign_in("sam@test.example", "not the password").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().get("set-cookie").is_none());
        let error = envelope(response).await;
        assert_eq!(error.code, ErrorCode::InvalidCredentials);
        assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
    }

    /// Nobody can learn whether an account exists by trying addresses.
    async fn an_unknown_email_gets_the_same_answer_as_a_wrong_password(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        let wrong_password = app.sign_in("sam@test.example", "nope").await;
        let unknown_email = app.sign_in("nobody@test.example", "nope").await;
        assert_eq!(wrong_password.status(), unknown_email.status());
        assert_eq!(envelope(wrong_password).await, envelope(unknown_email).await);
    }

    async fn a_deactivated_user_cannot_sign_in(app: TestApp) {
        let id = app.add_user("gone@test.example", "Gone User", Role::Staff).await;
        app.execute("UPDATE users SET active = FALSE WHERE id = $1", &[id]).await;
        let response = app.sign_in("gone@test.example", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let error = envelope(response).await;
        assert_eq!(error.code, ErrorCode::InvalidCredentials);
        assert!(error.message.contains("deactivated"), "{}", error.message);
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions", &[]).await, 0);
    }

    /// Deactivation ends sessions at once, even one that is in use.
    async fn deactivating_a_user_ends_the_session_in_use(app: TestApp) {
        let id = app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        assert_eq!(app.sign_in("sam@test.example", PASSWORD).await.status(), StatusCode::OK);
        app.execute("UPDATE users SET active = FALSE WHERE id = $1", &[id]).await;
        assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn signing_out_ends_the_session_on_the_server(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        let signed_in = app.sign_in("sam@test.example", PASSWORD).await;
        let cookie = signed_in.headers()["set-cookie"].to_str().expect("ascii").to_owned();
        let token = cookie.split(';').next().expect("name=value").to_owned();

        let response = app.client.delete(app.url("/api/session")).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let cleared = response.headers()["set-cookie"].to_str().expect("ascii");
        assert!(cleared.contains("Max-Age=0"), "{cleared}");
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions", &[]).await, 0);

        // A copy of the old cookie is worthless now.
        let replay = TestApp::new_client()
            .get(app.url("/api/me"))
            .header("cookie", token)
            .send()
            .await
            .expect("request");
        assert_eq!(replay.status(), StatusCode::UNAUTHORIZED);
    }

    /// A new session id at every sign-in: an id planted before sign-in is gone after it.
    async fn signing_in_again_replaces_the_old_session(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        app.sign_in("sam@test.example", PASSWORD).await;
        app.sign_in("sam@test.example", PASSWORD).await;
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions", &[]).await, 1);
        assert_eq!(app.me().await.status(), StatusCode::OK);
    }

    async fn a_session_idle_too_long_has_expired(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        app.sign_in("sam@test.example", PASSWORD).await;
        // 31 minutes without a request (the idle limit is 30).
        app.execute("UPDATE sessions SET last_seen_at = last_seen_at - $1", &[31 * 60]).await;
        let response = app.me().await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(envelope(response).await.code, ErrorCode::Unauthenticated);
        assert_eq!(app.count("SELECT COUNT(*) FROM sessions", &[]).await, 0);
    }

    async fn an_active_session_still_ends_after_twelve_hours(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        app.sign_in("sam@test.example", PASSWORD).await;
        app.execute("UPDATE sessions SET created_at = created_at - $1", &[12 * 3600 + 1]).await;
        assert_eq!(app.me().await.status(), StatusCode::UNAUTHORIZED);
    }

    /// Ending every session of one user leaves everyone else signed in.
    async fn a_users_sessions_can_all_be_ended_at_once(app: TestApp) {
        let sam = app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        app.add_user("ava@test.example", "Ava Admin", Role::Admin).await;
        let laptop = TestApp::new_client();
        let register = TestApp::new_client();
        let other = TestApp::new_client();
        app.sign_in_with(&laptop, "sam@test.example", PASSWORD).await;
        app.sign_in_with(&register, "sam@test.example", PASSWORD).await;
        app.sign_in_with(&other, "ava@test.example", PASSWORD).await;

        let ended = server::sessions::end_all_for_user(&app.db, sam).await.expect("revoke");
        assert_eq!(ended, 2);
        for (client, expected) in [
            (&laptop, StatusCode::UNAUTHORIZED),
            (&register, StatusCode::UNAUTHORIZED),
            (&other, StatusCode::OK),
        ] {
            let status = client.get(app.url("/api/me")).send().await.expect("request").status();
            assert_eq!(status, expected);
        }
    }

    /// Five failures for one account lock it for the window, even with the right password.
    async fn the_sixth_attempt_after_five_failures_is_refused(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        for _ in 0..5 {
            let r = app.sign_in("sam@test.example", "guess").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let response = app.sign_in("sam@test.example", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let error = envelope(response).await;
        assert_eq!(error.code, ErrorCode::RateLimited);
        assert!(error.message.contains("Try again in 15 minutes"), "{}", error.message);

        // Once the failures are older than the window, the account opens again.
        app.execute("UPDATE sign_in_failures SET failed_at = failed_at - $1", &[15 * 60]).await;
        assert_eq!(app.sign_in("sam@test.example", PASSWORD).await.status(), StatusCode::OK);
    }

    /// Twenty failures from one address, spread over many accounts, block that address.
    async fn one_address_is_limited_across_accounts(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        for i in 0..20 {
            let r = app.sign_in(&format!("guess{i}@test.example"), "guess").await;
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        let response = app.sign_in("sam@test.example", PASSWORD).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    /// The counts live in the database: another server on it sees the same limits (at the same time on
    /// PostgreSQL; on SQLite, which allows one server at a time, after the first has stopped).
    async fn the_limit_holds_across_server_processes(app: TestApp) {
        let mut app = app;
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        for _ in 0..5 {
            app.sign_in("sam@test.example", "guess").await;
        }
        if app.db.backend == server::db::Backend::Sqlite {
            app.stop_server().await;
        }
        let second = app.build_another().await.expect("second");
        let addr = second.local_addr().expect("bound");
        let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(second.run_until(async move { let _ = stopped.await; }));
        let response = TestApp::new_client()
            .post(format!("http://{addr}/api/session"))
            .json(&serde_json::json!({"email": "sam@test.example", "password": PASSWORD}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    /// Forty wrong passwords for one account at once: each attempt reserves its failure before its
    /// password is checked, so five are checked (401) and the other thirty-five refused (429). (All forty
    /// were checked when the count and the new failure were separate statements.)
    async fn forty_simultaneous_wrong_passwords_check_only_five(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        let attempts = (0..40).map(|_| {
            let client = TestApp::new_client();
            let url = app.url("/api/session");
            async move {
                client
                    .post(url)
                    .json(&serde_json::json!({ "email": "sam@test.example", "password": "guess" }))
                    .send()
                    .await
                    .expect("request")
                    .status()
            }
        });
        let statuses = futures_util::future::join_all(attempts).await;
        let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
        let refused = statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count();
        assert_eq!((checked, refused), (5, 35), "{statuses:?}");
        // And the right password is refused too, until the window passes.
        assert_eq!(app.sign_in("sam@test.example", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    async fn a_successful_sign_in_clears_the_accounts_failures(app: TestApp) {
        app.add_user("sam@test.example", "Sam Staff", Role::Staff).await;
        for _ in 0..4 {
            app.sign_in("sam@test.example", "guess").await;
        }
        assert_eq!(app.sign_in("sam@test.example", PASSWORD).await.status(), StatusCode::OK);
        for _ in 0..4 {
            app.sign_in("sam@test.example", "guess").await;
        }
        assert_eq!(app.sign_in("sam@test.example", PASSWORD).await.status(), StatusCode::OK);
    }
}

/// Behind TLS the cookie is `Secure` and `__Host-` prefixed, so no subdomain can plant or read it.
#[tokio::test]
async fn over_https_the_session_cookie_is_secure_and_host_only() {
    let app = TestApp::spawn_with(
        server::db::Backend::Sqlite,
        &[("PUBLIC_URL", "https://pos.example.com")],
    )
    .await;
    app.add_user("sam@test.example", "Sam Staff", Role::Staff)
        .await;
    let response = app.sign_in("sam@test.example", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"].to_str().expect("ascii");
    assert!(cookie.starts_with("__Host-tc_session="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
}

/// A sign-in through a proxy that names the client's address in `X-Real-IP`: its status.
async fn sign_in_from(app: &TestApp, ip: &str, email: &str, password: &str) -> StatusCode {
    app.client
        .post(app.url("/api/session"))
        .header("x-real-ip", ip)
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request")
        .status()
}

/// A server behind a proxy that sets `X-Real-IP`, with the user sam@test.example.
async fn behind_a_proxy() -> TestApp {
    let app = TestApp::spawn_with(
        server::db::Backend::Sqlite,
        &[("CLIENT_IP_HEADER", "X-Real-IP")],
    )
    .await;
    app.add_user("sam@test.example", "Sam Staff", Role::Staff)
        .await;
    app
}

/// Behind a proxy, each client's own address counts: one address at its limit locks out no one else.
#[tokio::test]
async fn behind_a_proxy_the_limit_applies_to_the_clients_address_not_the_proxys() {
    let app = behind_a_proxy().await;
    for i in 0..20 {
        let status = sign_in_from(
            &app,
            "203.0.113.7",
            &format!("guess{i}@test.example"),
            "guess",
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let blocked = sign_in_from(&app, "203.0.113.7", "sam@test.example", PASSWORD).await;
    assert_eq!(blocked, StatusCode::TOO_MANY_REQUESTS);
    let other = sign_in_from(&app, "198.51.100.9", "sam@test.example", PASSWORD).await;
    assert_eq!(other, StatusCode::OK);
}

/// IPv6 clients are counted by their /64: twenty failures from addresses of one /64 block that /64, not
/// a neighbouring one.
#[tokio::test]
async fn an_ipv6_client_is_limited_by_its_64() {
    let app = behind_a_proxy().await;
    for i in 0..20 {
        let ip = format!("2001:db8:1:2::{:x}", i + 1);
        let status = sign_in_from(&app, &ip, &format!("guess{i}@test.example"), "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let same_64 = sign_in_from(&app, "2001:db8:1:2:ffff::9", "sam@test.example", PASSWORD).await;
    assert_eq!(same_64, StatusCode::TOO_MANY_REQUESTS);
    let next_64 = sign_in_from(&app, "2001:db8:1:3::1", "sam@test.example", PASSWORD).await;
    assert_eq!(next_64, StatusCode::OK);
}

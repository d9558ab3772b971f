//! Bad requests of every kind get the one JSON envelope, never a panic, an HTML page or a bare status.

use crate::harness::envelope;
use crate::on_both_databases;
use reqwest::StatusCode;
use shared::api::ErrorCode;

on_both_databases! {
    async fn malformed_json_gets_the_envelope(app: TestApp) {
        let response = app
            .client
            .post(app.url("/api/session"))
            .header("content-type", "application/json")
            .body("{\"email\": ")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error = envelope(response).await;
        assert_eq!(error.code, ErrorCode::BadRequest);
        assert_eq!(error.message, "The request body is not valid JSON.");
    }

    /// serde would quote a wrongly typed value; the answer must not, since it may be a secret.
    async fn a_wrongly_typed_field_is_refused_without_echoing_it(app: TestApp) {
        let response = app
            .client
            .post(app.url("/api/session"))
            .json(&serde_json::json!({"email": "a@b.example", "password": ["hunter2-secret"]}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let error = envelope(response).await;
        assert!(!error.message.contains("hunter2"), "{}", error.message);
    }

    async fn a_missing_field_is_named(app: TestApp) {
        let response = app
            .client
            .post(app.url("/api/session"))
            .json(&serde_json::json!({"email": "a@b.example"}))
            .send()
            .await
            .expect("request");
        let error = envelope(response).await;
        assert_eq!(error.message, "The request body lacks the field `password`.");
    }

    /// All field errors come back at once, keyed by field.
    async fn every_bad_field_is_reported_in_one_answer(app: TestApp) {
        let response = app
            .client
            .post(app.url("/api/session"))
            .json(&serde_json::json!({"email": "not an email", "password": ""}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let error = envelope(response).await;
        assert_eq!(error.code, ErrorCode::Validation);
        assert!(error.field("email").is_some());
        assert_eq!(error.field("password"), Some("Enter your password."));
    }

    async fn an_oversized_body_is_refused_with_the_envelope(app: TestApp) {
        let huge = "x".repeat(server::app::MAX_BODY_BYTES + 1);
        let response = app
            .client
            .post(app.url("/api/session"))
            .json(&serde_json::json!({"email": "a@b.example", "password": huge}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(envelope(response).await.code, ErrorCode::PayloadTooLarge);
    }

    async fn a_body_that_is_not_json_is_refused(app: TestApp) {
        let response = app
            .client
            .post(app.url("/api/session"))
            .header("content-type", "text/plain")
            .body("email=a")
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(envelope(response).await.code, ErrorCode::UnsupportedMediaType);
    }

    /// Unknown API paths must not fall through to the client's index.html.
    async fn an_unknown_api_path_is_a_404_envelope(app: TestApp) {
        for path in ["/api/nope", "/api/session/extra", "/api", "/api/"] {
            let response = app.client.get(app.url(path)).send().await.expect("request");
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
            assert_eq!(envelope(response).await.code, ErrorCode::NotFound, "{path}");
        }
    }

    async fn a_wrong_method_gets_the_envelope(app: TestApp) {
        let response = app.client.put(app.url("/api/me")).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(envelope(response).await.code, ErrorCode::MethodNotAllowed);
    }

    async fn me_without_a_session_is_401(app: TestApp) {
        let response = app.me().await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(envelope(response).await.code, ErrorCode::Unauthenticated);
    }

    /// A cross-site form or fetch cannot change anything, even with the user's cookie.
    async fn a_cross_site_request_is_refused(app: TestApp) {
        for (origin, site) in [
            (Some("https://evil.example"), Some("cross-site")),
            (Some("https://evil.example"), None),
            (None, Some("cross-site")),
        ] {
            let mut request = app
                .client
                .post(app.url("/api/session"))
                .json(&serde_json::json!({"email": "a@b.example", "password": "x"}));
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            if let Some(site) = site {
                request = request.header("sec-fetch-site", site);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{origin:?} {site:?}");
            assert_eq!(envelope(response).await.code, ErrorCode::CsrfRejected);
        }
        assert_eq!(app.count("SELECT COUNT(*) FROM sign_in_failures", &[]).await, 0);
    }

    /// The browser's own same-origin requests pass the CSRF check.
    async fn a_same_origin_request_passes(app: TestApp) {
        let response = app
            .client
            .post(app.url("/api/session"))
            .header("origin", format!("http://{}", app.addr))
            .header("sec-fetch-site", "same-origin")
            .json(&serde_json::json!({"email": "a@b.example", "password": "x"}))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }

    async fn every_response_carries_a_request_id_and_safe_headers(app: TestApp) {
        let response = app.me().await;
        let id = response.headers()["x-request-id"].to_str().expect("ascii");
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let permissions = response.headers()["permissions-policy"].to_str().expect("ascii");
        assert!(permissions.contains("camera=()") && permissions.contains("geolocation=()"), "{permissions}");
        // Served over plain http: no HSTS (it would pin a plain-http demo to https).
        assert!(response.headers().get("strict-transport-security").is_none());
    }
}

/// Behind https (PUBLIC_URL), every response pins the browser to https.
#[tokio::test]
async fn behind_https_every_response_carries_hsts() {
    let app = crate::harness::TestApp::spawn_with(
        server::db::Backend::Sqlite,
        &[("PUBLIC_URL", "https://pos.example.test")],
    )
    .await;
    let response = app.me().await;
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
}

/// A request past `REQUEST_TIMEOUT_SECS` gets the envelope, not a bare status. (A limit of zero makes
/// sign-in, which hashes on another thread, time out at once.)
#[tokio::test]
async fn a_request_that_takes_too_long_gets_the_timeout_envelope() {
    let app = crate::harness::TestApp::spawn_with(
        server::db::Backend::Sqlite,
        &[("REQUEST_TIMEOUT_SECS", "0")],
    )
    .await;
    let response = app.sign_in("sam@test.example", "whatever").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(envelope(response).await.code, ErrorCode::Timeout);
}

/// Every page is served with the Content-Security-Policy, which allows the built bundles' own inline
/// loader scripts (by hash) and no other inline script.
#[tokio::test]
async fn every_page_carries_the_content_security_policy() {
    let dir = crate::harness::TempDir(
        std::env::temp_dir().join(format!("tc-static-{}", uuid::Uuid::new_v4())),
    );
    std::fs::create_dir_all(dir.0.join("admin")).expect("dir");
    let loader = "\nimport init from '/app.js';\nawait init();\n";
    std::fs::write(
        dir.0.join("index.html"),
        format!("<!doctype html><head><script type=\"module\">{loader}</script></head>"),
    )
    .expect("page");
    std::fs::write(
        dir.0.join("admin").join("index.html"),
        "<!doctype html><head><script type=\"module\">admin()</script></head>",
    )
    .expect("page");
    let static_dir = dir.0.display().to_string();
    let app = crate::harness::TestApp::spawn_with(
        server::db::Backend::Sqlite,
        &[("STATIC_DIR", static_dir.as_str())],
    )
    .await;
    let hash = |script: &str| {
        use base64::Engine;
        use sha2::Digest;
        format!(
            "'sha256-{}'",
            base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script))
        )
    };
    for path in [
        "/",
        "/account/traceability-credentials",
        "/admin/",
        "/register",
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("request");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .starts_with("text/html"),
            "{path}"
        );
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .expect("ascii")
            .to_owned();
        for wanted in [
            hash(loader),
            hash("admin()"),
            "'wasm-unsafe-eval'".into(),
            "frame-ancestors 'none'".into(),
            "connect-src 'self'".into(),
        ] {
            assert!(policy.contains(&wanted), "{path}: {wanted} not in {policy}");
        }
        assert!(!policy.contains("unsafe-inline"), "{policy}");
    }
}

//! Account safety: changing one's password, signing out everywhere, common passwords refused, and an
//! admin's one-time reset link for a user who is locked out or forgot their password.

use crate::harness::{PASSWORD, TestApp, envelope, logs, send};
use crate::on_both_databases;
use reqwest::{Client, Method, StatusCode};
use serde_json::json;
use server::hooks::Point;
use shared::Role;
use shared::admin::SetupLink;
use shared::admin::messages::COMMON_PASSWORD;
use shared::api::paths;
use std::time::Duration;

const NEW_PASSWORD: &str = "plum kettle orbit 42";

fn change(current: &str, password: &str) -> Option<serde_json::Value> {
    Some(json!({ "current": current, "password": password, "confirm": password }))
}

async fn me(app: &TestApp, client: &Client) -> StatusCode {
    send(app, client, Method::GET, paths::ME, None)
        .await
        .status()
}

/// A second signed-in client of the same user.
async fn second_session(app: &TestApp, email: &str, password: &str) -> Client {
    let client = TestApp::new_client();
    assert_eq!(
        app.sign_in_with(&client, email, password).await.status(),
        200
    );
    client
}

fn token(link: &SetupLink) -> String {
    link.url
        .split_once("/set-password#")
        .map(|(_, t)| t.to_owned())
        .expect("a link with its token in the fragment")
}

on_both_databases! {
    async fn changing_the_password_ends_every_other_session_and_is_audited(app: TestApp) {
        let (user, here) = app.signed_in_user("cam@example.test").await;
        let elsewhere = second_session(&app, "cam@example.test", PASSWORD).await;

        // A wrong current password changes nothing.
        let wrong = send(&app, &here, Method::PUT, paths::MY_PASSWORD, change("not my password", NEW_PASSWORD)).await;
        assert_eq!(wrong.status(), 422);
        let wrong = envelope(wrong).await;
        assert_eq!(wrong.fields.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), ["current"]);
        assert_eq!(me(&app, &elsewhere).await, 200);

        let done = send(&app, &here, Method::PUT, paths::MY_PASSWORD, change(PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(done.status(), 204);
        assert_eq!(me(&app, &here).await, 200, "this session goes on");
        assert_eq!(me(&app, &elsewhere).await, 401, "the other one ended");
        assert_eq!(app.sign_in("cam@example.test", PASSWORD).await.status(), 401, "the old password");
        assert_eq!(app.sign_in("cam@example.test", NEW_PASSWORD).await.status(), 200);
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE subject_user_id = $1 AND action = 'password_changed' \
                       AND detail = '1 other session(s) ended'", &[user]).await,
            1
        );
        let logged = logs();
        assert!(!logged.contains(NEW_PASSWORD) && !logged.contains(PASSWORD), "a password reached the logs");
    }

    /// Two changes sent at once (two clicks, two tabs): one wins, the other changes nothing, and exactly
    /// one of the two new passwords signs in.
    async fn two_simultaneous_password_changes_land_once(app: TestApp) {
        let (_, here) = app.signed_in_user("cam@example.test").await;
        const OTHER: &str = "quiet meadow falcon 9";
        let (a, b) = tokio::join!(
            send(&app, &here, Method::PUT, paths::MY_PASSWORD, change(PASSWORD, NEW_PASSWORD)),
            send(&app, &here, Method::PUT, paths::MY_PASSWORD, change(PASSWORD, OTHER)),
        );
        let statuses = [a.status().as_u16(), b.status().as_u16()];
        assert_eq!(statuses.iter().filter(|s| **s == 204).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| [204, 409, 422].contains(s)), "{statuses:?}");
        let works = |p: &'static str| {
            let app = &app;
            async move { app.sign_in_with(&TestApp::new_client(), "cam@example.test", p).await.status() == 200 }
        };
        let (new_works, other_works, old_works) = (works(NEW_PASSWORD).await, works(OTHER).await, works(PASSWORD).await);
        assert!(new_works ^ other_works, "exactly one new password works");
        assert!(!old_works);
        assert_eq!(me(&app, &here).await, 200, "this session goes on");
    }

    async fn wrong_current_passwords_count_as_failed_sign_ins(app: TestApp) {
        let (_, here) = app.signed_in_user("cam@example.test").await;
        for _ in 0..5 {
            let wrong = send(&app, &here, Method::PUT, paths::MY_PASSWORD, change("guess guess guess", NEW_PASSWORD)).await;
            assert_eq!(wrong.status(), 422);
        }
        let refused = send(&app, &here, Method::PUT, paths::MY_PASSWORD, change(PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(refused.status(), 429, "an open session cannot be used to guess the password");
        assert_eq!(app.sign_in("cam@example.test", PASSWORD).await.status(), 429);
    }

    async fn sign_out_everywhere_ends_every_session_this_one_too(app: TestApp) {
        let (user, here) = app.signed_in_user("cam@example.test").await;
        let elsewhere = second_session(&app, "cam@example.test", PASSWORD).await;
        let (_, someone_else) = app.signed_in_as("dee@example.test", "Dee Other", Role::Staff).await;
        let done = send(&app, &here, Method::DELETE, paths::MY_SESSIONS, None).await;
        assert_eq!(done.status(), 204);
        assert!(done.headers()["set-cookie"].to_str().expect("ascii").contains("Max-Age=0"), "the cookie is cleared");
        assert_eq!(me(&app, &here).await, 401);
        assert_eq!(me(&app, &elsewhere).await, 401);
        assert_eq!(me(&app, &someone_else).await, 200, "nobody else's");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM audit_log WHERE subject_user_id = $1 AND action = 'signed_out_everywhere' \
                       AND detail = '2 session(s) ended'", &[user]).await,
            1
        );
        assert_eq!(app.sign_in("cam@example.test", PASSWORD).await.status(), 200, "the password still works");
    }

    async fn a_common_password_of_valid_length_is_refused_saying_why(app: TestApp) {
        let (_, here) = app.signed_in_user("cam@example.test").await;
        for common in ["1qaz2wsx3edc", "Password1234!", "qwertyqwerty"] {
            let refused = send(&app, &here, Method::PUT, paths::MY_PASSWORD, change(PASSWORD, common)).await;
            assert_eq!(refused.status(), 422, "{common}");
            let refused = envelope(refused).await;
            assert_eq!(refused.field("password"), Some(COMMON_PASSWORD), "{common}");
        }
        assert_eq!(app.sign_in("cam@example.test", PASSWORD).await.status(), 200, "nothing changed");

        // Through a set-up link too.
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let added = send(&app, &admin, Method::POST, paths::ADMIN_USERS,
            Some(json!({ "email": "nia@example.test", "display_name": "Nia New", "role": "staff" }))).await;
        let link: SetupLink = added.json().await.expect("link");
        let refused = send(&app, &TestApp::new_client(), Method::POST, paths::PASSWORD_SETUP,
            Some(json!({ "token": token(&link), "password": "iloveyou1234", "confirm": "iloveyou1234" }))).await;
        assert_eq!(refused.status(), 422);
        assert_eq!(envelope(refused).await.field("password"), Some(COMMON_PASSWORD));
        let set = send(&app, &TestApp::new_client(), Method::POST, paths::PASSWORD_SETUP,
            Some(json!({ "token": token(&link), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD }))).await;
        assert_eq!(set.status(), 204, "the link still works after a refusal");
    }

    async fn a_reset_link_lets_a_locked_out_user_in_and_the_old_password_stops_working(app: TestApp) {
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let (user, theirs) = app.signed_in_user("cam@example.test").await;
        for _ in 0..5 {
            assert_eq!(app.sign_in("cam@example.test", "wrong guess").await.status(), 401);
        }
        let locked = app.sign_in("cam@example.test", PASSWORD).await;
        assert_eq!(locked.status(), 429);
        assert!(envelope(locked).await.message.contains("ask your administrator for a password reset link"));

        // Only an admin issues one, never for themselves.
        let by_staff = send(&app, &theirs, Method::POST, &paths::admin_reset_link(user), None).await;
        assert_eq!(by_staff.status(), 403);
        let issued = send(&app, &admin, Method::POST, &paths::admin_reset_link(user), None).await;
        assert_eq!(issued.status(), 200);
        assert_eq!(issued.headers()["cache-control"], "no-store");
        let link: SetupLink = issued.json().await.expect("link");
        assert_eq!(me(&app, &theirs).await, 401, "issuing it ended the user's sessions");
        let admin_id = app.count("SELECT id FROM users WHERE email = 'avery@example.test'", &[]).await;
        assert_eq!(send(&app, &admin, Method::POST, &paths::admin_reset_link(admin_id), None).await.status(), 409);

        let visitor = TestApp::new_client();
        let set = send(&app, &visitor, Method::POST, paths::PASSWORD_SETUP,
            Some(json!({ "token": token(&link), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD }))).await;
        assert_eq!(set.status(), 204);
        assert_eq!(app.sign_in("cam@example.test", PASSWORD).await.status(), 401, "the old password stopped working");
        assert_eq!(app.sign_in("cam@example.test", NEW_PASSWORD).await.status(), 200, "in at once: the lockout is lifted");
        let again = send(&app, &visitor, Method::POST, paths::PASSWORD_SETUP,
            Some(json!({ "token": token(&link), "password": "another fine phrase 9", "confirm": "another fine phrase 9" }))).await;
        assert_eq!(again.status(), 410, "a reset link works once");
        for action in ["reset_link_created", "password_reset"] {
            let sql = format!("SELECT COUNT(*) FROM audit_log WHERE subject_user_id = $1 AND action = '{action}'");
            assert_eq!(app.count(&sql, &[user]).await, 1, "{action}");
        }
        let logged = logs();
        assert!(!logged.contains(&token(&link)), "the link's token reached the logs");
    }

    /// The old password works until the link is used (the user may simply remember it): a session
    /// started with it meanwhile ends when the new password is set, and the old one stops working then.
    async fn a_session_started_with_the_old_password_ends_when_the_reset_is_used(app: TestApp) {
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let user = app.add_user("cam@example.test", "Cam Clerk", Role::Staff).await;
        let issued = send(&app, &admin, Method::POST, &paths::admin_reset_link(user), None).await;
        let link: SetupLink = issued.json().await.expect("link");
        let meanwhile = second_session(&app, "cam@example.test", PASSWORD).await;
        assert_eq!(me(&app, &meanwhile).await, 200, "the old password still works");
        // Changing the password from that session would cancel the admin's reset: refused.
        let refused = send(&app, &meanwhile, Method::PUT, paths::MY_PASSWORD, change(PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(refused.status(), 409);
        assert!(envelope(refused).await.message.contains("reset link"));

        let set = send(&app, &TestApp::new_client(), Method::POST, paths::PASSWORD_SETUP,
            Some(json!({ "token": token(&link), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD }))).await;
        assert_eq!(set.status(), 204);
        assert_eq!(me(&app, &meanwhile).await, 401, "the session started with the old password ended");
        assert_eq!(app.sign_in("cam@example.test", PASSWORD).await.status(), 401);
        let admin_id = app.count("SELECT id FROM users WHERE email = 'avery@example.test'", &[]).await;
        assert_eq!(
            app.count("SELECT actor_user_id FROM audit_log WHERE action = 'password_reset' AND subject_user_id = $1", &[user]).await,
            admin_id,
            "the audit log names the admin whose link it was"
        );
    }

    /// A sign-in whose password proved right just before the password changed does not start a session
    /// afterwards: the session is written only if the password checked is still the user's.
    async fn a_sign_in_checked_before_a_password_change_starts_no_session(app: TestApp) {
        let (_, here) = app.signed_in_user("cam@example.test").await;
        let arrived = app.state.hooks.pause_at(Point::SignInVerified, Duration::from_millis(1500));
        let late = TestApp::new_client();
        let signing_in = app.sign_in_with(&late, "cam@example.test", PASSWORD);
        let changing = async {
            arrived.notified().await;
            send(&app, &here, Method::PUT, paths::MY_PASSWORD, change(PASSWORD, NEW_PASSWORD)).await
        };
        let (signed_in, changed) = tokio::join!(signing_in, changing);
        assert_eq!(changed.status(), 204);
        assert_eq!(signed_in.status(), 401, "the password it checked is no longer the user's");
        assert_eq!(me(&app, &late).await, 401);
    }

    async fn a_reset_link_is_only_for_an_active_user_with_a_password(app: TestApp) {
        let (_, admin) = app.signed_in_as("avery@example.test", "Avery Admin", Role::Admin).await;
        let added = send(&app, &admin, Method::POST, paths::ADMIN_USERS,
            Some(json!({ "email": "nia@example.test", "display_name": "Nia New", "role": "staff" }))).await;
        let new_user: SetupLink = added.json().await.expect("link");
        let refused = send(&app, &admin, Method::POST, &paths::admin_reset_link(new_user.user.id), None).await;
        assert_eq!(refused.status(), 409);
        assert!(envelope(refused).await.message.contains("Issue a set-up link instead"));
        let user = app.add_user("gone@example.test", "Gus Gone", Role::Staff).await;
        app.execute("UPDATE users SET active = FALSE WHERE id = $1", &[user]).await;
        let refused = send(&app, &admin, Method::POST, &paths::admin_reset_link(user), None).await;
        assert_eq!(refused.status(), 409);
        // Nobody by that id in the admin's organization.
        assert_eq!(send(&app, &admin, Method::POST, &paths::admin_reset_link(999_999), None).await.status(), 404);
    }
}

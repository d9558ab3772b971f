//! Signing in and out, and who is signed in.

use crate::AppState;
use crate::accounts;
use crate::audit::{self, Entry};
use crate::error::{ApiJson, AppError};
use crate::passwords;
use crate::rate_limit;
use crate::sessions::{self, CurrentUser};
use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use shared::api::{ChangePasswordRequest, FieldError, Me, SignInRequest};
use std::net::SocketAddr;

/// The one answer to a wrong email or a wrong password, so neither reveals whether an account exists.
const WRONG_EMAIL_OR_PASSWORD: &str =
    "The email or password is not correct. Check both and try again.";
const DEACTIVATED: &str =
    "This account is deactivated. Ask your organization's administrator to reactivate it.";

/// `POST /api/session`: checks the password and starts a new session (a new id every time, so a
/// session id planted before sign-in is worthless after it).
pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    ApiJson(body): ApiJson<SignInRequest>,
) -> Result<impl IntoResponse, AppError> {
    let request = body.parse().map_err(AppError::Validation)?;
    let address = client_address(&state.config, &headers, peer);
    let limits = &state.config.sign_in_limits;
    // Counted as a failure until the password proves right: simultaneous attempts cannot overrun it.
    let slot =
        rate_limit::reserve_sign_in_failure(&state.db, limits, &request.email, &address).await?;

    let candidate = accounts::find_for_sign_in(&state.db, &request.email).await?;
    let stored_hash = candidate.as_ref().and_then(|c| c.password_hash.clone());
    let password_ok = passwords::verify(request.password, stored_hash.clone()).await;
    let user = match candidate {
        Some(candidate) if password_ok => candidate.user,
        _ => {
            tracing::info!(address, "sign-in failed");
            metrics::counter!("tc_sign_in_failures_total").increment(1);
            return Err(AppError::InvalidCredentials(WRONG_EMAIL_OR_PASSWORD));
        }
    };
    if !user.active {
        tracing::info!(user_id = user.id, "sign-in refused: user deactivated");
        return Err(AppError::InvalidCredentials(DEACTIVATED));
    }

    crate::hooks::pause(&state, crate::hooks::Point::SignInVerified).await;
    if let Some(old) = sessions::token_from(&jar, &state.config) {
        sessions::end(&state.db, &old).await?;
    }
    sessions::prune_expired(&state.db, &state.config).await?;
    rate_limit::prune_verify_attempts(&state.db).await?;
    // The session starts only if the password just checked is still the user's, and they are still
    // active, under their row lock: a password change, a reset or a deactivation that landed meanwhile
    // ended every session, and this one would have outlived them.
    let mut tx = state.db.begin_write().await?;
    accounts::lock_user(&mut tx, user.id).await?;
    let now: Option<(Option<String>, i64)> = sqlx::query_as(
        "SELECT password_hash, CASE WHEN active THEN 1 ELSE 0 END FROM users WHERE id = $1",
    )
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    if now != Some((stored_hash, 1)) {
        tx.rollback().await?;
        tracing::info!(
            user_id = user.id,
            "sign-in refused: the password or the account changed meanwhile"
        );
        return Err(AppError::InvalidCredentials(WRONG_EMAIL_OR_PASSWORD));
    }
    let cookie = sessions::start(&mut tx, &state.config, user.id).await?;
    tx.commit().await?;
    rate_limit::release_sign_in_failure(&state.db, slot, &request.email).await?;
    tracing::info!(user_id = user.id, "signed in");
    // A check at shift start: keys not checked lately are asked about now, in the background.
    tokio::spawn(crate::keys::health::recheck_at_sign_in(
        state.clone(),
        user.id,
        crate::db::now_unix(),
    ));
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        jar.add(cookie),
        Json(user.me()),
    ))
}

/// The client's address for the sign-in limits: from `CLIENT_IP_HEADER` when configured (the proxy
/// sets it), otherwise the connection's peer; an IPv6 client's /64. A header that is missing or not an IP
/// address falls back to the peer, so a client cannot dodge the limit by sending garbage.
fn client_address(config: &crate::config::Config, headers: &HeaderMap, peer: SocketAddr) -> String {
    let ip = config
        .client_ip_header
        .as_ref()
        .and_then(|name| headers.get(name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<std::net::IpAddr>().ok())
        .unwrap_or_else(|| peer.ip());
    rate_limit::counted_address(ip)
}

/// `DELETE /api/session`: ends this session on the server and clears the cookie. Signing out twice
/// is not an error.
pub async fn sign_out(
    State(state): State<AppState>,
    jar: CookieJar,
) -> Result<impl IntoResponse, AppError> {
    if let Some(token) = sessions::token_from(&jar, &state.config) {
        sessions::end(&state.db, &token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        jar.add(sessions::removal_cookie(&state.config)),
    ))
}

/// A new password (set through a link or changed) that is too common: refused, saying why.
pub fn refuse_common(password: &str) -> Result<(), AppError> {
    if passwords::is_common(password) {
        return Err(AppError::Validation(vec![FieldError::new(
            "password",
            shared::admin::messages::COMMON_PASSWORD,
        )]));
    }
    Ok(())
}

/// `PUT /api/me/password`: the current password proves it is the user (a wrong one counts as a failed
/// sign-in, so a session left open cannot be used to guess it); the new one replaces it, every other
/// session of the user ends, and the audit log records it. Refused while an administrator's reset link
/// is pending: whoever still has the old password must not be able to cancel the reset.
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: CookieJar,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<impl IntoResponse, AppError> {
    let password = body.parse().map_err(AppError::Validation)?.to_owned();
    refuse_common(&password)?;
    let this_session =
        sessions::token_from(&jar, &state.config).ok_or(AppError::Unauthenticated)?;
    // An administrator's reset is under way (someone may have the old password): it decides.
    let reset_pending: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM password_setups WHERE user_id = $1 AND purpose = 'reset' AND expires_at > $2",
    )
    .bind(user.id)
    .bind(crate::db::now_unix())
    .fetch_one(&state.db.pool)
    .await?;
    if reset_pending > 0 {
        return Err(AppError::Conflict(
            "An administrator issued a password reset link for your account: choose your new password with that link, or ask them for a new one. Nothing was changed."
                .to_owned(),
        ));
    }
    let email = shared::Email::parse(&user.email).map_err(|_| AppError::Unauthenticated)?;
    let address = client_address(&state.config, &headers, peer);
    let slot = rate_limit::reserve_sign_in_failure(
        &state.db,
        &state.config.sign_in_limits,
        &email,
        &address,
    )
    .await?;
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND active")
            .bind(user.id)
            .fetch_optional(&state.db.pool)
            .await?
            .flatten();
    if !passwords::verify(body.current.clone(), stored.clone()).await {
        tracing::info!(
            user_id = user.id,
            "password change refused: wrong current password"
        );
        metrics::counter!("tc_sign_in_failures_total").increment(1);
        return Err(AppError::Validation(vec![FieldError::new(
            "current",
            "Your current password is not correct. Nothing was changed.",
        )]));
    }
    rate_limit::release_sign_in_failure(&state.db, slot, &email).await?;
    let hash = passwords::hash(password).await?;
    let mut tx = state.db.begin_write().await?;
    // Only over the password just checked: a reset that landed meanwhile is not silently undone.
    let changed = sqlx::query(
        "UPDATE users SET password_hash = $1 WHERE id = $2 AND active AND password_hash = $3",
    )
    .bind(&hash)
    .bind(user.id)
    .bind(stored.unwrap_or_default())
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(AppError::Conflict(
            "Your password was changed elsewhere meanwhile. Nothing was changed; sign in again with the new one."
                .to_owned(),
        ));
    }
    // This session must still be there: a reset or "sign out everywhere" that ended it meanwhile wins.
    let this_hash = sessions::hash_token(&this_session);
    let still: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE token_hash = $1 AND user_id = $2")
            .bind(&this_hash)
            .bind(user.id)
            .fetch_one(&mut *tx)
            .await?;
    if still != 1 {
        tx.rollback().await?;
        return Err(AppError::Unauthenticated);
    }
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(user.id)
        .bind(&this_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    audit::record(
        &mut tx,
        &Entry::by(&user, None, "password_changed", "saved")
            .detail(format!("{ended} other session(s) ended")),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, ended, "password changed");
    Ok((
        StatusCode::NO_CONTENT,
        [(header::CACHE_CONTROL, "no-store")],
    ))
}

/// `DELETE /api/me/sessions`: "Sign out everywhere" — every session of the user ends, this one too;
/// audited.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    jar: CookieJar,
    CurrentUser(user): CurrentUser,
) -> Result<impl IntoResponse, AppError> {
    let mut tx = state.db.begin_write().await?;
    accounts::lock_user(&mut tx, user.id).await?;
    let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    audit::record(
        &mut tx,
        &Entry::by(&user, None, "signed_out_everywhere", "saved")
            .detail(format!("{ended} session(s) ended")),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user_id = user.id, ended, "signed out everywhere");
    Ok((
        StatusCode::NO_CONTENT,
        jar.add(sessions::removal_cookie(&state.config)),
    ))
}

/// `GET /api/me`: the signed-in user and their organization.
pub async fn me(CurrentUser(user): CurrentUser) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Json::<Me>(user.me()))
}

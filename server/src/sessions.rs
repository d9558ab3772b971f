//! Server-side sessions, stored in the database so that every server process shares them and so that
//! one user's sessions can be ended at once (deactivation, sign-out everywhere).
//!
//! The cookie carries 32 random bytes; the table holds only their SHA-256. A session ends after
//! `SESSION_IDLE_MINUTES` without a request or `SESSION_ABSOLUTE_HOURS` after sign-in, whichever comes
//! first, and at once when its user is deactivated.

use crate::AppState;
use crate::accounts::{USER_COLUMNS, User};
use crate::config::Config;
use crate::db::{Db, now_unix};
use crate::error::AppError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The cookie's name. Over https it carries the `__Host-` prefix, which browsers accept only for a
/// `Secure`, host-only cookie with `Path=/`: no subdomain can plant or read it.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.public_url.is_https() {
        "__Host-tc_session"
    } else {
        "tc_session"
    }
}

/// A session's last-seen time is written at most this often, so reads do not each cost a write.
const TOUCH_EVERY_SECS: i64 = 60;

/// The SHA-256 of a token, hex: what the database stores of a session or a set-up link.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// 32 random bytes, URL-safe base64: a session's or a set-up link's secret.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Starts a session for a user and returns the cookie that carries it. Called in the transaction that
/// checked, under the user's row lock, that the password just verified is still theirs.
pub async fn start(
    tx: &mut sqlx::AnyConnection,
    config: &Config,
    user_id: i64,
) -> Result<Cookie<'static>, sqlx::Error> {
    let token = new_token();
    let now = now_unix();
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at) VALUES ($1, $2, $3, $3)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(now)
    .execute(tx)
    .await?;
    Ok(session_cookie(config, token))
}

/// A browser-session cookie (no `Max-Age`): closing the browser on a shared register forgets it, and
/// the server enforces both expiries whatever the browser keeps.
fn session_cookie(config: &Config, value: String) -> Cookie<'static> {
    Cookie::build((cookie_name(config), value))
        .path("/")
        .http_only(true)
        .secure(config.public_url.is_https())
        .same_site(SameSite::Strict)
        .build()
}

/// A cookie that makes the browser forget the session.
pub fn removal_cookie(config: &Config) -> Cookie<'static> {
    let mut cookie = session_cookie(config, String::new());
    cookie.make_removal();
    cookie
}

/// Ends one session (sign-out, or the old session replaced at sign-in).
pub async fn end(db: &Db, token: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(hash_token(token))
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Ends every session of a user at once; returns how many there were.
pub async fn end_all_for_user(db: &Db, user_id: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Deletes sessions past either expiry, whoever they belong to.
pub async fn prune_expired(db: &Db, config: &Config) -> Result<(), sqlx::Error> {
    let now = now_unix();
    sqlx::query("DELETE FROM sessions WHERE created_at <= $1 OR last_seen_at <= $2")
        .bind(now - secs(config.sessions.absolute))
        .bind(now - secs(config.sessions.idle))
        .execute(&db.pool)
        .await?;
    Ok(())
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The user a valid session cookie belongs to; ends the session if it has expired or its user is no
/// longer active.
async fn resolve(
    db: &Db,
    config: &Config,
    token: &str,
    touch: bool,
) -> Result<Option<User>, sqlx::Error> {
    let token_hash = hash_token(token);
    let sql = format!(
        "SELECT {USER_COLUMNS}, s.created_at AS session_created_at, s.last_seen_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         JOIN organizations o ON o.id = u.organization_id WHERE s.token_hash = $1"
    );
    let Some(row) = sqlx::query(&sql)
        .bind(&token_hash)
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    use sqlx::{FromRow, Row};
    let user = User::from_row(&row)?;
    let created_at: i64 = row.try_get("session_created_at")?;
    let last_seen_at: i64 = row.try_get("last_seen_at")?;
    let now = now_unix();
    let expired = now - created_at >= secs(config.sessions.absolute)
        || now - last_seen_at >= secs(config.sessions.idle);
    if expired || !user.active {
        end(db, token).await?;
        return Ok(None);
    }
    if touch && now - last_seen_at >= TOUCH_EVERY_SECS {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now)
            .bind(&token_hash)
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(user))
}

/// When the session of this cookie started (unix seconds), if it exists.
pub async fn started_at(db: &Db, token: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT created_at FROM sessions WHERE token_hash = $1")
        .bind(hash_token(token))
        .fetch_optional(&db.pool)
        .await
}

/// The session cookie's value, if the request has one.
pub fn token_from(jar: &CookieJar, config: &Config) -> Option<String> {
    jar.get(cookie_name(config))
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The signed-in user of a request. Handlers that take it answer 401 to anyone without a live session.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        signed_in(parts, state, true).await.map(CurrentUser)
    }
}

/// The user of the request's live session (401 without one); `touch`: the request is the person's
/// activity, so it keeps the session from idling out.
async fn signed_in(parts: &Parts, state: &AppState, touch: bool) -> Result<User, AppError> {
    let jar = CookieJar::from_headers(&parts.headers);
    let token = token_from(&jar, &state.config).ok_or(AppError::Unauthenticated)?;
    resolve(&state.db, &state.config, &token, touch)
        .await?
        .ok_or(AppError::Unauthenticated)
}

/// The signed-in user of a request the browser makes by itself (the banner's poll, Register's reload of
/// "My reports"), which is not the
/// person's activity: it does not keep the session from idling out, so an unattended register still
/// signs itself out after `SESSION_IDLE_MINUTES`.
#[derive(Debug, Clone)]
pub struct PollingUser(pub User);

impl FromRequestParts<AppState> for PollingUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        signed_in(parts, state, false).await.map(PollingUser)
    }
}

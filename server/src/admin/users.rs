//! Organization Management > Users: list, add (with a one-time link to set a password), change role,
//! deactivate and reactivate. And the public end of the link: setting the password.
//!
//! Deactivating a user ends their sessions at once and destroys their stored METRC keys (their
//! credentials are deleted); the audit trail keeps them.

use super::licenses::busy;
use super::{AdminUser, NO_STORE, read_rows};
use crate::AppState;
use crate::accounts::lock_organization;
use crate::accounts::{self, NewUser};
use crate::audit::{self, Entry};
use crate::db::{is_unique_violation, now_unix};
use crate::error::{ApiJson, AppError};
use crate::sessions::{hash_token, new_token};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use shared::Role;
use shared::admin::{
    NewUserRequest, SetPasswordRequest, SetupLink, UserAdminView, UserChangeRequest,
    UsersAdminPage, messages,
};
use shared::api::ErrorCode;
use sqlx::{AnyConnection, Row};

/// How long a set-up link works.
pub const SETUP_LINK_HOURS: i64 = 24;

const COLUMNS: &str = "u.id, u.email, u.display_name, u.role, \
     CASE WHEN u.active THEN 1 ELSE 0 END AS active, \
     CASE WHEN u.password_hash IS NULL THEN 0 ELSE 1 END AS has_password, u.version, \
     (SELECT COUNT(*) FROM credentials c WHERE c.user_id = u.id) AS credentials";

fn from_row(row: &sqlx::any::AnyRow) -> Result<UserAdminView, sqlx::Error> {
    Ok(UserAdminView {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        display_name: row.try_get("display_name")?,
        role: crate::db::decode(row, "role", Role::from_code)?,
        active: row.try_get::<i64, _>("active")? != 0,
        has_password: row.try_get::<i64, _>("has_password")? != 0,
        version: row.try_get("version")?,
        credentials: row.try_get("credentials")?,
    })
}

/// One of the organization's rows (`None` for another organization's id).
async fn find(
    conn: &mut AnyConnection,
    organization_id: i64,
    id: i64,
) -> Result<Option<UserAdminView>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users u WHERE u.id = $1 AND u.organization_id = $2");
    Ok(read_rows(conn, &sql, &[id, organization_id], from_row)
        .await?
        .pop())
}

/// `GET /api/admin/users`.
pub async fn list(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<impl IntoResponse, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE u.organization_id = $1 ORDER BY u.display_name, u.id"
    );
    let mut conn = state.db.pool.acquire().await?;
    let users = read_rows(&mut conn, &sql, &[admin.organization_id], from_row).await?;
    Ok((NO_STORE, Json(UsersAdminPage { users })))
}

/// Makes a new set-up link for a user (replacing any older one) and returns its token and expiry.
async fn issue_link(
    tx: &mut AnyConnection,
    admin_id: i64,
    user_id: i64,
    purpose: Purpose,
) -> Result<(String, i64), sqlx::Error> {
    sqlx::query("DELETE FROM password_setups WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let token = new_token();
    let expires_at = now_unix() + SETUP_LINK_HOURS * 3600;
    sqlx::query(
        "INSERT INTO password_setups (token_hash, user_id, created_by, expires_at, purpose) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(admin_id)
    .bind(expires_at)
    .bind(purpose.code())
    .execute(&mut *tx)
    .await?;
    Ok((token, expires_at))
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A new user's first password: only while they have none.
    Setup,
    /// A reset an admin issued: replaces the user's password.
    Reset,
}

impl Purpose {
    fn code(self) -> &'static str {
        match self {
            Purpose::Setup => "setup",
            Purpose::Reset => "reset",
        }
    }
}

/// The link the admin hands over. The token is in the fragment, so it never reaches a server log or a
/// `Referer` header.
fn link_url(state: &AppState, token: &str) -> String {
    format!("{}/set-password#{token}", state.config.public_url.origin())
}

/// `POST /api/admin/users`: adds a user without a password and returns their set-up link.
pub async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<NewUserRequest>,
) -> Result<impl IntoResponse, AppError> {
    let draft = body.parse().map_err(AppError::Validation)?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    let id = accounts::create_user(
        &mut tx,
        NewUser {
            organization_id: admin.organization_id,
            email: &draft.email,
            display_name: &draft.display_name,
            role: draft.role,
            password_hash: None,
        },
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            AppError::Conflict(format!(
                "{} is already in use. Each person signs in with their own email address.",
                draft.email
            ))
        } else {
            busy(e)
        }
    })?;
    let (token, expires_at) = issue_link(&mut tx, admin.id, id, Purpose::Setup).await?;
    audit::record(
        &mut tx,
        &Entry::admin(&admin, Some(id), "user_added", "saved").detail(format!(
            "{} <{}> as {}",
            draft.display_name,
            draft.email,
            draft.role.code()
        )),
    )
    .await?;
    let user = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or_else(|| AppError::Internal("the user just added is missing".into()))?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(user_id = id, "user added");
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(SetupLink {
            user,
            url: link_url(&state, &token),
            expires_at,
        }),
    ))
}

/// `POST /api/admin/users/{id}/setup-link`: a new link for a user who has not set a password yet (the
/// old one stops working). Never for a user with a password: an admin must not be able to take over a
/// person's account, and with it their name in METRC.
pub async fn setup_link(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    new_link(&state, &admin, id, Purpose::Setup).await
}

/// `POST /api/admin/users/{id}/reset-link`: a one-time password reset link for an active user who has a
/// password (one who has none gets a set-up link). Issuing it ends the user's sessions at once and
/// replaces any earlier link; their old password works until the new one is set through the link, and
/// stops working then. Audited. Not for oneself: Manage account changes one's own password.
pub async fn reset_link(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    if id == admin.id {
        return Err(AppError::Conflict(
            "Change your own password in Manage account.".to_owned(),
        ));
    }
    new_link(&state, &admin, id, Purpose::Reset).await
}

/// A new one-time link of either kind for an active user of the admin's organization: a set-up link
/// only while they have no password, a reset link only once they have one (which ends their sessions).
async fn new_link(
    state: &AppState,
    admin: &accounts::User,
    id: i64,
    purpose: Purpose,
) -> Result<impl IntoResponse + use<>, AppError> {
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    // As every admin change: a deactivation cannot land between the check and the new link.
    lock_organization(&mut tx, admin.organization_id).await?;
    let user = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !user.active {
        return Err(AppError::Conflict(format!(
            "{} is deactivated. Reactivate them first.",
            user.display_name
        )));
    }
    match purpose {
        Purpose::Setup if user.has_password => {
            return Err(AppError::Conflict(format!(
                "{} has already set a password. A set-up link is only for a new account; issue a password reset link instead.",
                user.display_name
            )));
        }
        Purpose::Reset if !user.has_password => {
            return Err(AppError::Conflict(format!(
                "{} has not set a password yet. Issue a set-up link instead.",
                user.display_name
            )));
        }
        _ => {}
    }
    let (token, expires_at) = issue_link(&mut tx, admin.id, id, purpose).await?;
    let entry = match purpose {
        Purpose::Setup => Entry::admin(admin, Some(id), "setup_link_created", "saved"),
        Purpose::Reset => {
            let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(busy)?
                .rows_affected();
            Entry::admin(admin, Some(id), "reset_link_created", "saved")
                .detail(format!("{ended} session(s) ended"))
        }
    };
    audit::record(&mut tx, &entry).await?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(
        user_id = id,
        purpose = purpose.code(),
        "one-time password link issued"
    );
    Ok((
        NO_STORE,
        Json(SetupLink {
            user,
            url: link_url(state, &token),
            expires_at,
        }),
    ))
}

/// `PUT /api/admin/users/{id}`: role and active flag. Deactivation ends the user's sessions and
/// destroys their stored keys in the same transaction. The organization always keeps an active admin.
pub async fn update(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<UserChangeRequest>,
) -> Result<impl IntoResponse, AppError> {
    let change = body.parse().map_err(AppError::Validation)?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    lock_organization(&mut tx, admin.organization_id).await?;
    let before = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if before.version != change.version {
        return Err(AppError::Conflict(format!(
            "{} was changed by someone else meanwhile. Reload the page to see them as they are now. Nothing was saved.",
            before.display_name
        )));
    }
    let stays_admin = change.active && change.role == Role::Admin;
    if before.active && before.role == Role::Admin && !stays_admin {
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE organization_id = $1 AND role = 'admin' AND active AND id <> $2",
        )
        .bind(admin.organization_id)
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Err(AppError::Conflict(messages::LAST_ADMIN.to_owned()));
        }
    }
    sqlx::query(
        "UPDATE users SET role = $1, active = $2, version = version + 1 \
         WHERE id = $3 AND organization_id = $4 AND version = $5",
    )
    .bind(change.role.code())
    .bind(change.active)
    .bind(id)
    .bind(admin.organization_id)
    .bind(change.version)
    .execute(&mut *tx)
    .await
    .map_err(busy)?;
    if before.role != change.role {
        audit::record(
            &mut tx,
            &Entry::admin(&admin, Some(id), "role_changed", "saved").detail(format!(
                "{} → {}",
                before.role.code(),
                change.role.code()
            )),
        )
        .await?;
    }
    if before.active && !change.active {
        let destroyed = deactivate(&mut tx, id).await?;
        // Their reports held for want of a key are decided again (the default key, or a hold).
        crate::keys::release_for_user(
            &mut tx,
            admin.organization_id,
            id,
            crate::keys::Licenses::All,
        )
        .await?;
        audit::record(
            &mut tx,
            &Entry::admin(&admin, Some(id), "user_deactivated", "saved").detail(format!(
                "sessions ended; {destroyed} stored METRC key(s) destroyed"
            )),
        )
        .await?;
    } else if !before.active && change.active {
        audit::record(
            &mut tx,
            &Entry::admin(&admin, Some(id), "user_reactivated", "saved"),
        )
        .await?;
    }
    let user = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(
        user_id = id,
        active = user.active,
        role = user.role.code(),
        "user changed"
    );
    Ok((NO_STORE, Json(user)))
}

/// Ends a user's sessions and set-up links and deletes their credentials (the sealed keys with them).
/// Returns how many credentials were destroyed.
async fn deactivate(tx: &mut AnyConnection, user_id: i64) -> Result<u64, sqlx::Error> {
    for sql in [
        "DELETE FROM sessions WHERE user_id = $1",
        "DELETE FROM password_setups WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
    }
    let done = sqlx::query("DELETE FROM credentials WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    Ok(done.rows_affected())
}

/// `POST /api/password-setup` (no session): sets the password of the link's user and uses the link up.
pub async fn set_password(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SetPasswordRequest>,
) -> Result<impl IntoResponse, AppError> {
    let password = body.parse().map_err(AppError::Validation)?.to_owned();
    crate::auth::refuse_common(&password)?;
    let expired = || {
        AppError::Rejected(
            StatusCode::GONE,
            ErrorCode::NotFound,
            messages::LINK_EXPIRED.to_owned(),
        )
    };
    let token_hash = hash_token(body.token.trim());
    // A set-up link works while the user has no password; a reset link replaces the one they have.
    let found: Option<(i64, i64, String, String, i64)> = sqlx::query_as(
        "SELECT p.user_id, u.organization_id, u.email, p.purpose, p.created_by \
         FROM password_setups p JOIN users u ON u.id = p.user_id \
         WHERE p.token_hash = $1 AND p.expires_at > $2 AND u.active \
           AND (u.password_hash IS NULL OR p.purpose = 'reset')",
    )
    .bind(&token_hash)
    .bind(now_unix())
    .fetch_optional(&state.db.pool)
    .await?;
    let Some((user_id, organization_id, email, purpose, issued_by)) = found else {
        return Err(expired());
    };
    let reset = purpose == Purpose::Reset.code();
    let hash = crate::passwords::hash(password).await?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    // The link is used up in the same transaction that sets the password: it works once.
    let used = sqlx::query(
        "DELETE FROM password_setups WHERE token_hash = $1 AND expires_at > $2 AND purpose = $3",
    )
    .bind(&token_hash)
    .bind(now_unix())
    .bind(&purpose)
    .execute(&mut *tx)
    .await?;
    let set = sqlx::query(
        "UPDATE users SET password_hash = $1 WHERE id = $2 AND active AND (password_hash IS NULL OR $3 = 1)",
    )
    .bind(&hash)
    .bind(user_id)
    .bind(i64::from(reset))
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 || set.rows_affected() != 1 {
        return Err(expired());
    }
    if reset {
        // Whoever signed in with the old password meanwhile is signed out, and the account's failed
        // sign-ins are forgiven: the lockout is what the reset was for.
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM sign_in_failures WHERE email = $1")
            .bind(&email)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        &audit::Entry {
            organization_id,
            // A reset is the issuing admin's act as much as the user's: the log names the admin, whose
            // link it was (whoever held the link chose the password).
            actor_user_id: if reset { issued_by } else { user_id },
            subject_user_id: user_id,
            credential_id: None,
            action: if reset {
                "password_reset"
            } else {
                "password_set"
            },
            result: "saved",
            detail: if reset {
                "set through the actor's one-time reset link; every session ended".to_owned()
            } else {
                String::new()
            },
            license_ids: Vec::new(),
        },
    )
    .await?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(user_id, reset, "password set through a one-time link");
    Ok((StatusCode::NO_CONTENT, NO_STORE))
}

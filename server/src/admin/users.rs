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
) -> Result<(String, i64), sqlx::Error> {
    sqlx::query("DELETE FROM password_setups WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    let token = new_token();
    let expires_at = now_unix() + SETUP_LINK_HOURS * 3600;
    sqlx::query(
        "INSERT INTO password_setups (token_hash, user_id, created_by, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash_token(&token))
    .bind(user_id)
    .bind(admin_id)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    Ok((token, expires_at))
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
    let (token, expires_at) = issue_link(&mut tx, admin.id, id).await?;
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
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    let user = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if user.has_password {
        return Err(AppError::Conflict(format!(
            "{} has already set a password. A set-up link is only for a new account.",
            user.display_name
        )));
    }
    if !user.active {
        return Err(AppError::Conflict(format!(
            "{} is deactivated. Reactivate them first.",
            user.display_name
        )));
    }
    let (token, expires_at) = issue_link(&mut tx, admin.id, id).await?;
    audit::record(
        &mut tx,
        &Entry::admin(&admin, Some(id), "setup_link_created", "saved"),
    )
    .await?;
    tx.commit().await.map_err(busy)?;
    Ok((
        NO_STORE,
        Json(SetupLink {
            user,
            url: link_url(&state, &token),
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
    let expired = || {
        AppError::Rejected(
            StatusCode::GONE,
            ErrorCode::NotFound,
            messages::LINK_EXPIRED.to_owned(),
        )
    };
    let token_hash = hash_token(body.token.trim());
    let found: Option<(i64, i64)> = sqlx::query_as(
        "SELECT p.user_id, u.organization_id FROM password_setups p JOIN users u ON u.id = p.user_id \
         WHERE p.token_hash = $1 AND p.expires_at > $2 AND u.active AND u.password_hash IS NULL",
    )
    .bind(&token_hash)
    .bind(now_unix())
    .fetch_optional(&state.db.pool)
    .await?;
    let Some((user_id, organization_id)) = found else {
        return Err(expired());
    };
    let hash = crate::passwords::hash(password).await?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    // The link is used up in the same transaction that sets the password: it works once.
    let used = sqlx::query("DELETE FROM password_setups WHERE token_hash = $1 AND expires_at > $2")
        .bind(&token_hash)
        .bind(now_unix())
        .execute(&mut *tx)
        .await?;
    let set = sqlx::query(
        "UPDATE users SET password_hash = $1 WHERE id = $2 AND active AND password_hash IS NULL",
    )
    .bind(&hash)
    .bind(user_id)
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 || set.rows_affected() != 1 {
        return Err(expired());
    }
    audit::record(
        &mut tx,
        &audit::Entry {
            organization_id,
            actor_user_id: user_id,
            subject_user_id: user_id,
            credential_id: None,
            action: "password_set",
            result: "saved",
            detail: String::new(),
            license_ids: Vec::new(),
        },
    )
    .await?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(user_id, "password set through a set-up link");
    Ok((StatusCode::NO_CONTENT, NO_STORE))
}

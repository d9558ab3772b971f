//! Config Page > Integration > "Metrc API Key & State Tracking Licenses": per state, the organization's
//! default METRC key (verified against METRC like a user key, sealed at rest, shown masked, replaceable,
//! removable) and the state's licenses with their tracked flag (changed through the licenses API).
//!
//! Setting a key follows Verify & Save: METRC is asked outside any transaction, then one short write
//! transaction stores the sealed key and the license numbers METRC said it reaches.

use super::licenses::busy;
use super::{AdminUser, NO_STORE, lock_organization};
use crate::AppState;
use crate::accounts::User;
use crate::audit::{self, Entry};
use crate::credentials::{KeyHolder, decode, key_holders};
use crate::crypto::CredentialKeys;
use crate::db::now_unix;
use crate::error::{ApiJson, AppError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use metrc::{Metrc, MetrcError};
use shared::admin::{
    DefaultKeyRequest, DefaultKeyView, IntegrationLicense, IntegrationPage, StateIntegration,
    messages,
};
use shared::api::ErrorCode;
use shared::credential::CredentialStatus;
use shared::{MetrcUserKey, StateCode};
use sqlx::{AnyConnection, Row};

/// The owner a default key is sealed to: it opens only as this organization's key for this state.
pub fn owner(organization_id: i64, state: StateCode) -> String {
    format!("organization:{organization_id}/default/{}", state.code())
}

/// The page: every state the organization has licenses in, with its default key and licenses.
pub async fn load(
    conn: &mut AnyConnection,
    organization_id: i64,
) -> Result<IntegrationPage, AppError> {
    let mut states: Vec<StateIntegration> = Vec::new();
    for row in sqlx::query(
        "SELECT l.id, l.number, l.display_name, l.state, l.version, \
         CASE WHEN l.tracked THEN 1 ELSE 0 END AS tracked, CASE WHEN l.active THEN 1 ELSE 0 END AS active, \
         CASE WHEN EXISTS (SELECT 1 FROM default_keys dk JOIN default_key_reaches r ON r.default_key_id = dk.id \
           WHERE dk.organization_id = l.organization_id AND dk.provider = l.provider AND dk.state = l.state \
           AND r.license_number = l.number) THEN 1 ELSE 0 END AS reached \
         FROM licenses l WHERE l.organization_id = $1 AND l.provider = 'metrc' ORDER BY l.state, l.number",
    )
    .bind(organization_id)
    .fetch_all(&mut *conn)
    .await?
    {
        let state = decode(&row, "state", |s| StateCode::parse(s).ok())?;
        if states.last().is_none_or(|s| s.state != state) {
            states.push(StateIntegration {
                state,
                default_key: None,
                licenses: Vec::new(),
            });
        }
        if let Some(s) = states.last_mut() {
            s.licenses.push(IntegrationLicense {
                id: row.try_get("id")?,
                number: row.try_get("number")?,
                name: row.try_get("display_name")?,
                tracked: row.try_get::<i64, _>("tracked")? != 0,
                active: row.try_get::<i64, _>("active")? != 0,
                reached_by_default: row.try_get::<i64, _>("reached")? != 0,
                version: row.try_get("version")?,
            });
        }
    }
    for row in sqlx::query(
        "SELECT dk.state, dk.key_last_four, dk.status, dk.verified_at, dk.version, u.display_name \
         FROM default_keys dk JOIN users u ON u.id = dk.updated_by \
         WHERE dk.organization_id = $1 AND dk.provider = 'metrc'",
    )
    .bind(organization_id)
    .fetch_all(&mut *conn)
    .await?
    {
        let state = decode(&row, "state", |s| StateCode::parse(s).ok())?;
        let view = DefaultKeyView {
            key_last_four: row.try_get("key_last_four")?,
            status: decode(&row, "status", CredentialStatus::from_code)?,
            verified_at: row.try_get("verified_at")?,
            updated_by: row.try_get("display_name")?,
            version: row.try_get("version")?,
        };
        match states.iter_mut().find(|s| s.state == state) {
            Some(s) => s.default_key = Some(view),
            // A key kept for a state whose licenses were all removed: still shown, so it can be removed.
            None => states.push(StateIntegration {
                state,
                default_key: Some(view),
                licenses: Vec::new(),
            }),
        }
    }
    states.sort_by_key(|s| s.state);
    Ok(IntegrationPage { states })
}

/// `GET /api/admin/integration`.
pub async fn page(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    Ok((
        NO_STORE,
        Json(load(&mut conn, admin.organization_id).await?),
    ))
}

fn state_of(raw: &str) -> Result<StateCode, AppError> {
    StateCode::parse(raw).map_err(|_| AppError::NotFound)
}

fn one_state(page: IntegrationPage, state: StateCode) -> Result<StateIntegration, AppError> {
    page.states
        .into_iter()
        .find(|s| s.state == state)
        .ok_or(AppError::NotFound)
}

/// `PUT /api/admin/integration/{state}/default-key`: verifies the key with METRC, then stores it.
pub async fn set_default_key(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(raw_state): Path<String>,
    ApiJson(body): ApiJson<DefaultKeyRequest>,
) -> Result<impl IntoResponse, AppError> {
    let us = state_of(&raw_state)?;
    let key = body.parse().map_err(AppError::Validation)?;
    let keys = &state.config.credential_keys;
    {
        let mut conn = state.db.pool.acquire().await?;
        let licenses_here: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM licenses WHERE organization_id = $1 AND provider = 'metrc' AND state = $2",
        )
        .bind(admin.organization_id)
        .bind(us.code())
        .fetch_one(&mut *conn)
        .await?;
        if licenses_here == 0 {
            return Err(AppError::Conflict(format!(
                "Your organization has no license in {}. Add one in Organization Management first.",
                us.name()
            )));
        }
        check_not_personal(&mut conn, &state, &admin, &key).await?;
    }
    crate::rate_limit::check_verify(&state.db, state.config.verify_attempts_per_minute, admin.id)
        .await?;

    let outcome = state.metrc.verify_key(us, &key, &[]).await;
    let reached: Vec<String> =
        match outcome {
            Ok(check) => check
                .reached
                .into_iter()
                .map(|f| f.license_number)
                .collect(),
            Err(error) => {
                let (result, answer) = refusal(us, error);
                audit::record_alone(
                    &state.db,
                    &Entry::admin(&admin, None, "default_key_verify_failed", result)
                        .detail(format!("{}: key ••••{}", us.code(), key.last_four())),
                )
                .await?;
                return Err(answer);
            }
        };

    let mut tx = state.db.begin_write().await.map_err(busy)?;
    lock_organization(&mut tx, admin.organization_id).await?;
    check_not_personal(&mut tx, &state, &admin, &key).await?;
    let existing: Option<(i64, i64)> = sqlx::query_as(
        "SELECT id, version FROM default_keys WHERE organization_id = $1 AND provider = 'metrc' AND state = $2",
    )
    .bind(admin.organization_id)
    .bind(us.code())
    .fetch_optional(&mut *tx)
    .await?;
    if existing.map(|(_, v)| v) != body.version {
        return Err(AppError::Conflict(format!(
            "The default key for {} was changed by someone else meanwhile. Reload the page to see it as it is now. Nothing was saved.",
            us.name()
        )));
    }
    write_default_key(
        &mut tx,
        keys,
        DefaultKeyWrite {
            organization_id: admin.organization_id,
            state: us,
            key: &key,
            reached: &reached,
            admin_id: admin.id,
            existing: existing.map(|(id, _)| id),
        },
    )
    .await
    .map_err(busy)?;
    let saved = one_state(load(&mut tx, admin.organization_id).await?, us)?;
    let not_covered: Vec<&str> = saved
        .not_covered()
        .iter()
        .map(|l| l.number.as_str())
        .collect();
    let reached_ids: Vec<i64> = saved
        .licenses
        .iter()
        .filter(|l| l.reached_by_default)
        .map(|l| l.id)
        .collect();
    audit::record(
        &mut tx,
        &Entry::admin(
            &admin,
            None,
            if existing.is_some() {
                "default_key_replaced"
            } else {
                "default_key_set"
            },
            "saved",
        )
        .detail(format!(
            "{}: key ••••{}; not covered: {}",
            us.code(),
            key.last_four(),
            if not_covered.is_empty() {
                "none".to_owned()
            } else {
                not_covered.join(", ")
            }
        ))
        .licenses(&reached_ids),
    )
    .await?;
    // Reports held for want of any key in this state go out again now.
    crate::reports::outbox::replay_for_default_key(&mut tx, admin.organization_id, us).await?;
    tx.commit().await.map_err(busy)?;
    state.outbox.wake();
    tracing::info!(state = us.code(), "default key saved");
    Ok((NO_STORE, Json(saved)))
}

/// What [`write_default_key`] stores.
#[derive(Debug)]
pub struct DefaultKeyWrite<'a> {
    pub organization_id: i64,
    pub state: StateCode,
    pub key: &'a MetrcUserKey,
    /// The license numbers METRC said the key reaches.
    pub reached: &'a [String],
    pub admin_id: i64,
    /// The row replaced, if the state has a default key already.
    pub existing: Option<i64>,
}

/// Stores a verified default key, sealed and fingerprinted, with the license numbers it reaches, inside
/// the caller's transaction. Returns the row's id.
pub async fn write_default_key(
    tx: &mut AnyConnection,
    keys: &CredentialKeys,
    write: DefaultKeyWrite<'_>,
) -> Result<i64, sqlx::Error> {
    let sealed = keys.seal(&owner(write.organization_id, write.state), write.key);
    let fingerprint = keys.fingerprint(write.key);
    let now = now_unix();
    let id: i64 = match write.existing {
        None => {
            sqlx::query_scalar(
                "INSERT INTO default_keys (organization_id, provider, state, key_id, key_ciphertext, \
                 fingerprint_key_id, key_fingerprint, key_last_four, status, verified_at, version, updated_by, updated_at) \
                 VALUES ($1, 'metrc', $2, $3, $4, $5, $6, $7, 'verified', $8, 1, $9, $8) RETURNING id",
            )
            .bind(write.organization_id)
            .bind(write.state.code())
            .bind(sealed.key_id)
            .bind(sealed.ciphertext)
            .bind(fingerprint.key_id)
            .bind(fingerprint.value)
            .bind(write.key.last_four())
            .bind(now)
            .bind(write.admin_id)
            .fetch_one(&mut *tx)
            .await?
        }
        Some(id) => {
            sqlx::query(
                "UPDATE default_keys SET key_id = $1, key_ciphertext = $2, fingerprint_key_id = $3, \
                 key_fingerprint = $4, key_last_four = $5, status = 'verified', verified_at = $6, \
                 updated_at = $6, updated_by = $7, version = version + 1 WHERE id = $8",
            )
            .bind(sealed.key_id)
            .bind(sealed.ciphertext)
            .bind(fingerprint.key_id)
            .bind(fingerprint.value)
            .bind(write.key.last_four())
            .bind(now)
            .bind(write.admin_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM default_key_reaches WHERE default_key_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
    };
    let mut numbers: Vec<&str> = write.reached.iter().map(String::as_str).collect();
    numbers.sort_unstable();
    numbers.dedup();
    if !numbers.is_empty() {
        let rows: Vec<String> = (0..numbers.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect();
        let sql = format!(
            "INSERT INTO default_key_reaches (default_key_id, license_number) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(&sql).bind(id);
        for n in numbers {
            insert = insert.bind(n);
        }
        insert.execute(&mut *tx).await?;
    }
    Ok(id)
}

/// `DELETE /api/admin/integration/{state}/default-key`.
pub async fn remove_default_key(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(raw_state): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let us = state_of(&raw_state)?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    let removed: Option<String> = sqlx::query_scalar(
        "DELETE FROM default_keys WHERE organization_id = $1 AND provider = 'metrc' AND state = $2 \
         RETURNING key_last_four",
    )
    .bind(admin.organization_id)
    .bind(us.code())
    .fetch_optional(&mut *tx)
    .await
    .map_err(busy)?;
    let Some(last_four) = removed else {
        return Err(AppError::NotFound);
    };
    audit::record(
        &mut tx,
        &Entry::admin(&admin, None, "default_key_removed", "deleted")
            .detail(format!("{}: key ••••{last_four}", us.code())),
    )
    .await?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(state = us.code(), "default key removed");
    Ok((StatusCode::NO_CONTENT, NO_STORE))
}

/// A person's own key (on a credential) cannot become the default key: reports under it would name them.
async fn check_not_personal(
    conn: &mut AnyConnection,
    state: &AppState,
    admin: &User,
    key: &MetrcUserKey,
) -> Result<(), AppError> {
    let holders = key_holders(
        conn,
        &state.config.credential_keys,
        admin.organization_id,
        key,
    )
    .await?;
    if holders
        .iter()
        .any(|h| matches!(h, KeyHolder::Credential { .. }))
    {
        return Err(AppError::Rejected(
            StatusCode::CONFLICT,
            ErrorCode::KeyBelongsToAnother,
            messages::DEFAULT_KEY_IS_PERSONAL.to_owned(),
        ));
    }
    Ok(())
}

/// METRC's refusal as the admin's answer, and the audit result.
fn refusal(us: StateCode, error: MetrcError) -> (&'static str, AppError) {
    match error {
        MetrcError::InvalidKey => (
            "key_invalid",
            AppError::Rejected(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::MetrcKeyInvalid,
                messages::default_key_invalid(us),
            ),
        ),
        other => {
            tracing::warn!(error = %other, "METRC could not be reached for a default key check");
            (
                "metrc_unavailable",
                AppError::Rejected(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::MetrcUnavailable,
                    "METRC could not be reached. The default key was not changed; please try again."
                        .to_owned(),
                ),
            )
        }
    }
}

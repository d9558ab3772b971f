//! Config Page > Integration > "Metrc API Key & State Tracking Licenses": per state, the organization's
//! default METRC key (verified against METRC like a user key, sealed at rest, shown masked, replaceable,
//! removable) and the state's licenses with their tracked flag (changed through the licenses API).
//!
//! Setting a key follows Verify & Save: METRC is asked outside any transaction, then one short write
//! transaction stores the sealed key and the license numbers METRC said it reaches.

use super::licenses::busy;
use super::{AdminUser, NO_STORE};
use crate::AppState;
use crate::accounts::User;
use crate::audit::{self, Entry};
use crate::db::decode;
use crate::error::{ApiJson, AppError};
use crate::keys::answer::{Offered, Refusal, someone_elses, verdict};
use crate::keys::{self, DefaultKeyWrite};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use metrc::Metrc;
use shared::admin::{
    DefaultKeyRequest, DefaultKeyView, IntegrationLicense, IntegrationPage, StateIntegration,
};
use shared::credential::CredentialStatus;
use shared::{LicenseNumber, MetrcUserKey, StateCode};
use sqlx::{AnyConnection, Row};

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
                number: decode(&row, "number", |s| LicenseNumber::parse(s).ok())?,
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
    }
    // Every attempt counts, a refused one too: offering people's keys one after another is what the
    // limit is for.
    crate::rate_limit::check_verify(&state.db, state.config.verify_attempts_per_minute, admin.id)
        .await?;
    {
        let mut conn = state.db.pool.acquire().await?;
        if let Err(refusal) = not_personal(&mut conn, &state, &admin, &key).await? {
            return Err(refused(&state, &admin, us, &key, refusal).await?);
        }
    }

    let reached: Vec<String> = match verdict(
        Offered::DefaultKey,
        us,
        state.metrc.verify_key(us, &key, &[]).await,
    ) {
        Ok(check) => check
            .reached
            .into_iter()
            .map(|f| f.license_number)
            .collect(),
        Err(refusal) => return Err(refused(&state, &admin, us, &key, refusal).await?),
    };

    let mut tx = state.db.begin_write().await.map_err(busy)?;
    keys::lock(&mut tx, admin.organization_id).await?;
    if let Err(refusal) = not_personal(&mut tx, &state, &admin, &key).await? {
        tx.rollback().await?;
        return Err(refused(&state, &admin, us, &key, refusal).await?);
    }
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
    keys::store_default_key(
        &mut tx,
        &state.keys,
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
    keys::release_in_state(&mut tx, admin.organization_id, us).await?;
    tx.commit().await.map_err(busy)?;
    state.outbox.wake();
    tracing::info!(state = us.code(), "default key saved");
    Ok((NO_STORE, Json(saved)))
}

/// `DELETE /api/admin/integration/{state}/default-key`.
pub async fn remove_default_key(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(raw_state): Path<String>,
) -> Result<impl IntoResponse, AppError> {
    let us = state_of(&raw_state)?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    keys::lock(&mut tx, admin.organization_id).await?;
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
async fn not_personal(
    conn: &mut AnyConnection,
    state: &AppState,
    admin: &User,
    key: &MetrcUserKey,
) -> Result<Result<(), Refusal>, AppError> {
    let stored = keys::holders(conn, &state.keys, admin.organization_id, key).await?;
    Ok(keys::for_organization(&stored).map_err(|class| someone_elses(Offered::DefaultKey, class)))
}

/// Audits a refused default key at the state's licenses (never the key: the last four of a key offered as
/// the default key, none of a person's own, and whose kind of key it was) and gives the answer.
async fn refused(
    state: &AppState,
    admin: &User,
    us: StateCode,
    key: &MetrcUserKey,
    refusal: Refusal,
) -> Result<AppError, AppError> {
    let licenses: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM licenses WHERE organization_id = $1 AND provider = 'metrc' AND state = $2",
    )
    .bind(admin.organization_id)
    .bind(us.code())
    .fetch_all(&state.db.pool)
    .await?;
    let shown = match refusal.class {
        Some(_) => String::new(),
        None => format!(": key ••••{}", key.last_four()),
    };
    audit::record_alone(
        &state.db,
        &Entry::admin(admin, None, "default_key_verify_failed", refusal.result)
            .detail(format!("{}{shown}{}", us.code(), refusal.detail()))
            .licenses(&licenses),
    )
    .await?;
    Ok(refusal.error)
}

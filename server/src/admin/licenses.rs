//! Organization Management > Licenses: list, add, change (name, type, time zone, tracked, active).
//! A license's number and state never change (the schema refuses it too).

use super::{AdminUser, NO_STORE, read_rows};
use crate::AppState;
use crate::accounts::lock_organization;
use crate::audit::{self, Entry};
use crate::db::decode;
use crate::error::{ApiJson, AppError};
use crate::licenses::{self as store, LicenseError, NewLicense};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use shared::admin::{
    LicenseAdminView, LicenseChangeRequest, LicensesAdminPage, NewLicenseRequest, messages,
};
use shared::{Provider, StateCode};
use sqlx::{AnyConnection, Row};

const COLUMNS: &str = "l.id, l.number, l.state, l.display_name, l.license_type, l.provider, \
     CASE WHEN l.tracked THEN 1 ELSE 0 END AS tracked, CASE WHEN l.active THEN 1 ELSE 0 END AS active, \
     l.time_zone, l.version, \
     (SELECT COUNT(*) FROM credential_licenses cl WHERE cl.license_id = l.id) AS credentials";

fn from_row(row: &sqlx::any::AnyRow) -> Result<LicenseAdminView, sqlx::Error> {
    Ok(LicenseAdminView {
        id: row.try_get("id")?,
        number: decode(row, "number", |s| shared::LicenseNumber::parse(s).ok())?,
        state: decode(row, "state", |s| StateCode::parse(s).ok())?,
        name: row.try_get("display_name")?,
        license_type: row.try_get("license_type")?,
        provider: decode(row, "provider", |s| Provider::parse(s).ok())?,
        tracked: row.try_get::<i64, _>("tracked")? != 0,
        active: row.try_get::<i64, _>("active")? != 0,
        time_zone: row.try_get("time_zone")?,
        version: row.try_get("version")?,
        credentials: row.try_get("credentials")?,
    })
}

/// One of the organization's rows (`None` for another organization's id).
pub async fn find(
    conn: &mut AnyConnection,
    organization_id: i64,
    id: i64,
) -> Result<Option<LicenseAdminView>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM licenses l WHERE l.id = $1 AND l.organization_id = $2");
    Ok(read_rows(conn, &sql, &[id, organization_id], from_row)
        .await?
        .pop())
}

/// `GET /api/admin/licenses`.
pub async fn list(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<impl IntoResponse, AppError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM licenses l WHERE l.organization_id = $1 ORDER BY l.state, l.number"
    );
    let mut conn = state.db.pool.acquire().await?;
    let licenses = read_rows(&mut conn, &sql, &[admin.organization_id], from_row).await?;
    Ok((NO_STORE, Json(LicensesAdminPage { licenses })))
}

/// `POST /api/admin/licenses`: adds an active, tracked METRC license.
pub async fn create(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<NewLicenseRequest>,
) -> Result<impl IntoResponse, AppError> {
    let draft = body.parse().map_err(AppError::Validation)?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    let id = store::create(
        &mut tx,
        NewLicense {
            organization_id: admin.organization_id,
            number: &draft.number,
            state: draft.state,
            display_name: &draft.name,
            license_type: &draft.license_type,
            provider: Provider::Metrc,
            time_zone: Some(draft.time_zone),
        },
    )
    .await
    .map_err(|e| match e {
        LicenseError::Duplicate(number) => {
            AppError::Conflict(messages::license_exists(number.as_str()))
        }
        LicenseError::Database(e) => busy(e),
    })?;
    audit::record(
        &mut tx,
        &Entry::admin(&admin, None, "license_added", "saved")
            .detail(format!(
                "{} {} in {}, {}",
                draft.number,
                draft.name,
                draft.state.code(),
                draft.time_zone
            ))
            .licenses(&[id]),
    )
    .await?;
    let view = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or_else(|| AppError::Internal("the license just added is missing".into()))?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(license_id = id, "license added");
    Ok((StatusCode::CREATED, NO_STORE, Json(view)))
}

/// `PUT /api/admin/licenses/{id}`: changes what may change, if the license is still at the version the
/// admin saw.
pub async fn update(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<LicenseChangeRequest>,
) -> Result<impl IntoResponse, AppError> {
    let change = body.parse().map_err(AppError::Validation)?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    lock_organization(&mut tx, admin.organization_id).await?;
    let before = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if before.version != change.version {
        return Err(stale(before.number.as_str()));
    }
    sqlx::query(
        "UPDATE licenses SET display_name = $1, license_type = $2, time_zone = $3, tracked = $4, \
         active = $5, version = version + 1 WHERE id = $6 AND organization_id = $7 AND version = $8",
    )
    .bind(&change.name)
    .bind(&change.license_type)
    .bind(change.time_zone)
    .bind(change.tracked)
    .bind(change.active)
    .bind(id)
    .bind(admin.organization_id)
    .bind(change.version)
    .execute(&mut *tx)
    .await
    .map_err(busy)?;
    let mut changes = Vec::new();
    if before.name != change.name {
        changes.push(format!("name {:?} → {:?}", before.name, change.name));
    }
    if before.license_type != change.license_type {
        changes.push(format!(
            "type {:?} → {:?}",
            before.license_type, change.license_type
        ));
    }
    if before.time_zone != change.time_zone {
        changes.push(format!(
            "time zone {} → {}",
            before.time_zone, change.time_zone
        ));
    }
    let mut action = "license_changed";
    if before.tracked != change.tracked {
        changes.push(
            if change.tracked {
                "tracked"
            } else {
                "no longer tracked"
            }
            .to_owned(),
        );
        action = if change.tracked {
            "license_tracked"
        } else {
            "license_untracked"
        };
    }
    if before.active != change.active {
        changes.push(
            if change.active {
                "reactivated"
            } else {
                "deactivated"
            }
            .to_owned(),
        );
        action = if change.active {
            "license_reactivated"
        } else {
            "license_deactivated"
        };
    }
    if changes.is_empty() {
        changes.push("no change".to_owned());
    }
    audit::record(
        &mut tx,
        &Entry::admin(&admin, None, action, "saved")
            .detail(format!("{}: {}", before.number, changes.join("; ")))
            .licenses(&[id]),
    )
    .await?;
    let view = find(&mut tx, admin.organization_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await.map_err(busy)?;
    tracing::info!(license_id = id, action, "license changed");
    Ok((NO_STORE, Json(view)))
}

fn stale(number: &str) -> AppError {
    AppError::Conflict(format!(
        "License {number} was changed by someone else while you edited it. Reload the page to see it as it is now. Nothing was saved."
    ))
}

/// A database error as the answer; a lost race is a conflict the admin can retry.
pub fn busy(error: sqlx::Error) -> AppError {
    AppError::from_race(
        error,
        "Another change to your organization happened at the same moment. Reload the page and try again. Nothing was saved.",
    )
}

//! Compliance Management: the organization's reports that have not reached METRC — pending, held, outcome
//! unknown — with who recorded them, the key they went (or were to go) under and METRC's message; counts by
//! reason; and an admin's three decisions, each audited: "Resend" (by the key table again), "Resend with
//! default key" (for a reporting deadline: METRC then names the default key's holder) and "Dismiss" (with
//! a reason).

use super::licenses::busy;
use super::{AdminUser, NO_STORE};
use crate::AppState;
use crate::audit::{self, Entry};
use crate::db::now_unix;
use crate::error::{ApiJson, AppError};
use crate::reports::{VIEW_COLUMNS, view};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use shared::report::{CompliancePage, ComplianceReport, DismissRequest, ReportStatus, WAITING};
use sqlx::{AnyConnection, Row};

/// The statuses of the reports Compliance Management lists: not sent, and not dismissed.
const NOT_SENT: [ReportStatus; 3] = [
    ReportStatus::Pending,
    ReportStatus::Held,
    ReportStatus::OutcomeUnknown,
];

/// How many reports the page lists at most (oldest first: the ones closest to a reporting deadline).
const LIMIT: i64 = 500;

/// `GET /api/admin/compliance`.
pub async fn page(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let sql = format!(
        "SELECT {VIEW_COLUMNS}, u.display_name FROM reports r JOIN licenses l ON l.id = r.license_id \
         JOIN users u ON u.id = r.user_id \
         WHERE r.organization_id = $1 AND r.status IN ($2, $3, $4) \
         ORDER BY r.id LIMIT {LIMIT}"
    );
    let [pending, held, unknown] = NOT_SENT.map(ReportStatus::code);
    let reports = sqlx::query(&sql)
        .bind(admin.organization_id)
        .bind(pending)
        .bind(held)
        .bind(unknown)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(ComplianceReport {
                report: view(row)?,
                user: row.try_get("display_name")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let counts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT CASE WHEN status = $3 THEN $2 ELSE COALESCE(reason, status) END AS why, COUNT(*) AS n \
         FROM reports WHERE organization_id = $1 AND status IN ($3, $4, $5) \
         GROUP BY why ORDER BY n DESC, why",
    )
    .bind(admin.organization_id)
    .bind(WAITING)
    .bind(pending)
    .bind(held)
    .bind(unknown)
    .fetch_all(&mut *conn)
    .await?;
    Ok((NO_STORE, Json(CompliancePage { reports, counts })))
}

/// The report, if it is the organization's and not sent or dismissed: `(license id, what it is)`.
async fn open_report(
    tx: &mut AnyConnection,
    organization_id: i64,
    id: i64,
) -> Result<(i64, i64, String), AppError> {
    let row: Option<(i64, i64, String, Option<String>)> = sqlx::query_as(
        "SELECT license_id, user_id, kind, external_number FROM reports \
         WHERE id = $1 AND organization_id = $2 AND status IN ($3, $4, $5)",
    )
    .bind(id)
    .bind(organization_id)
    .bind(ReportStatus::Pending.code())
    .bind(ReportStatus::Held.code())
    .bind(ReportStatus::OutcomeUnknown.code())
    .fetch_optional(&mut *tx)
    .await?;
    let (license_id, user_id, kind, external) = row.ok_or(AppError::NotFound)?;
    let what = match external {
        Some(number) => format!("{kind} {number}"),
        None => format!("{kind} #{id}"),
    };
    Ok((license_id, user_id, what))
}

/// Puts a report back in the queue; `default_key` makes the worker use the organization's default key.
async fn resend(
    state: &AppState,
    admin: &crate::accounts::User,
    id: i64,
    default_key: bool,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    let (license_id, user_id, what) = open_report(&mut tx, admin.organization_id, id).await?;
    sqlx::query(
        "UPDATE reports SET status = $4, held_for = NULL, next_attempt_at = $1, \
         force_default = $2 WHERE id = $3",
    )
    .bind(now_unix())
    .bind(default_key)
    .bind(id)
    .bind(ReportStatus::Pending.code())
    .execute(&mut *tx)
    .await?;
    let action = if default_key {
        "report_resent_with_default_key"
    } else {
        "report_resent"
    };
    audit::record(
        &mut tx,
        &Entry::admin(admin, Some(user_id), action, "saved")
            .detail(what)
            .licenses(&[license_id]),
    )
    .await?;
    tx.commit().await.map_err(busy)?;
    state.outbox.wake();
    Ok(())
}

/// `POST /api/admin/compliance/{id}/resend`: sent again, the key chosen by the table as always.
pub async fn resend_by_table(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    resend(&state, &admin, id, false).await?;
    Ok((axum::http::StatusCode::NO_CONTENT, NO_STORE))
}

/// `POST /api/admin/compliance/{id}/resend-default`: sent again with the default key, by decision.
pub async fn resend_with_default_key(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    resend(&state, &admin, id, true).await?;
    Ok((axum::http::StatusCode::NO_CONTENT, NO_STORE))
}

/// `POST /api/admin/compliance/{id}/dismiss`: it will not be sent; the reason is kept.
pub async fn dismiss(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<DismissRequest>,
) -> Result<impl IntoResponse, AppError> {
    let reason = body.parse().map_err(AppError::Validation)?;
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    let (license_id, user_id, what) = open_report(&mut tx, admin.organization_id, id).await?;
    sqlx::query("UPDATE reports SET status = $3, reason = $1 WHERE id = $2")
        .bind(format!("Dismissed: {reason}"))
        .bind(id)
        .bind(ReportStatus::Dismissed.code())
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Entry::admin(&admin, Some(user_id), "report_dismissed", "saved")
            .detail(format!("{what}: {reason}"))
            .licenses(&[license_id]),
    )
    .await?;
    tx.commit().await.map_err(busy)?;
    Ok((axum::http::StatusCode::NO_CONTENT, NO_STORE))
}

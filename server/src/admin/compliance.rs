//! Compliance Management: the organization's reports that have not reached METRC — pending, held, outcome
//! unknown — with who recorded them, the key they went (or were to go) under and METRC's message; counts by
//! reason; and an admin's three decisions, each audited: "Resend" (by the key table again), "Resend with
//! default key" (for a reporting deadline: METRC then names the default key's holder) and "Dismiss" (with
//! a reason).

use super::licenses::busy;
use super::{AdminUser, NO_STORE};
use crate::AppState;
use crate::audit::{self, Entry};
use crate::db::decode;
use crate::db::now_unix;
use crate::error::{ApiJson, AppError};
use crate::reports::{VIEW_COLUMNS, view};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use shared::report::{
    CompliancePage, ComplianceReport, DismissRequest, ReportKind, ReportStatus, ResendRequest,
    WAITING, resend,
};
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

/// A report that is the organization's and not sent or dismissed.
struct OpenReport {
    license_id: i64,
    user_id: i64,
    kind: ReportKind,
    status: ReportStatus,
    /// What it is, as the audit log says it: "sale TC-…" or "adjustment #…".
    what: String,
    /// A worker holds it now (it may be posting it).
    claimed: bool,
}

async fn open_report(
    tx: &mut AnyConnection,
    organization_id: i64,
    id: i64,
) -> Result<OpenReport, AppError> {
    let row = sqlx::query(
        "SELECT license_id, user_id, kind, status, external_number, \
         CASE WHEN lease_owner IS NOT NULL AND lease_until >= $6 THEN 1 ELSE 0 END AS claimed FROM reports \
         WHERE id = $1 AND organization_id = $2 AND status IN ($3, $4, $5)",
    )
    .bind(id)
    .bind(organization_id)
    .bind(ReportStatus::Pending.code())
    .bind(ReportStatus::Held.code())
    .bind(ReportStatus::OutcomeUnknown.code())
    .bind(now_unix())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let kind = decode(&row, "kind", ReportKind::from_code)?;
    let external: Option<String> = row.try_get("external_number")?;
    Ok(OpenReport {
        license_id: row.try_get("license_id")?,
        user_id: row.try_get("user_id")?,
        kind,
        status: decode(&row, "status", ReportStatus::from_code)?,
        what: match external {
            Some(number) => format!("{} {number}", kind.code()),
            None => format!("{} #{id}", kind.code()),
        },
        claimed: row.try_get::<i64, _>("claimed")? != 0,
    })
}

/// Puts a report back in the queue; `default_key` makes the worker use the organization's default key.
/// A report whose outcome is unknown may be in METRC: a receipt is looked up before it is posted again
/// (it regains its `posting` mark), and an adjustment — which METRC cannot look up — is resent only when
/// the admin says they checked METRC and it is not there.
async fn resend(
    state: &AppState,
    admin: &crate::accounts::User,
    id: i64,
    default_key: bool,
    request: ResendRequest,
) -> Result<(), AppError> {
    let mut tx = state.db.begin_write().await.map_err(busy)?;
    let report = open_report(&mut tx, admin.organization_id, id).await?;
    if report.claimed {
        // Its sender would write its outcome over the resend when it is done.
        return Err(AppError::Conflict(
            "This report is being sent to METRC right now. Wait a minute, reload, and resend it if it is still not sent. Nothing was changed."
                .into(),
        ));
    }
    let unknown = report.status == ReportStatus::OutcomeUnknown;
    if unknown && report.kind == ReportKind::Adjustment && !request.checked_not_in_metrc {
        return Err(AppError::Conflict(resend::CHECK_METRC_FIRST.to_owned()));
    }
    let look_up_first = unknown && report.kind == ReportKind::Sale;
    let now = now_unix();
    sqlx::query(
        "UPDATE reports SET status = $4, held_for = NULL, next_attempt_at = $1, force_default = $2, \
         posting = (posting OR $5), \
         posting_since = CASE WHEN $5 THEN $1 ELSE posting_since END WHERE id = $3",
    )
    .bind(now)
    .bind(default_key)
    .bind(id)
    .bind(ReportStatus::Pending.code())
    .bind(look_up_first)
    .execute(&mut *tx)
    .await?;
    let action = if default_key {
        "report_resent_with_default_key"
    } else {
        "report_resent"
    };
    let mut detail = report.what;
    if look_up_first {
        detail.push_str("; looked up in METRC before it is sent again");
    } else if unknown {
        detail.push_str("; the admin checked METRC: not there");
    }
    audit::record(
        &mut tx,
        &Entry::admin(admin, Some(report.user_id), action, "saved")
            .detail(detail)
            .licenses(&[report.license_id]),
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
    body: Option<ApiJson<ResendRequest>>,
) -> Result<impl IntoResponse, AppError> {
    let request = body.map(|ApiJson(r)| r).unwrap_or_default();
    resend(&state, &admin, id, false, request).await?;
    Ok((axum::http::StatusCode::NO_CONTENT, NO_STORE))
}

/// `POST /api/admin/compliance/{id}/resend-default`: sent again with the default key, by decision.
pub async fn resend_with_default_key(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<i64>,
    body: Option<ApiJson<ResendRequest>>,
) -> Result<impl IntoResponse, AppError> {
    let request = body.map(|ApiJson(r)| r).unwrap_or_default();
    resend(&state, &admin, id, true, request).await?;
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
    let report = open_report(&mut tx, admin.organization_id, id).await?;
    if report.claimed {
        // It may be on its way to METRC this moment: dismissing it now could not stop that.
        return Err(AppError::Conflict(
            "This report is being sent to METRC right now. Wait a minute, reload, and dismiss it if it is still not sent. Nothing was changed."
                .into(),
        ));
    }
    sqlx::query("UPDATE reports SET status = $3, reason = $1 WHERE id = $2")
        .bind(format!("Dismissed: {reason}"))
        .bind(id)
        .bind(ReportStatus::Dismissed.code())
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Entry::admin(&admin, Some(report.user_id), "report_dismissed", "saved")
            .detail(format!("{}: {reason}", report.what))
            .licenses(&[report.license_id]),
    )
    .await?;
    tx.commit().await.map_err(busy)?;
    Ok((axum::http::StatusCode::NO_CONTENT, NO_STORE))
}

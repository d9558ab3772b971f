//! Recording sales and adjustments, and the user's own reports.
//!
//! Recording writes the report into the outbox in one transaction (nothing recorded goes unreported);
//! the worker in [`outbox`] sends it. The acting user is always the session's user. A receipt gets an
//! `ExternalReceiptNumber` unique per license (a constraint), and its time is the facility's wall clock.

pub mod outbox;

use crate::AppState;
use crate::accounts::User;
use crate::db::decode;
use crate::db::now_unix;
use crate::error::{ApiJson, AppError};
use crate::sessions::CurrentUser;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use shared::LicenseNumber;
use shared::report::{
    AdjustmentRequest, KeyUsed, ReportKind, ReportStatus, ReportView, SaleRequest,
};
use sqlx::{AnyConnection, Row};

const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// The license a report is recorded at, as recording needs it.
struct AtLicense {
    id: i64,
    number: LicenseNumber,
    time_zone: String,
}

/// The organization's license, if sales and adjustments may be recorded at it (active and tracked).
async fn license_for_recording(
    conn: &mut AnyConnection,
    user: &User,
    license_id: i64,
) -> Result<AtLicense, AppError> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT number, time_zone, CASE WHEN active AND tracked THEN 1 ELSE 0 END \
         FROM licenses WHERE id = $1 AND organization_id = $2",
    )
    .bind(license_id)
    .bind(user.organization_id)
    .fetch_optional(conn)
    .await?;
    match row {
        None => Err(AppError::Validation(vec![shared::api::FieldError::new(
            "license_id",
            "Choose one of your organization's licenses.",
        )])),
        Some((number, _, 0)) => Err(AppError::Conflict(format!(
            "License {number} is inactive or not tracked: sales and adjustments there are refused. Ask your administrator."
        ))),
        Some((number, time_zone, _)) => Ok(AtLicense {
            id: license_id,
            number: LicenseNumber::parse(&number).map_err(|e| {
                AppError::Internal(format!("license {license_id}'s stored number: {e}"))
            })?,
            time_zone,
        }),
    }
}

/// A moment as the wall clock in a zone: `YYYY-MM-DDTHH:MM:SS.fff` without an offset (what METRC wants).
pub fn wall_clock(at: jiff::Timestamp, time_zone: &str) -> Result<String, AppError> {
    let here = at
        .in_tz(time_zone)
        .map_err(|e| AppError::Internal(format!("time zone {time_zone:?}: {e}")))?;
    Ok(here.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string())
}

/// Writes a report into the outbox, with the license-local day it belongs to; returns its id. The caller's
/// transaction commits it.
async fn insert_report(
    tx: &mut AnyConnection,
    user: &User,
    license: &AtLicense,
    kind: ReportKind,
    now: i64,
) -> Result<i64, AppError> {
    let day = crate::tally::day_of(now, &license.time_zone).map_err(AppError::Internal)?;
    Ok(sqlx::query_scalar(
        "INSERT INTO reports (organization_id, license_id, user_id, kind, payload, status, next_attempt_at, recorded_at, recorded_on) \
         VALUES ($1, $2, $3, $4, '', $6, $5, $5, $7) RETURNING id",
    )
    .bind(user.organization_id)
    .bind(license.id)
    .bind(user.id)
    .bind(kind.code())
    .bind(now)
    .bind(ReportStatus::Pending.code())
    .bind(day)
    .fetch_one(tx)
    .await?)
}

/// Stores the METRC object (and a receipt's number) on the report, commits, and wakes the worker.
async fn finish(
    state: &AppState,
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    id: i64,
    external_number: Option<&str>,
    object: &impl serde::Serialize,
) -> Result<(), AppError> {
    let payload = serde_json::to_string(object)
        .map_err(|e| AppError::Internal(format!("report {id} as JSON: {e}")))?;
    sqlx::query("UPDATE reports SET external_number = $1, payload = $2 WHERE id = $3")
        .bind(external_number)
        .bind(payload)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    state.outbox.wake();
    tracing::info!(report_id = id, "recorded");
    Ok(())
}

fn recorded(
    id: i64,
    kind: ReportKind,
    license_number: LicenseNumber,
    external_number: Option<String>,
    now: i64,
) -> ReportView {
    ReportView {
        id,
        kind,
        license_number,
        external_number,
        status: ReportStatus::Pending,
        key_used: None,
        reason: None,
        recorded_at: now,
        sent_at: None,
    }
}

/// `POST /api/sales`: records a sale by the signed-in user.
pub async fn record_sale(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<SaleRequest>,
) -> Result<impl IntoResponse, AppError> {
    let sale = body.parse().map_err(AppError::Validation)?;
    let mut tx = state.db.begin_write().await?;
    let license = license_for_recording(&mut tx, &user, sale.license_id).await?;
    // One moment for the receipt's time, the report's time and its day: a sale at midnight is on one day.
    let at = jiff::Timestamp::now();
    let sales_date_time = wall_clock(at, &license.time_zone)?;
    let now = at.as_second();
    let id = insert_report(&mut tx, &user, &license, ReportKind::Sale, now).await?;
    let external_number = format!("TC-{id:010}");
    let receipt = metrc::reports::Receipt {
        sales_date_time,
        external_receipt_number: external_number.clone(),
        sales_customer_type: sale.customer_type.to_owned(),
        transactions: sale
            .transactions
            .iter()
            .map(|t| metrc::reports::Transaction {
                package_label: t.package_label.clone(),
                quantity: t.quantity,
                unit_of_measure: t.unit.to_owned(),
                total_amount: t.total_amount,
            })
            .collect(),
        patient_license_number: sale.patient_license_number.clone(),
    };
    finish(&state, tx, id, Some(&external_number), &receipt).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(recorded(
            id,
            ReportKind::Sale,
            license.number,
            Some(external_number),
            now,
        )),
    ))
}

/// `POST /api/adjustments`: records a package adjustment by the signed-in user.
pub async fn record_adjustment(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<AdjustmentRequest>,
) -> Result<impl IntoResponse, AppError> {
    let adjustment = body.parse().map_err(AppError::Validation)?;
    let object = metrc::reports::Adjustment {
        label: adjustment.package_label.clone(),
        quantity: adjustment.quantity,
        unit_of_measure: adjustment.unit.to_owned(),
        adjustment_reason: adjustment.reason.clone(),
        adjustment_date: adjustment.date.clone(),
        reason_note: adjustment.note.clone(),
    };
    let mut tx = state.db.begin_write().await?;
    let license = license_for_recording(&mut tx, &user, adjustment.license_id).await?;
    let now = now_unix();
    let id = insert_report(&mut tx, &user, &license, ReportKind::Adjustment, now).await?;
    finish(&state, tx, id, None, &object).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(recorded(
            id,
            ReportKind::Adjustment,
            license.number,
            None,
            now,
        )),
    ))
}

/// The columns [`view`] reads, for queries over `reports r JOIN licenses l`.
pub const VIEW_COLUMNS: &str = "r.id, r.kind, l.number, r.external_number, r.status, r.key_used, \
     r.reason, r.recorded_at, r.sent_at";

/// A report row as its view.
pub fn view(row: &sqlx::any::AnyRow) -> Result<ReportView, sqlx::Error> {
    Ok(ReportView {
        id: row.try_get("id")?,
        kind: decode(row, "kind", ReportKind::from_code)?,
        license_number: decode(row, "number", |s| LicenseNumber::parse(s).ok())?,
        external_number: row.try_get("external_number")?,
        status: decode(row, "status", ReportStatus::from_code)?,
        key_used: match row.try_get::<Option<String>, _>("key_used")? {
            Some(_) => Some(decode(row, "key_used", KeyUsed::from_code)?),
            None => None,
        },
        reason: row.try_get("reason")?,
        recorded_at: row.try_get("recorded_at")?,
        sent_at: row.try_get("sent_at")?,
    })
}

/// `GET /api/reports`: the signed-in user's reports, newest first (the last 100). Register reloads it every
/// 2 s while a report is on its way: a `PollingUser`, so an unattended Register page (METRC down, reports
/// pending) still signs itself out after `SESSION_IDLE_MINUTES`.
pub async fn mine(
    State(state): State<AppState>,
    crate::sessions::PollingUser(user): crate::sessions::PollingUser,
) -> Result<impl IntoResponse, AppError> {
    let sql = format!(
        "SELECT {VIEW_COLUMNS} FROM reports r JOIN licenses l ON l.id = r.license_id \
         WHERE r.user_id = $1 ORDER BY r.id DESC LIMIT 100"
    );
    let reports = sqlx::query(&sql)
        .bind(user.id)
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(view)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((NO_STORE, Json(reports)))
}

#[cfg(test)]
mod tests {
    use super::wall_clock;

    #[test]
    fn sales_times_are_the_facilitys_wall_clock_with_daylight_saving() {
        let winter: jiff::Timestamp = "2026-01-15T12:00:00.250Z".parse().expect("time");
        let summer: jiff::Timestamp = "2026-07-15T12:00:00Z".parse().expect("time");
        let at = |t, zone| wall_clock(t, zone).expect("known zone");
        assert_eq!(at(winter, "America/Denver"), "2026-01-15T05:00:00.250");
        assert_eq!(at(summer, "America/Denver"), "2026-07-15T06:00:00.000");
        assert_eq!(at(summer, "America/New_York"), "2026-07-15T08:00:00.000");
        assert_eq!(at(summer, "Pacific/Guam"), "2026-07-15T22:00:00.000");
        // Every zone a license may have is in the bundled database.
        for zone in shared::admin::TIME_ZONES {
            assert!(wall_clock(summer, zone).is_ok(), "{zone}");
        }
    }
}

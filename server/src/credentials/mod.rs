//! The current user's traceability credentials: the page, one credential, Verify & Save (new and edit,
//! in `save`), delete. The keys themselves — sealing, holders, statuses — are `keys`' business.

mod page;
mod save;

pub use page::load_page;

use crate::AppState;
use crate::audit::{self, Entry};
use crate::error::{ApiJson, AppError};
use crate::sessions::CurrentUser;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use shared::credential::{Alert, Alerts, CredentialRequest, CredentialStatus, Problem};
use shared::report::{HeldFor, ReportKind, ReportStatus};
use std::collections::BTreeMap;

const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// `GET /api/credentials`.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let mut page = load_page(&mut conn, &user).await?;
    // "{N} reports waiting for this key": held for want of a usable key at the credential's licenses.
    let held = held_for_key(&mut conn, user.id).await?;
    for credential in &mut page.credentials {
        credential.waiting = held
            .iter()
            .filter(|(license, _, _)| credential.license_ids.contains(license))
            .map(|(_, _, n)| n)
            .sum();
    }
    Ok((NO_STORE, Json(page)))
}

/// The user's reports held for want of a usable key: (license, kind, count).
async fn held_for_key(
    conn: &mut sqlx::AnyConnection,
    user_id: i64,
) -> Result<Vec<(i64, ReportKind, i64)>, AppError> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT license_id, kind, COUNT(*) FROM reports WHERE user_id = $1 AND status = $2 AND held_for = $3 \
         GROUP BY license_id, kind",
    )
    .bind(user_id)
    .bind(ReportStatus::Held.code())
    .bind(HeldFor::Key.code())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(license, kind, n)| {
            let kind = ReportKind::from_code(&kind)
                .ok_or_else(|| AppError::Internal(format!("report kind {kind:?}")))?;
            Ok((license, kind, n))
        })
        .collect()
}

/// How long after a sign-in the client is told the keys are still being checked, at most.
const CHECKING_FOR_SECS: i64 = 30;

/// `GET /api/me/alerts`: what the banner on every page says — each credential METRC refuses or that lost a
/// license, with the reports waiting for it, and the reports waiting at licenses none of the user's
/// credentials covers; and whether this sign-in's check of the keys is still under way.
pub async fn alerts(
    State(state): State<AppState>,
    crate::sessions::PollingUser(user): crate::sessions::PollingUser,
    jar: CookieJar,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    // Whether the check is under way is read before the statuses: a check finishing in between then shows
    // as "still checking" (asked again in a moment), never as "done" with the statuses from before it.
    let checking = match crate::sessions::token_from(&jar, &state.config) {
        Some(token) => match crate::sessions::started_at(&state.db, &token).await? {
            Some(started) if crate::db::now_unix() - started < CHECKING_FOR_SECS => {
                crate::keys::health::due_at_sign_in(&mut conn, &state.config, user.id, started)
                    .await?
            }
            _ => false,
        },
        None => false,
    };
    let page = load_page(&mut conn, &user).await?;
    let held = held_for_key(&mut conn, user.id).await?;
    let waiting_at = |licenses: &dyn Fn(i64) -> bool| {
        held.iter()
            .filter(|(license, _, _)| licenses(*license))
            .fold((0, 0), |(sales, adjustments), (_, kind, n)| match kind {
                ReportKind::Sale => (sales + n, adjustments),
                ReportKind::Adjustment => (sales, adjustments + n),
            })
    };
    let mut alerts = Vec::new();
    for credential in &page.credentials {
        let problem = match credential.status {
            CredentialStatus::Invalid => Problem::Invalid,
            CredentialStatus::LicenseLost => Problem::LicenseLost,
            CredentialStatus::Verified | CredentialStatus::Unverified => continue,
        };
        let (sales, adjustments) = waiting_at(&|l| credential.license_ids.contains(&l));
        alerts.push(Alert {
            state: credential.state,
            problem,
            credential_id: Some(credential.id),
            version: credential.version,
            sales,
            adjustments,
        });
    }
    // Reports waiting where no credential of the user's reaches, by state.
    let covered = |license: i64| {
        page.credentials
            .iter()
            .any(|c| c.license_ids.contains(&license))
    };
    let mut uncovered: BTreeMap<&str, (shared::StateCode, i64, i64)> = BTreeMap::new();
    for (license, kind, n) in &held {
        if covered(*license) {
            continue;
        }
        let Some(option) = page.license(*license) else {
            continue;
        };
        let entry = uncovered
            .entry(option.state.code())
            .or_insert((option.state, 0, 0));
        match kind {
            ReportKind::Sale => entry.1 += n,
            ReportKind::Adjustment => entry.2 += n,
        }
    }
    for (_, (us, sales, adjustments)) in uncovered {
        alerts.push(Alert {
            state: us,
            problem: Problem::NoCredential,
            credential_id: None,
            version: 0,
            sales,
            adjustments,
        });
    }
    Ok((NO_STORE, Json(Alerts { alerts, checking })))
}

/// `GET /api/credentials/{id}`: one of the user's credentials.
pub async fn one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let page = load_page(&mut conn, &user).await?;
    let credential = page.credential(id).ok_or(AppError::NotFound)?;
    Ok((NO_STORE, Json(credential.clone())))
}

/// `POST /api/credentials`: Verify & Save of a new credential.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CredentialRequest>,
) -> Result<impl IntoResponse, AppError> {
    let saved = save::verify_and_save(&state, &user, None, &body).await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(saved)))
}

/// `PUT /api/credentials/{id}`: Verify & Save of an edited credential.
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CredentialRequest>,
) -> Result<impl IntoResponse, AppError> {
    let saved = save::verify_and_save(&state, &user, Some(id), &body).await?;
    Ok((NO_STORE, Json(saved)))
}

/// `DELETE /api/credentials/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    let mut tx = state.db.begin_write().await.map_err(race_or_database)?;
    crate::keys::lock(&mut tx, user.organization_id).await?;
    let page = load_page(&mut tx, &user).await?;
    let credential = page.credential(id).ok_or(AppError::NotFound)?;
    let numbers: Vec<String> = page::license_numbers(&page, &credential.license_ids)
        .into_iter()
        .map(String::from)
        .collect();
    sqlx::query("DELETE FROM credentials WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Entry::by(&user, Some(id), "credential_deleted", "deleted")
            .detail(format!("licenses {}", numbers.join(", ")))
            .licenses(&credential.license_ids),
    )
    .await?;
    // What waited for this credential to work is decided again: the default key, or "No credential".
    crate::keys::release_for_user(
        &mut tx,
        user.organization_id,
        user.id,
        crate::keys::Licenses::Only(&credential.license_ids),
    )
    .await?;
    tx.commit().await.map_err(race_or_database)?;
    state.outbox.wake();
    tracing::info!(user_id = user.id, credential_id = id, "credential deleted");
    Ok((StatusCode::NO_CONTENT, NO_STORE))
}

/// A database error as the answer; a lost race is a conflict the user can retry.
fn race_or_database(error: sqlx::Error) -> AppError {
    AppError::from_race(
        error,
        "Another save of your credentials happened at the same moment. Reload the page and try again. Nothing was saved.",
    )
}

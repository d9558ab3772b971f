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
use shared::credential::CredentialRequest;
use shared::report::{HeldFor, ReportStatus};

const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// `GET /api/credentials`.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let mut page = load_page(&mut conn, &user).await?;
    // "{N} reports waiting for this key": held for want of a usable key at the credential's licenses.
    let held: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT license_id, COUNT(*) FROM reports WHERE user_id = $1 AND status = $2 AND held_for = $3 \
         GROUP BY license_id",
    )
    .bind(user.id)
    .bind(ReportStatus::Held.code())
    .bind(HeldFor::Key.code())
    .fetch_all(&mut *conn)
    .await?;
    for credential in &mut page.credentials {
        credential.waiting = held
            .iter()
            .filter(|(license, _)| credential.license_ids.contains(license))
            .map(|(_, n)| n)
            .sum();
    }
    Ok((NO_STORE, Json(page)))
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

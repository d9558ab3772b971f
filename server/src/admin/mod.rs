//! The admin side: Organization Management (licenses, users, coverage, audit log) and Config Page >
//! Integration (the default METRC key per state).
//!
//! Every handler takes an [`AdminUser`]: a staff member gets 403 before anything is read. Every query is
//! scoped to the admin's organization, so another organization's rows answer 404, by id guessing too.

pub mod accountability;
pub mod audit_log;
pub mod compliance;
pub mod coverage;
pub mod export;
pub mod integration;
pub mod licenses;
pub mod users;

use crate::AppState;
use crate::accounts::User;
use crate::error::AppError;
use crate::sessions::CurrentUser;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use axum::routing::{get, post, put};
use shared::admin::messages;
use shared::api::paths;

/// Answers about the organization are never cached (they name people and keys' last four characters).
pub const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// A signed-in administrator. Anyone else: 401 without a session, 403 with one.
#[derive(Debug, Clone)]
pub struct AdminUser(pub User);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentUser(user) = CurrentUser::from_request_parts(parts, state).await?;
        if user.role == shared::Role::Admin {
            Ok(AdminUser(user))
        } else {
            Err(AppError::Forbidden(messages::ADMINS_ONLY))
        }
    }
}

/// The admin API's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            paths::ADMIN_LICENSES,
            get(licenses::list).post(licenses::create),
        )
        .route("/api/admin/licenses/{id}", put(licenses::update))
        .route(paths::ADMIN_USERS, get(users::list).post(users::create))
        .route("/api/admin/users/{id}", put(users::update))
        .route("/api/admin/users/{id}/setup-link", post(users::setup_link))
        .route("/api/admin/users/{id}/reset-link", post(users::reset_link))
        .route(paths::ADMIN_COVERAGE, get(coverage::page))
        .route(paths::ADMIN_AUDIT, get(audit_log::page))
        .route(paths::ADMIN_INTEGRATION, get(integration::page))
        .route(
            "/api/admin/integration/{state}/default-key",
            put(integration::set_default_key).delete(integration::remove_default_key),
        )
        .route(paths::ADMIN_COMPLIANCE, get(compliance::page))
        .route(paths::ADMIN_ACCOUNTABILITY, get(accountability::page))
        .route(paths::ADMIN_COMPLIANCE_CSV, get(export::compliance))
        .route(paths::ADMIN_AUDIT_CSV, get(export::audit_log))
        .route(paths::ADMIN_COVERAGE_CSV, get(export::coverage))
        .route(
            "/api/admin/compliance/{id}/resend",
            post(compliance::resend_by_table),
        )
        .route(
            "/api/admin/compliance/{id}/resend-default",
            post(compliance::resend_with_default_key),
        )
        .route(
            "/api/admin/compliance/{id}/dismiss",
            post(compliance::dismiss),
        )
        .route(paths::PASSWORD_SETUP, post(users::set_password))
}

/// Runs a query with integer parameters and reads every row with `read`.
pub async fn read_rows<T>(
    conn: &mut sqlx::AnyConnection,
    sql: &str,
    params: &[i64],
    read: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, sqlx::Error> {
    let mut query = sqlx::query(sql);
    for p in params {
        query = query.bind(*p);
    }
    query.fetch_all(conn).await?.iter().map(read).collect()
}

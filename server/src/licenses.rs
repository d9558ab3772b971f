//! State licenses held by an organization (the model; the admin pages that manage them come later).

use crate::db::{is_unique_violation, now_unix};
use shared::{LicenseNumber, Provider, StateCode};

/// What it takes to add a license. The time zone defaults from the state when not given.
#[derive(Debug)]
pub struct NewLicense<'a> {
    pub organization_id: i64,
    pub number: &'a LicenseNumber,
    pub state: StateCode,
    pub display_name: &'a str,
    pub license_type: &'a str,
    pub provider: Provider,
    pub time_zone: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum LicenseError {
    #[error("The organization already has license {0}.")]
    Duplicate(LicenseNumber),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Adds an active, tracked license and returns its id.
pub async fn create(
    conn: &mut sqlx::AnyConnection,
    license: NewLicense<'_>,
) -> Result<i64, LicenseError> {
    sqlx::query_scalar(
        "INSERT INTO licenses (organization_id, number, state, display_name, license_type, provider, \
         tracked, active, time_zone, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, TRUE, TRUE, $7, $8) RETURNING id",
    )
    .bind(license.organization_id)
    .bind(license.number.as_str())
    .bind(license.state.code())
    .bind(license.display_name)
    .bind(license.license_type)
    .bind(license.provider.code())
    .bind(
        license
            .time_zone
            .unwrap_or_else(|| license.state.default_time_zone()),
    )
    .bind(now_unix())
    .fetch_one(conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            LicenseError::Duplicate(license.number.clone())
        } else {
            LicenseError::Database(e)
        }
    })
}

//! The credentials page as stored: the organization's licenses and the user's credentials.

use crate::accounts::User;
use crate::db::decode;
use crate::error::AppError;
use shared::credential::{CredentialStatus, CredentialView, CredentialsPage, LicenseOption};
use shared::{LicenseNumber, Provider, StateCode};
use sqlx::{AnyConnection, Row};

/// The organization's licenses and the user's credentials, read through one connection (a pool's or
/// a transaction's).
pub async fn load_page(conn: &mut AnyConnection, user: &User) -> Result<CredentialsPage, AppError> {
    let licenses = sqlx::query(
        "SELECT id, number, display_name, state, provider, \
         CASE WHEN active AND tracked THEN 1 ELSE 0 END AS offered \
         FROM licenses WHERE organization_id = $1 ORDER BY state, number",
    )
    .bind(user.organization_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|row| {
        Ok(LicenseOption {
            id: row.try_get("id")?,
            number: decode(row, "number", |s| LicenseNumber::parse(s).ok())?,
            name: row.try_get("display_name")?,
            state: decode(row, "state", |s| StateCode::parse(s).ok())?,
            provider: decode(row, "provider", |s| Provider::parse(s).ok())?,
            offered: row.try_get::<i64, _>("offered")? != 0,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;

    // One row per credential and license (a credential always has one; the outer join keeps the rare
    // credential whose licenses were all removed by hand visible rather than lost).
    let mut credentials: Vec<CredentialView> = Vec::new();
    for row in sqlx::query(
        "SELECT c.id, c.provider, c.state, c.key_last_four, c.status, c.verified_at, c.version, \
         cl.license_id FROM credentials c \
         LEFT JOIN credential_licenses cl ON cl.credential_id = c.id \
         LEFT JOIN licenses l ON l.id = cl.license_id \
         WHERE c.user_id = $1 ORDER BY c.id, l.number",
    )
    .bind(user.id)
    .fetch_all(&mut *conn)
    .await?
    {
        let id: i64 = row.try_get("id")?;
        let license: Option<i64> = row.try_get("license_id")?;
        if credentials.last().is_none_or(|c| c.id != id) {
            credentials.push(CredentialView {
                id,
                provider: decode(&row, "provider", |s| Provider::parse(s).ok())?,
                state: decode(&row, "state", |s| StateCode::parse(s).ok())?,
                license_ids: Vec::new(),
                key_last_four: row.try_get("key_last_four")?,
                status: decode(&row, "status", CredentialStatus::from_code)?,
                verified_at: row.try_get("verified_at")?,
                version: row.try_get("version")?,
                waiting: 0,
            });
        }
        if let (Some(license), Some(credential)) = (license, credentials.last_mut()) {
            credential.license_ids.push(license);
        }
    }
    Ok(CredentialsPage {
        credentials,
        licenses,
    })
}

/// The numbers of these licenses of the page. The ids are ones the page itself gave (a credential's, or a
/// request's already checked against this page), so every one is found.
pub fn license_numbers(page: &CredentialsPage, ids: &[i64]) -> Vec<LicenseNumber> {
    ids.iter()
        .filter_map(|id| page.license(*id))
        .map(|l| l.number.clone())
        .collect()
}

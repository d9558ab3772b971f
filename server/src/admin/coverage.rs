//! Organization Management > Coverage: for every active user and every active, tracked license, whose key
//! a sale or adjustment would be reported under: their own credential (with its status), the
//! organization's default key for the state, or none. Status and masked facts only, never a key.
//!
//! The counts per license cover every active user; the rows are one page of 50. The work is a handful of
//! aggregate queries plus the page's own credential rows, so a page costs the same at 1,000 users.

use super::{AdminUser, NO_STORE};
use crate::AppState;
use crate::db::decode;
use crate::error::AppError;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use shared::StateCode;
use shared::admin::{COVERAGE_PAGE_SIZE, Cover, CoverageLicense, CoveragePage, CoverageRow};
use shared::credential::CredentialStatus;
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Deserialize)]
pub struct CoverageQuery {
    /// 1-based; 1 when absent.
    page: Option<i64>,
    /// Only users who fall back to a default key for some license.
    #[serde(default)]
    fallback: bool,
    /// Only this user (the ranking of who falls back links here).
    user: Option<i64>,
}

impl CoverageQuery {
    /// The filters, as the audit log records a download made with them.
    pub fn described(&self) -> String {
        let mut parts = Vec::new();
        if self.fallback {
            parts.push("only users who fall back to a default key".to_owned());
        }
        if let Some(user) = self.user {
            parts.push(format!("user #{user}"));
        }
        parts.join(", ")
    }
}

/// `GET /api/admin/coverage?page=&fallback=&user=`.
pub async fn page(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<CoverageQuery>,
) -> Result<impl IntoResponse, AppError> {
    let page = query.page.unwrap_or(1);
    if page < 1 {
        return Err(AppError::BadRequest("Pages are numbered from 1.".into()));
    }
    let grid = load(&state, admin.organization_id, &query, Some(page)).await?;
    Ok((NO_STORE, Json(grid)))
}

/// The coverage grid: one page of users, or every one (`page: None`, the CSV download).
pub async fn load(
    state: &AppState,
    organization: i64,
    query: &CoverageQuery,
    page: Option<i64>,
) -> Result<CoveragePage, AppError> {
    let mut conn = state.db.pool.acquire().await?;

    // The columns: active, tracked licenses, and which of them a working default key reaches.
    let mut licenses: Vec<CoverageLicense> = Vec::new();
    let mut by_default: Vec<bool> = Vec::new();
    for row in sqlx::query(
        "SELECT l.id, l.number, l.display_name, l.state, \
         CASE WHEN EXISTS (SELECT 1 FROM default_keys dk JOIN default_key_reaches r ON r.default_key_id = dk.id \
           WHERE dk.organization_id = l.organization_id AND dk.provider = l.provider AND dk.state = l.state \
           AND dk.status = $2 AND r.license_number = l.number) THEN 1 ELSE 0 END AS by_default \
         FROM licenses l WHERE l.organization_id = $1 AND l.active AND l.tracked ORDER BY l.state, l.number",
    )
    .bind(organization)
    .bind(CredentialStatus::Verified.code())
    .fetch_all(&mut *conn)
    .await?
    {
        licenses.push(CoverageLicense {
            id: row.try_get("id")?,
            number: decode(&row, "number", |s| shared::LicenseNumber::parse(s).ok())?,
            name: row.try_get("display_name")?,
            state: decode(&row, "state", |s| StateCode::parse(s).ok())?,
            own: 0,
            default: 0,
            not_covered: 0,
        });
        by_default.push(row.try_get::<i64, _>("by_default")? != 0);
    }

    // The counts, over every active user.
    let active_users: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE organization_id = $1 AND active")
            .bind(organization)
            .fetch_one(&mut *conn)
            .await?;
    let own_counts: HashMap<i64, i64> = sqlx::query_as(
        "SELECT cl.license_id, COUNT(*) FROM credential_licenses cl JOIN users u ON u.id = cl.user_id \
         WHERE u.organization_id = $1 AND u.active GROUP BY cl.license_id",
    )
    .bind(organization)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    for (license, default) in licenses.iter_mut().zip(&by_default) {
        license.own = own_counts.get(&license.id).copied().unwrap_or(0);
        let rest = active_users - license.own;
        (license.default, license.not_covered) = if *default { (rest, 0) } else { (0, rest) };
    }

    // The users of this page. "Falls back to default": a license the default key covers that the user
    // has no credential for.
    let default_ids: Vec<i64> = licenses
        .iter()
        .zip(&by_default)
        .filter(|(_, d)| **d)
        .map(|(l, _)| l.id)
        .collect();
    let fallback_only = query.fallback;
    let (filter, binds_default) = if fallback_only {
        if default_ids.is_empty() {
            ("AND 1 = 0".to_owned(), false)
        } else {
            let list: Vec<String> = (0..default_ids.len())
                .map(|i| format!("${}", i + 2))
                .collect();
            (
                format!(
                    "AND (SELECT COUNT(*) FROM credential_licenses cl WHERE cl.user_id = u.id AND cl.license_id IN ({})) < {}",
                    list.join(", "),
                    default_ids.len()
                ),
                true,
            )
        }
    } else {
        (String::new(), false)
    };
    // An id is a number (parsed by serde), so it is written into the statement as one.
    let filter = match query.user {
        Some(user) => format!("{filter} AND u.id = {user}"),
        None => filter,
    };
    let count_sql =
        format!("SELECT COUNT(*) FROM users u WHERE u.organization_id = $1 AND u.active {filter}");
    let mut count = sqlx::query_scalar(&count_sql).bind(organization);
    if binds_default {
        for id in &default_ids {
            count = count.bind(*id);
        }
    }
    let users: i64 = count.fetch_one(&mut *conn).await?;
    let size = i64::try_from(COVERAGE_PAGE_SIZE).unwrap_or(50);
    let paging = match page {
        Some(page) => format!("LIMIT {size} OFFSET {}", (page - 1).saturating_mul(size)),
        None => String::new(),
    };
    let rows_sql = format!(
        "SELECT u.id, u.display_name, u.email FROM users u WHERE u.organization_id = $1 AND u.active {filter} \
         ORDER BY u.display_name, u.id {paging}"
    );
    let mut rows_query = sqlx::query_as(&rows_sql).bind(organization);
    if binds_default {
        for id in &default_ids {
            rows_query = rows_query.bind(*id);
        }
    }
    let people: Vec<(i64, String, String)> = rows_query.fetch_all(&mut *conn).await?;

    // The page's own credentials: (user, license) → status.
    let mut own: HashMap<(i64, i64), CredentialStatus> = HashMap::new();
    if !people.is_empty() {
        let list: Vec<String> = (0..people.len()).map(|i| format!("${}", i + 1)).collect();
        let sql = format!(
            "SELECT cl.user_id, cl.license_id, c.status FROM credential_licenses cl \
             JOIN credentials c ON c.id = cl.credential_id WHERE cl.user_id IN ({})",
            list.join(", ")
        );
        let mut q = sqlx::query(&sql);
        for (id, _, _) in &people {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            own.insert(
                (row.try_get("user_id")?, row.try_get("license_id")?),
                decode(&row, "status", CredentialStatus::from_code)?,
            );
        }
    }
    let rows = people
        .into_iter()
        .map(|(user_id, display_name, email)| CoverageRow {
            user_id,
            display_name,
            email,
            cells: licenses
                .iter()
                .zip(&by_default)
                .map(|(l, default)| match own.get(&(user_id, l.id)) {
                    Some(status) => Cover::Own(*status),
                    None if *default => Cover::Default,
                    None => Cover::NotCovered,
                })
                .collect(),
        })
        .collect();
    Ok(CoveragePage {
        licenses,
        rows,
        page: page.unwrap_or(1),
        pages: page.map_or(1, |_| ((users + size - 1) / size).max(1)),
        users,
        fallback_only,
    })
}

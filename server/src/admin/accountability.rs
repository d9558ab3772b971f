//! Compliance Management > accountability: the organization's rate for the last 7 days against the 7
//! before, the counts per day over 7, 30 or 90 days, and who falls back to the default key most — at every
//! license or one. Read from the folded counts (`crate::tally`), never from the reports one by one.

use super::{AdminUser, NO_STORE};
use crate::AppState;
use crate::error::AppError;
use crate::tally;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use jiff::ToSpan;
use jiff::civil::Date;
use serde::Deserialize;
use shared::LicenseNumber;
use shared::accountability::{
    AccountabilityPage, Counts, Day, Fallback, LicenseChoice, RANKED, RATE_DAYS, is_period,
};
use shared::api::FieldError;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Deserialize)]
pub struct AccountabilityQuery {
    days: Option<u32>,
    license: Option<i64>,
}

/// The organization's licenses: the choices, and the zones whose dates make "today".
struct OrgLicense {
    choice: LicenseChoice,
    time_zone: String,
}

async fn licenses(state: &AppState, organization_id: i64) -> Result<Vec<OrgLicense>, AppError> {
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT id, number, display_name, time_zone FROM licenses WHERE organization_id = $1 ORDER BY number",
    )
    .bind(organization_id)
    .fetch_all(&state.db.pool)
    .await?;
    rows.into_iter()
        .map(|(id, number, name, time_zone)| {
            Ok(OrgLicense {
                choice: LicenseChoice {
                    id,
                    number: LicenseNumber::parse(&number).map_err(|e| {
                        AppError::Internal(format!("license {id}'s stored number: {e}"))
                    })?,
                    name,
                },
                time_zone,
            })
        })
        .collect()
}

/// The newest date at any of these licenses now (no report of theirs is on a later day); UTC's without any.
fn today<'a>(licenses: impl Iterator<Item = &'a OrgLicense>) -> Result<Date, AppError> {
    let now = jiff::Timestamp::now();
    let date_in = |zone: &str| {
        now.in_tz(zone)
            .map(|zoned| zoned.date())
            .map_err(|e| AppError::Internal(format!("time zone {zone:?}: {e}")))
    };
    let mut newest = None;
    for license in licenses {
        let date = date_in(&license.time_zone)?;
        newest = Some(newest.map_or(date, |n: Date| n.max(date)));
    }
    newest.map_or_else(|| date_in("UTC"), Ok)
}

fn days_before(date: Date, days: u32) -> Result<Date, AppError> {
    date.checked_sub(i64::from(days).days())
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// `GET /api/admin/accountability?days=7|30|90&license=`.
pub async fn page(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<AccountabilityQuery>,
) -> Result<impl IntoResponse, AppError> {
    let period = query.days.unwrap_or(RATE_DAYS);
    if !is_period(period) {
        return Err(AppError::Validation(vec![FieldError::new(
            "days",
            "Choose 7, 30 or 90 days.",
        )]));
    }
    let licenses = licenses(&state, admin.organization_id).await?;
    let license = query.license.filter(|id| *id != 0);
    if license.is_some_and(|id| !licenses.iter().any(|l| l.choice.id == id)) {
        return Err(AppError::NotFound);
    }
    // One license: its own date; every license: the newest date at any of them.
    let last = match license {
        Some(id) => today(licenses.iter().filter(|l| l.choice.id == id))?,
        None => today(licenses.iter())?,
    };
    let first = days_before(last, period - 1)?;
    // The rate needs the 14 days up to today, whatever the period.
    let rate_first = days_before(last, 2 * RATE_DAYS - 1)?;
    let read_first = first.min(rate_first);
    let counted = tally::days(
        &state.db,
        admin.organization_id,
        &read_first.to_string(),
        &last.to_string(),
        license,
    )
    .await?;
    let recent_first = days_before(last, RATE_DAYS - 1)?.to_string();
    let first_text = first.to_string();
    let (mut recent, mut before) = (Counts::default(), Counts::default());
    for (day, counts) in &counted {
        if *day >= recent_first {
            recent.add_all(counts);
        } else if *day >= rate_first.to_string() {
            before.add_all(counts);
        }
    }
    let mut days = Vec::with_capacity(period as usize);
    let mut date = first;
    while date <= last {
        let day = date.to_string();
        days.push(Day {
            counts: counted.get(&day).copied().unwrap_or_default(),
            day,
        });
        date = date
            .tomorrow()
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    let fallbacks = ranking(
        &state,
        admin.organization_id,
        &first_text,
        &last.to_string(),
        license,
        &licenses,
    )
    .await?;
    Ok((
        NO_STORE,
        Json(AccountabilityPage {
            days,
            recent,
            before,
            fallbacks,
            licenses: licenses.into_iter().map(|l| l.choice).collect(),
        }),
    ))
}

/// Who sent the most under the default key from `first` to `last`, most first, with their licenses.
async fn ranking(
    state: &AppState,
    organization_id: i64,
    first: &str,
    last: &str,
    license: Option<i64>,
    licenses: &[OrgLicense],
) -> Result<Vec<Fallback>, AppError> {
    let rows = tally::fallbacks(&state.db, organization_id, first, last, license).await?;
    let mut per_user: BTreeMap<i64, (i64, BTreeSet<i64>)> = BTreeMap::new();
    for (user_id, license_id, n) in rows {
        let entry = per_user.entry(user_id).or_default();
        entry.0 = entry.0.saturating_add(n);
        entry.1.insert(license_id);
    }
    let mut ranked: Vec<(i64, (i64, BTreeSet<i64>))> = per_user.into_iter().collect();
    // Most first; equal counts by user id, so the order is stable from one load to the next.
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    ranked.truncate(RANKED);
    let mut fallbacks = Vec::with_capacity(ranked.len());
    for (user_id, (count, license_ids)) in ranked {
        let (name, email, active): (String, String, i64) = sqlx::query_as(
            "SELECT display_name, email, CASE WHEN active THEN 1 ELSE 0 END FROM users \
             WHERE id = $1 AND organization_id = $2",
        )
        .bind(user_id)
        .bind(organization_id)
        .fetch_one(&state.db.pool)
        .await?;
        let numbers = licenses
            .iter()
            .filter(|l| license_ids.contains(&l.choice.id))
            .map(|l| l.choice.number.clone())
            .collect();
        fallbacks.push(Fallback {
            user_id,
            name,
            email,
            active: active != 0,
            count,
            licenses: numbers,
        });
    }
    Ok(fallbacks)
}

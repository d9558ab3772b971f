//! Organization Management > Audit log: credential and configuration changes, newest first, filterable by
//! user (as actor or subject) and by license. Never a key: records hold at most its last four characters.

use super::{AdminUser, NO_STORE};
use crate::AppState;
use crate::error::AppError;
use axum::Json;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use shared::admin::{AUDIT_PAGE_SIZE, AuditPage, AuditView};
use sqlx::Row;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    user: Option<i64>,
    license: Option<i64>,
    /// Records older than this id (the previous page's `next_before`).
    before: Option<i64>,
}

/// The audit log's filters as SQL conditions over `audit_log a` and their binds (`$1` the organization):
/// a user as actor or subject, a license the record concerns.
pub fn filters(
    organization_id: i64,
    user: Option<i64>,
    license: Option<i64>,
) -> (Vec<String>, Vec<i64>) {
    let mut conditions = vec!["a.organization_id = $1".to_owned()];
    let mut binds: Vec<i64> = vec![organization_id];
    if let Some(user) = user {
        binds.push(user);
        let n = binds.len();
        conditions.push(format!(
            "(a.actor_user_id = ${n} OR a.subject_user_id = ${n})"
        ));
    }
    if let Some(license) = license {
        binds.push(license);
        conditions.push(format!(
            "EXISTS (SELECT 1 FROM audit_licenses al WHERE al.audit_id = a.id AND al.license_id = ${})",
            binds.len()
        ));
    }
    (conditions, binds)
}

/// The license numbers each of these audit records concerns, in one query (none for an empty list).
pub async fn license_numbers(
    conn: &mut sqlx::AnyConnection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<String>>, sqlx::Error> {
    let mut numbers: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(numbers);
    }
    let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT al.audit_id, l.number FROM audit_licenses al JOIN licenses l ON l.id = al.license_id \
         WHERE al.audit_id IN ({}) ORDER BY l.number",
        list.join(", ")
    );
    let mut q = sqlx::query_as::<_, (i64, String)>(&sql);
    for id in ids {
        q = q.bind(*id);
    }
    for (audit_id, number) in q.fetch_all(conn).await? {
        numbers.entry(audit_id).or_default().push(number);
    }
    Ok(numbers)
}

/// `GET /api/admin/audit?user=&license=&before=`.
pub async fn page(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<AuditQuery>,
) -> Result<impl IntoResponse, AppError> {
    let (mut conditions, mut binds) = filters(admin.organization_id, query.user, query.license);
    if let Some(before) = query.before {
        binds.push(before);
        conditions.push(format!("a.id < ${}", binds.len()));
    }
    let sql = format!(
        "SELECT a.id, a.at, actor.display_name AS actor, subject.display_name AS subject, a.action, \
         a.result, a.detail FROM audit_log a \
         JOIN users actor ON actor.id = a.actor_user_id JOIN users subject ON subject.id = a.subject_user_id \
         WHERE {} ORDER BY a.id DESC LIMIT {}",
        conditions.join(" AND "),
        AUDIT_PAGE_SIZE + 1
    );
    let mut q = sqlx::query(&sql);
    for b in &binds {
        q = q.bind(*b);
    }
    let mut conn = state.db.pool.acquire().await?;
    let mut entries = q
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| {
            Ok(AuditView {
                id: row.try_get("id")?,
                at: row.try_get("at")?,
                actor: row.try_get("actor")?,
                subject: row.try_get("subject")?,
                action: row.try_get("action")?,
                result: row.try_get("result")?,
                detail: row.try_get("detail")?,
                licenses: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let more = entries.len() > AUDIT_PAGE_SIZE;
    entries.truncate(AUDIT_PAGE_SIZE);
    let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
    let mut numbers = license_numbers(&mut conn, &ids).await?;
    for e in &mut entries {
        e.licenses = numbers.remove(&e.id).unwrap_or_default();
    }
    let next_before = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok((
        NO_STORE,
        Json(AuditPage {
            entries,
            next_before,
        }),
    ))
}

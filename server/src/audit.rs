//! The audit trail: who did what to which credential, when, and how it ended. Never a key.

use crate::accounts::User;
use crate::db::{Db, now_unix};
use sqlx::AnyConnection;

/// One audit record. The actor and the subject are the same user until admins act on others' rows.
#[derive(Debug)]
pub struct Entry {
    pub organization_id: i64,
    pub actor_user_id: i64,
    pub subject_user_id: i64,
    pub credential_id: Option<i64>,
    /// What was attempted, e.g. `credential_added`, `verify_failed`.
    pub action: &'static str,
    /// How it ended, e.g. `saved`, `key_invalid`.
    pub result: &'static str,
    /// Facts for people reading the trail: license numbers, a key's last four characters.
    pub detail: String,
    /// The licenses the record concerns (the audit log filters by them).
    pub license_ids: Vec<i64>,
}

impl Entry {
    /// A user acting on their own credentials.
    pub fn by(
        user: &User,
        credential_id: Option<i64>,
        action: &'static str,
        result: &'static str,
    ) -> Entry {
        Entry {
            organization_id: user.organization_id,
            actor_user_id: user.id,
            subject_user_id: user.id,
            credential_id,
            action,
            result,
            detail: String::new(),
            license_ids: Vec::new(),
        }
    }

    /// An admin acting on the organization, or on another user (`subject`; the admin when `None`).
    pub fn admin(
        admin: &User,
        subject: Option<i64>,
        action: &'static str,
        result: &'static str,
    ) -> Entry {
        Entry {
            subject_user_id: subject.unwrap_or(admin.id),
            ..Entry::by(admin, None, action, result)
        }
    }

    pub fn detail(self, detail: String) -> Entry {
        Entry { detail, ..self }
    }

    pub fn licenses(self, license_ids: &[i64]) -> Entry {
        Entry {
            license_ids: license_ids.to_vec(),
            ..self
        }
    }
}

/// Writes an entry inside the caller's transaction, so it commits (or not) with the change it records.
pub async fn record(conn: &mut AnyConnection, entry: &Entry) -> Result<(), sqlx::Error> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_log (organization_id, actor_user_id, subject_user_id, credential_id, action, \
         result, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(entry.organization_id)
    .bind(entry.actor_user_id)
    .bind(entry.subject_user_id)
    .bind(entry.credential_id)
    .bind(entry.action)
    .bind(entry.result)
    .bind(&entry.detail)
    .bind(now_unix())
    .fetch_one(&mut *conn)
    .await?;
    if !entry.license_ids.is_empty() {
        let rows: Vec<String> = (0..entry.license_ids.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect();
        let sql = format!(
            "INSERT INTO audit_licenses (audit_id, license_id) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(&sql).bind(id);
        for license_id in &entry.license_ids {
            insert = insert.bind(*license_id);
        }
        insert.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes an entry that records no change (a refused attempt).
pub async fn record_alone(db: &Db, entry: &Entry) -> Result<(), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    record(&mut conn, entry).await
}

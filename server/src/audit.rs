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
        }
    }

    pub fn detail(self, detail: String) -> Entry {
        Entry { detail, ..self }
    }
}

/// Writes an entry inside the caller's transaction, so it commits (or not) with the change it records.
pub async fn record(conn: &mut AnyConnection, entry: &Entry) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (organization_id, actor_user_id, subject_user_id, credential_id, action, \
         result, detail, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(entry.organization_id)
    .bind(entry.actor_user_id)
    .bind(entry.subject_user_id)
    .bind(entry.credential_id)
    .bind(entry.action)
    .bind(entry.result)
    .bind(&entry.detail)
    .bind(now_unix())
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes an entry that records no change (a refused attempt).
pub async fn record_alone(db: &Db, entry: &Entry) -> Result<(), sqlx::Error> {
    let mut conn = db.pool.acquire().await?;
    record(&mut conn, entry).await
}

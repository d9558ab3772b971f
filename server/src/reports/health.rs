//! Keys kept healthy: a background re-check of every stored credential key, oldest check first, one
//! `GET /facilities/v2/` per key, paced (`KEY_RECHECK_PACE_MS`), each key once per `KEY_RECHECK_HOURS`.
//! A key METRC now refuses becomes `invalid`, one that no longer reaches a license `license lost`, before
//! a sale fails; the user sees it on their credentials page. A key that works again becomes `verified`,
//! and the reports it held go out again. An outage changes nothing.

use crate::AppState;
use crate::crypto::Sealed;
use crate::db::now_unix;
use metrc::{Metrc, MetrcError};
use shared::{LicenseNumber, StateCode};

/// Runs the re-check until the task is dropped.
pub async fn run(state: AppState) {
    loop {
        let checked = match recheck_one(&state).await {
            Ok(checked) => checked,
            Err(e) => {
                tracing::error!(error = %e, "key re-check failed");
                false
            }
        };
        // Nothing due: look again after a while — a minute at most, sooner when keys fall due sooner.
        let health = &state.config.health;
        let pause = if checked {
            health.pace
        } else {
            health
                .interval
                .min(std::time::Duration::from_secs(60))
                .max(health.pace)
        };
        tokio::time::sleep(pause).await;
    }
}

/// Checks the stored key whose last check is oldest, if it is due. Returns whether it checked one.
pub async fn recheck_one(state: &AppState) -> Result<bool, sqlx::Error> {
    let now = now_unix();
    let due_before =
        now - i64::try_from(state.config.health.interval.as_secs()).unwrap_or(i64::MAX);
    let row: Option<(i64, i64, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT c.id, c.user_id, c.state, c.status, c.key_id, c.key_ciphertext, c.version \
         FROM credentials c JOIN users u ON u.id = c.user_id AND u.active \
         WHERE COALESCE(c.checked_at, c.verified_at, 0) <= $1 \
         ORDER BY COALESCE(c.checked_at, c.verified_at, 0), c.id LIMIT 1",
    )
    .bind(due_before)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some((id, user_id, raw_state, status, key_id, ciphertext, version)) = row else {
        return Ok(false);
    };
    let numbers: Vec<String> = sqlx::query_scalar(
        "SELECT l.number FROM credential_licenses cl JOIN licenses l ON l.id = cl.license_id \
         WHERE cl.credential_id = $1",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    let licenses: Vec<LicenseNumber> = numbers
        .iter()
        .filter_map(|n| LicenseNumber::parse(n).ok())
        .collect();
    let key = state.config.credential_keys.open(
        &crate::credentials::owner(user_id),
        &Sealed { key_id, ciphertext },
    );
    let (Ok(key), Ok(us)) = (key, StateCode::parse(&raw_state)) else {
        tracing::error!(
            credential_id = id,
            "a stored key could not be opened for its re-check"
        );
        mark_checked(state, id, version, None, now).await?;
        return Ok(true);
    };
    let new_status = match state.metrc.verify_key(us, &key, &licenses).await {
        Err(MetrcError::InvalidKey) => Some("invalid"),
        Ok(check) if !check.missing.is_empty() => Some("license_lost"),
        Ok(_) => Some("verified"),
        Err(e) => {
            tracing::info!(credential_id = id, error = %e, "METRC unavailable for a key re-check");
            None
        }
    };
    let changed = mark_checked(state, id, version, new_status, now).await?;
    if changed && new_status.is_some_and(|s| s != status) {
        tracing::warn!(
            credential_id = id,
            from = status,
            to = new_status,
            "a stored key's status changed"
        );
        if new_status == Some("verified") {
            let license_ids: Vec<i64> = sqlx::query_scalar(
                "SELECT license_id FROM credential_licenses WHERE credential_id = $1",
            )
            .bind(id)
            .fetch_all(&state.db.pool)
            .await?;
            let mut conn = state.db.pool.acquire().await?;
            crate::reports::outbox::replay_for_user(&mut conn, user_id, &license_ids).await?;
            state.outbox.wake();
        }
    }
    Ok(true)
}

/// Records the check (and the status METRC's answer gives, when it gave one), unless the credential
/// changed meanwhile (a save has its own, newer answer). Returns whether it wrote.
async fn mark_checked(
    state: &AppState,
    id: i64,
    version: i64,
    status: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = match status {
        Some("verified") => {
            sqlx::query(
                "UPDATE credentials SET status = 'verified', verified_at = $1, checked_at = $1 \
             WHERE id = $2 AND version = $3",
            )
            .bind(now)
            .bind(id)
            .bind(version)
            .execute(&state.db.pool)
            .await?
        }
        Some(status) => {
            sqlx::query(
                "UPDATE credentials SET status = $1, checked_at = $2, version = version + 1 \
             WHERE id = $3 AND version = $4",
            )
            .bind(status)
            .bind(now)
            .bind(id)
            .bind(version)
            .execute(&state.db.pool)
            .await?
        }
        None => {
            sqlx::query("UPDATE credentials SET checked_at = $1 WHERE id = $2 AND version = $3")
                .bind(now)
                .bind(id)
                .bind(version)
                .execute(&state.db.pool)
                .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

//! Keys kept healthy: a background re-check of every stored key — people's credentials and the
//! organization's default keys — oldest check first, one `GET /facilities/v2/` per key, paced
//! (`KEY_RECHECK_PACE_MS`), each key once per `KEY_RECHECK_HOURS`.
//!
//! A credential METRC now refuses becomes `invalid`, one that no longer reaches a license `license lost`,
//! before a sale fails; the user sees it on their credentials page. A default key METRC refuses becomes
//! `invalid`, and the licenses it reaches are refreshed. A key that works again becomes `verified`, and the
//! reports it held go out again. An outage changes nothing. Every write is guarded by the key's version:
//! a key saved meanwhile keeps its own, newer answer.

use super::{Holder, KeyRef, Licenses, record_check, release_for_user, release_in_state};
use crate::AppState;
use crate::crypto::Sealed;
use crate::db::{decode, now_unix};
use metrc::{Metrc, MetrcError};
use shared::credential::CredentialStatus;
use shared::{LicenseNumber, StateCode};
use sqlx::Row;

/// Runs the re-check until the task is dropped.
pub async fn run(state: AppState) {
    loop {
        // One check ahead: at most METRC's deadline.
        state
            .heartbeats
            .health
            .beat_within(state.config.metrc.deadline);
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
        state.heartbeats.health.beat_within(pause);
        tokio::time::sleep(pause).await;
    }
}

/// A stored key due for its re-check.
struct DueKey {
    key_ref: KeyRef,
    organization_id: i64,
    holder: Holder,
    state: StateCode,
    status: CredentialStatus,
    sealed: Sealed,
    version: i64,
}

/// The rest of a due key's row.
fn due_key(row: &sqlx::any::AnyRow, key_ref: KeyRef, version: i64) -> Result<DueKey, sqlx::Error> {
    let holder_id: i64 = row.try_get("holder")?;
    let us = decode(row, "state", |s| StateCode::parse(s).ok())?;
    let holder = match key_ref {
        KeyRef::Credential(_) => Holder::Person { user_id: holder_id },
        KeyRef::Default(_) => Holder::Organization {
            organization_id: holder_id,
            state: us,
        },
    };
    Ok(DueKey {
        key_ref,
        organization_id: row.try_get("organization_id")?,
        holder,
        state: us,
        status: decode(row, "status", CredentialStatus::from_code)?,
        sealed: Sealed {
            key_id: row.try_get("key_id")?,
            ciphertext: row.try_get("key_ciphertext")?,
        },
        version,
    })
}

/// Checks the stored key (credential or default key) whose last check is oldest, if it is due. Returns
/// whether it checked one.
pub async fn recheck_one(state: &AppState) -> Result<bool, sqlx::Error> {
    let due_before = now_unix().saturating_sub(secs(state.config.health.interval));
    recheck_due(state, due_before, None).await
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// How long after a sign-in its key check may still start.
const SIGN_IN_CHECK_WITHIN_SECS: i64 = 60;

/// At sign-in, in the background: each of the user's credentials last checked before the sign-in minus
/// `KEY_CHECK_AT_SIGN_IN_MINUTES` is checked, oldest first, one METRC call each, paced like the re-check —
/// so the banner shows METRC's answer within seconds. An outage changes nothing (as in the re-check).
pub async fn recheck_at_sign_in(state: AppState, user_id: i64, signed_in_at: i64) {
    // Older than the threshold: checked in the very second of the sign-in is not due (as `due_at_sign_in`).
    let due_before = signed_in_at
        .saturating_sub(secs(state.config.health.at_sign_in))
        .saturating_sub(1);
    // Each check records its time, and so does a save, so a key is checked once; the bound is a guard.
    let keys: i64 = match sqlx::query_scalar("SELECT COUNT(*) FROM credentials WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&state.db.pool)
        .await
    {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(user_id, error = %e, "the keys could not be checked at sign-in");
            return;
        }
    };
    for _ in 0..keys {
        // Held through the check and the pause after it; a key another sign-in just checked is no longer
        // due when this one gets its turn.
        let Ok(_turn) = state.sign_in_checks.acquire().await else {
            return;
        };
        // A turn that comes long after the sign-in (METRC slow, many signing in) is no help to the banner:
        // the background re-check will get to the key.
        if now_unix().saturating_sub(signed_in_at) > SIGN_IN_CHECK_WITHIN_SECS {
            tracing::info!(
                user_id,
                "the sign-in key check gave its turn up: too late to help"
            );
            return;
        }
        match recheck_due(&state, due_before, Some(user_id)).await {
            Ok(true) => tokio::time::sleep(state.config.health.pace).await,
            Ok(false) => return,
            Err(e) => {
                tracing::error!(user_id, error = %e, "a key could not be checked at sign-in");
                return;
            }
        }
    }
}

/// Whether any of the user's credentials is still waiting for the check of the sign-in at `signed_in_at`.
pub async fn due_at_sign_in(
    conn: &mut sqlx::AnyConnection,
    config: &crate::config::Config,
    user_id: i64,
    signed_in_at: i64,
) -> Result<bool, sqlx::Error> {
    // Checked in the second of the sign-in counts as checked (times are whole seconds).
    let due_before = signed_in_at.saturating_sub(secs(config.health.at_sign_in));
    let due: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM credentials WHERE user_id = $1 AND COALESCE(checked_at, verified_at, 0) < $2",
    )
    .bind(user_id)
    .bind(due_before)
    .fetch_one(conn)
    .await?;
    Ok(due > 0)
}

/// Checks the stored key whose last check is oldest and no later than `due_before` — any key, or only
/// `user`'s credentials. Returns whether it checked one.
async fn recheck_due(
    state: &AppState,
    due_before: i64,
    user: Option<i64>,
) -> Result<bool, sqlx::Error> {
    let now = now_unix();
    // A deactivated user holds no key (deactivation deletes it); the join only skips a row mid-way.
    let row = sqlx::query(
        "SELECT * FROM ( \
           SELECT 0 AS is_default, c.id, c.user_id AS holder, c.organization_id, c.state, c.status, c.key_id, \
             c.key_ciphertext, c.version, COALESCE(c.checked_at, c.verified_at, 0) AS last_check \
           FROM credentials c JOIN users u ON u.id = c.user_id AND u.active \
           UNION ALL \
           SELECT 1, dk.id, dk.organization_id, dk.organization_id, dk.state, dk.status, dk.key_id, dk.key_ciphertext, \
             dk.version, COALESCE(dk.checked_at, dk.verified_at, 0) \
           FROM default_keys dk \
         ) due WHERE last_check <= $1 AND ($2 = 0 OR (is_default = 0 AND holder = $2)) \
         ORDER BY last_check, is_default, id LIMIT 1",
    )
    .bind(due_before)
    .bind(user.unwrap_or(0))
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let id: i64 = row.try_get("id")?;
    let version: i64 = row.try_get("version")?;
    let key_ref = if row.try_get::<i64, _>("is_default")? == 0 {
        KeyRef::Credential(id)
    } else {
        KeyRef::Default(id)
    };
    let mut conn = state.db.pool.acquire().await?;
    // A row that cannot be read or opened is passed over until its next turn (its check time is
    // recorded), so it never stops the re-check of every other key.
    let ready = match due_key(&row, key_ref, version) {
        Ok(due) => match state.keys.open(due.key_ref, due.holder, &due.sealed) {
            // Logged once by `open`; its status stays what the user last saw.
            Err(_) => None,
            Ok(key) => match due.key_ref {
                KeyRef::Credential(id) => match credential_licenses(&mut conn, id).await {
                    Ok(licenses) => Some((due, key, licenses)),
                    Err(e) => {
                        tracing::error!(key = ?key_ref, error = %e, "a stored key's licenses cannot be read for its re-check");
                        None
                    }
                },
                KeyRef::Default(_) => Some((due, key, Vec::new())),
            },
        },
        Err(e) => {
            tracing::error!(key = ?key_ref, error = %e, "a stored key's row cannot be read for its re-check");
            None
        }
    };
    let Some((due, key, licenses)) = ready else {
        record_check(&mut conn, key_ref, version, None, now).await?;
        return Ok(true);
    };
    drop(conn);
    let outcome = state.metrc.verify_key(due.state, &key, &licenses).await;
    // The status, a default key's licenses and the release of what waited: together or not at all, under
    // the organization's lock, taken first as by every write that stores or destroys a key.
    let mut tx = state.db.begin_write().await?;
    super::lock(&mut tx, due.organization_id).await?;
    let new_status = match &outcome {
        Err(MetrcError::InvalidKey) => Some(CredentialStatus::Invalid),
        Ok(check) if !check.missing.is_empty() => Some(CredentialStatus::LicenseLost),
        Ok(_) => Some(CredentialStatus::Verified),
        Err(e) => {
            tracing::info!(key = ?due.key_ref, error = %e, "METRC unavailable for a key re-check");
            None
        }
    };

    let written = record_check(&mut tx, due.key_ref, due.version, new_status, now).await?;
    if !written {
        return Ok(true);
    }
    let result = match new_status {
        Some(CredentialStatus::Invalid) => "invalid",
        Some(CredentialStatus::LicenseLost) => "license_lost",
        Some(_) => "verified",
        None => "metrc_unavailable",
    };
    metrics::counter!("tc_key_rechecks_total", "state" => due.state.code(), "result" => result)
        .increment(1);
    let reaches_changed = match (&outcome, due.key_ref) {
        (Ok(check), KeyRef::Default(id)) => {
            let reached: Vec<&str> = check
                .reached
                .iter()
                .map(|f| f.license_number.as_str())
                .collect();
            refresh_reaches(&mut tx, id, &reached).await?
        }
        _ => false,
    };
    let changed = new_status.is_some_and(|s| s != due.status);
    if changed {
        tracing::warn!(
            key = ?due.key_ref,
            from = due.status.code(),
            to = new_status.map(CredentialStatus::code),
            "a stored key's status changed"
        );
    }
    if new_status == Some(CredentialStatus::Verified) && (changed || reaches_changed) {
        let released = match (due.key_ref, due.holder) {
            (KeyRef::Credential(id), Holder::Person { user_id }) => {
                let license_ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT license_id FROM credential_licenses WHERE credential_id = $1",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?;
                release_for_user(
                    &mut tx,
                    due.organization_id,
                    user_id,
                    Licenses::Only(&license_ids),
                )
                .await?
            }
            (
                _,
                Holder::Organization {
                    organization_id,
                    state: us,
                },
            ) => release_in_state(&mut tx, organization_id, us).await?,
            (KeyRef::Default(_), Holder::Person { .. }) => 0,
        };
        tx.commit().await?;
        if released > 0 {
            state.outbox.wake();
        }
        return Ok(true);
    }
    tx.commit().await?;
    Ok(true)
}

/// The license numbers of a credential, as stored (a number that no longer parses is an error, never
/// silently left out of the check).
async fn credential_licenses(
    conn: &mut sqlx::AnyConnection,
    credential_id: i64,
) -> Result<Vec<LicenseNumber>, sqlx::Error> {
    sqlx::query(
        "SELECT l.number FROM credential_licenses cl JOIN licenses l ON l.id = cl.license_id \
         WHERE cl.credential_id = $1 ORDER BY l.number",
    )
    .bind(credential_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|row| decode(row, "number", |s| LicenseNumber::parse(s).ok()))
    .collect()
}

/// Replaces the license numbers a default key reaches with METRC's latest answer. Returns whether they
/// changed.
async fn refresh_reaches(
    conn: &mut sqlx::AnyConnection,
    default_key_id: i64,
    reached: &[&str],
) -> Result<bool, sqlx::Error> {
    let mut before: Vec<String> = sqlx::query_scalar(
        "SELECT license_number FROM default_key_reaches WHERE default_key_id = $1",
    )
    .bind(default_key_id)
    .fetch_all(&mut *conn)
    .await?;
    before.sort_unstable();
    let mut after: Vec<String> = reached.iter().map(|s| (*s).to_owned()).collect();
    after.sort_unstable();
    after.dedup();
    if before == after {
        return Ok(false);
    }
    super::write_reaches(conn, default_key_id, &after).await?;
    Ok(true)
}

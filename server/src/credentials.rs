//! The current user's traceability credentials: list, Verify & Save (new and edit), delete, and the
//! re-encryption of every stored key under the newest server key.
//!
//! "Verify & Save" runs in three steps, so that nothing is written unless METRC agreed and nothing
//! holds a database lock while METRC thinks:
//! 1. Read the page's context (the organization's licenses, the user's credentials) and check the
//!    request with the shared rules. Refuse a key that is on another person's credential.
//! 2. Ask METRC, outside any transaction, whether the key is valid and which licenses it reaches.
//! 3. In one short write transaction, check everything again (a concurrent save may have taken a
//!    license), write, audit, commit. The schema's uniqueness rule and the version check decide races;
//!    a lost race is a 409, never a partial or double write.

use crate::AppState;
use crate::accounts::User;
use crate::audit::{self, Entry};
use crate::crypto::{CredentialKeys, Sealed};
use crate::db::{Db, now_unix};
use crate::error::{ApiJson, AppError};
use crate::sessions::CurrentUser;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use metrc::{KeyCheck, Metrc, MetrcError};
use shared::api::ErrorCode;
use shared::credential::{
    CredentialDraft, CredentialRequest, CredentialStatus, CredentialView, CredentialsPage,
    LicenseOption, ReachedLicense, SavedCredential, messages,
};
use shared::{LicenseNumber, MetrcUserKey, Provider, StateCode};
use sqlx::{AnyConnection, Row};

const NO_STORE: [(header::HeaderName, &str); 1] = [(header::CACHE_CONTROL, "no-store")];

/// `GET /api/credentials`.
pub async fn page(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let mut page = load_page(&mut conn, &user).await?;
    // "{N} reports waiting for this key": held for want of a usable key at the credential's licenses.
    let held: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT license_id, COUNT(*) FROM reports WHERE user_id = $1 AND status = 'held' AND held_for = 'key' \
         GROUP BY license_id",
    )
    .bind(user.id)
    .fetch_all(&mut *conn)
    .await?;
    for credential in &mut page.credentials {
        credential.waiting = held
            .iter()
            .filter(|(license, _)| credential.license_ids.contains(license))
            .map(|(_, n)| n)
            .sum();
    }
    Ok((NO_STORE, Json(page)))
}

/// `GET /api/credentials/{id}`: one of the user's credentials.
pub async fn one(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    let mut conn = state.db.pool.acquire().await?;
    let page = load_page(&mut conn, &user).await?;
    let credential = page.credential(id).ok_or(AppError::NotFound)?;
    Ok((NO_STORE, Json(credential.clone())))
}

/// `POST /api/credentials`: Verify & Save of a new credential.
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson(body): ApiJson<CredentialRequest>,
) -> Result<impl IntoResponse, AppError> {
    let saved = verify_and_save(&state, &user, None, &body).await?;
    Ok((StatusCode::CREATED, NO_STORE, Json(saved)))
}

/// `PUT /api/credentials/{id}`: Verify & Save of an edited credential.
pub async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<CredentialRequest>,
) -> Result<impl IntoResponse, AppError> {
    let saved = verify_and_save(&state, &user, Some(id), &body).await?;
    Ok((NO_STORE, Json(saved)))
}

/// `DELETE /api/credentials/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<i64>,
) -> Result<impl IntoResponse, AppError> {
    let mut tx = state.db.begin_write().await.map_err(race_or_database)?;
    let page = load_page(&mut tx, &user).await?;
    let credential = page.credential(id).ok_or(AppError::NotFound)?;
    let numbers = license_numbers(&page, &credential.license_ids);
    sqlx::query("DELETE FROM credentials WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        &Entry::by(&user, Some(id), "credential_deleted", "deleted")
            .detail(format!("licenses {}", numbers.join(", ")))
            .licenses(&credential.license_ids),
    )
    .await?;
    tx.commit().await.map_err(race_or_database)?;
    tracing::info!(user_id = user.id, credential_id = id, "credential deleted");
    Ok((StatusCode::NO_CONTENT, NO_STORE))
}

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
            number: row.try_get("number")?,
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

/// Reads a text column through a parser; a value the parser refuses is a decode error.
pub fn decode<T>(
    row: &sqlx::any::AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    let raw: String = row.try_get(column)?;
    parse(&raw).ok_or_else(|| sqlx::Error::Decode(format!("{column} {raw:?} is not known").into()))
}

fn license_numbers<'a>(page: &'a CredentialsPage, ids: &[i64]) -> Vec<&'a str> {
    ids.iter()
        .filter_map(|id| page.license(*id))
        .map(|l| l.number.as_str())
        .collect()
}

/// A license the request names that is already on another of the user's credentials: the page the user
/// saw is out of date, or a concurrent save took it. That is a conflict, not a bad field.
fn held_elsewhere(
    page: &CredentialsPage,
    body: &CredentialRequest,
    editing: Option<i64>,
) -> Option<AppError> {
    let provider = Provider::parse(&body.provider).ok()?;
    body.license_ids.iter().find_map(|id| {
        let holder = page.holder_of(provider, *id, editing)?;
        let number = &page.license(*id)?.number;
        Some(AppError::Conflict(format!(
            "License {number} is already on your credential {}. Reload the page to see your credentials as they are now. Nothing was saved.",
            holder.label()
        )))
    })
}

/// Parses the request against the page, treating a license taken by another credential as a conflict.
fn check_request(
    page: &CredentialsPage,
    body: &CredentialRequest,
    editing: Option<i64>,
) -> Result<CredentialDraft, AppError> {
    if let Some(id) = editing
        && page.credential(id).is_none()
    {
        return Err(AppError::NotFound);
    }
    if let Some(conflict) = held_elsewhere(page, body, editing) {
        return Err(conflict);
    }
    body.parse(page, editing).map_err(AppError::Validation)
}

/// Where a METRC key is stored in the organization, found by fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHolder {
    /// On a credential (its id) of a user (their id).
    Credential { id: i64, user_id: i64 },
    /// The organization's default key of a state.
    DefaultKey,
}

/// Every place this METRC key is stored in the organization: credentials and default keys.
pub async fn key_holders(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    organization_id: i64,
    key: &MetrcUserKey,
) -> Result<Vec<KeyHolder>, sqlx::Error> {
    let fingerprints = keys.all_fingerprints(key);
    let matches: Vec<String> = (0..fingerprints.len())
        .map(|i| {
            format!(
                "(fingerprint_key_id = ${} AND key_fingerprint = ${})",
                2 * i + 2,
                2 * i + 3
            )
        })
        .collect();
    let matches = matches.join(" OR ");
    let sql = format!(
        "SELECT id, user_id FROM credentials WHERE organization_id = $1 AND ({matches}) \
         UNION ALL SELECT id, CAST(NULL AS BIGINT) FROM default_keys WHERE organization_id = $1 AND ({matches})"
    );
    let mut query = sqlx::query_as(&sql).bind(organization_id);
    for f in &fingerprints {
        query = query.bind(f.key_id.as_str()).bind(f.value.as_str());
    }
    let rows: Vec<(i64, Option<i64>)> = query.fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .map(|(id, user_id)| match user_id {
            Some(user_id) => KeyHolder::Credential { id, user_id },
            None => KeyHolder::DefaultKey,
        })
        .collect())
}

/// Refuses a key that is another person's, or already on another of this user's credentials.
async fn check_key_owner(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    user: &User,
    editing: Option<i64>,
    key: &MetrcUserKey,
    page: &CredentialsPage,
) -> Result<(), AppError> {
    for holder in key_holders(conn, keys, user.organization_id, key).await? {
        let KeyHolder::Credential {
            id: credential_id,
            user_id,
        } = holder
        else {
            return Err(AppError::Rejected(
                StatusCode::CONFLICT,
                ErrorCode::KeyBelongsToAnother,
                messages::BELONGS_TO_ANOTHER.to_owned(),
            ));
        };
        if user_id != user.id {
            return Err(AppError::Rejected(
                StatusCode::CONFLICT,
                ErrorCode::KeyBelongsToAnother,
                messages::BELONGS_TO_ANOTHER.to_owned(),
            ));
        }
        if Some(credential_id) != editing {
            let label = page
                .credential(credential_id)
                .map_or_else(|| "another credential".to_owned(), CredentialView::label);
            return Err(AppError::Conflict(format!(
                "This key is already on your credential {label}. Add the licenses to that credential instead. Nothing was saved."
            )));
        }
    }
    Ok(())
}

/// Verify & Save, for a new credential (`editing = None`) or an edit.
async fn verify_and_save(
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    body: &CredentialRequest,
) -> Result<SavedCredential, AppError> {
    // 1. Check the request.
    let mut conn = state.db.pool.acquire().await?;
    let page = load_page(&mut conn, user).await?;
    let mut draft = check_request(&page, body, editing)?;
    let version = match (editing, body.version) {
        (Some(_), None) => {
            return Err(AppError::BadRequest(
                "An edit must name the version of the credential it changes.".into(),
            ));
        }
        (_, version) => version,
    };
    let keys = &state.config.credential_keys;
    let (key, new_key) = match (draft.key.take(), editing) {
        (Some(key), _) => (key, true),
        (None, Some(id)) => (stored_key(&mut conn, keys, user, id).await?, false),
        (None, None) => return Err(AppError::Internal("a new credential without a key".into())),
    };
    if new_key {
        check_key_owner(&mut conn, keys, user, editing, &key, &page).await?;
    }
    drop(conn);
    crate::rate_limit::check_verify(&state.db, state.config.verify_attempts_per_minute, user.id)
        .await?;

    // 2. Ask METRC, holding no lock.
    let numbers: Vec<LicenseNumber> = license_numbers(&page, &draft.license_ids)
        .into_iter()
        .filter_map(|n| LicenseNumber::parse(n).ok())
        .collect();
    let started = std::time::Instant::now();
    let outcome = state.metrc.verify_key(draft.state, &key, &numbers).await;
    tracing::info!(
        user_id = user.id,
        state = draft.state.code(),
        metrc_ms = started.elapsed().as_millis(),
        ok = outcome.is_ok(),
        "METRC key check"
    );
    let key_check = match refusal(draft.state, outcome) {
        Ok(check) => check,
        Err((result, error)) => {
            audit::record_alone(
                &state.db,
                &Entry::by(user, editing, "verify_failed", result)
                    .detail(format!("licenses {}", join(&numbers)))
                    .licenses(&draft.license_ids),
            )
            .await?;
            return Err(error);
        }
    };

    // 3. Check again and write, in one short transaction.
    let mut tx = state.db.begin_write().await.map_err(race_or_database)?;
    let page_now = load_page(&mut tx, user).await?;
    let draft_now = check_request(&page_now, body, editing).map_err(|e| match e {
        AppError::Validation(fields) => AppError::Conflict(format!(
            "Your credentials or your organization's licenses changed while METRC was checking the key ({}). Reload the page and try again. Nothing was saved.",
            fields.first().map(|f| f.message.as_str()).unwrap_or_default()
        )),
        other => other,
    })?;
    if new_key {
        check_key_owner(&mut tx, keys, user, editing, &key, &page_now).await?;
    }
    let now = now_unix();
    let credential_id = match editing {
        None => insert_credential(&mut tx, keys, user, &draft_now, &key, now).await?,
        Some(id) => {
            update_credential(
                &mut tx,
                keys,
                user,
                id,
                version,
                new_key.then_some(&key),
                now,
            )
            .await?;
            id
        }
    };
    // Only the licenses that change are written: the ones no longer chosen are removed, the new ones
    // added (fewer pages touched, a smaller commit).
    let previous = editing.and_then(|id| page_now.credential(id));
    let held: &[i64] = previous.map_or(&[], |c| c.license_ids.as_slice());
    let removed: Vec<i64> = held
        .iter()
        .filter(|l| !draft_now.license_ids.contains(l))
        .copied()
        .collect();
    let added: Vec<i64> = draft_now
        .license_ids
        .iter()
        .filter(|l| !held.contains(l))
        .copied()
        .collect();
    if !removed.is_empty() {
        let list: Vec<String> = (0..removed.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "DELETE FROM credential_licenses WHERE credential_id = $1 AND license_id IN ({})",
            list.join(", ")
        );
        let mut delete = sqlx::query(&sql).bind(credential_id);
        for license_id in &removed {
            delete = delete.bind(*license_id);
        }
        delete.execute(&mut *tx).await.map_err(race_or_database)?;
    }
    if !added.is_empty() {
        // One statement: `($1, $2, $3, $4), ($1, $2, $3, $5), …`.
        let rows: Vec<String> = (0..added.len())
            .map(|i| format!("($1, $2, $3, ${})", i + 4))
            .collect();
        let sql = format!(
            "INSERT INTO credential_licenses (credential_id, user_id, provider, license_id) VALUES {}",
            rows.join(", ")
        );
        let mut insert = sqlx::query(&sql)
            .bind(credential_id)
            .bind(user.id)
            .bind(draft_now.provider.code());
        for license_id in &added {
            insert = insert.bind(*license_id);
        }
        insert.execute(&mut *tx).await.map_err(race_or_database)?;
    }
    let (action, mut detail) = match editing {
        None => ("credential_added", String::new()),
        Some(_) => ("credential_updated", String::new()),
    };
    detail.push_str(&format!("licenses {}", join(&numbers)));
    if new_key {
        detail.push_str(&format!("; key ••••{}", key.last_four()));
    }
    audit::record(
        &mut tx,
        &Entry::by(user, Some(credential_id), action, "saved")
            .detail(detail)
            .licenses(&draft_now.license_ids),
    )
    .await?;
    // The user's reports held for want of a usable key at these licenses go out again now.
    crate::reports::outbox::replay_for_user(&mut tx, user.id, &draft_now.license_ids).await?;
    tx.commit().await.map_err(race_or_database)?;
    state.outbox.wake();
    tracing::info!(user_id = user.id, credential_id, action, "credential saved");

    // The answer describes what was just written, without reading it back.
    let mut license_ids = draft_now.license_ids.clone();
    license_ids.sort_by(|a, b| {
        let number = |id: &i64| page_now.license(*id).map(|l| l.number.clone());
        number(a).cmp(&number(b))
    });
    let credential = CredentialView {
        id: credential_id,
        provider: draft_now.provider,
        state: draft_now.state,
        license_ids,
        key_last_four: match previous {
            Some(stored) if !new_key => stored.key_last_four.clone(),
            _ => key.last_four(),
        },
        status: CredentialStatus::Verified,
        verified_at: Some(now),
        version: previous.map_or(1, |c| c.version + 1),
        // Its held reports were just put back in the queue.
        waiting: 0,
    };
    let mut saved_page = page_now;
    saved_page.credentials.retain(|c| c.id != credential_id);
    saved_page.credentials.push(credential.clone());
    let addable =
        saved_page.offered_licenses(credential.provider, credential.state, Some(credential_id));
    let also_reaches = key_check
        .reached
        .iter()
        .filter(|f| !numbers.iter().any(|n| n.as_str() == f.license_number))
        .map(|f| ReachedLicense {
            number: f.license_number.clone(),
            name: f.name.clone(),
            license_id: addable
                .iter()
                .find(|l| l.number == f.license_number && !credential.license_ids.contains(&l.id))
                .map(|l| l.id),
        })
        .collect();
    Ok(SavedCredential {
        credential,
        also_reaches,
    })
}

fn join(numbers: &[LicenseNumber]) -> String {
    numbers
        .iter()
        .map(LicenseNumber::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// METRC's answer as the user's outcome: the check when every license is reached, otherwise the audit
/// result and the error to answer with.
fn refusal(
    state: StateCode,
    outcome: Result<KeyCheck, MetrcError>,
) -> Result<KeyCheck, (&'static str, AppError)> {
    match outcome {
        Ok(check) if check.missing.is_empty() => Ok(check),
        Ok(check) => {
            let missing: Vec<&str> = check.missing.iter().map(LicenseNumber::as_str).collect();
            Err((
                "licenses_not_associated",
                AppError::Rejected(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::LicensesNotAssociated,
                    messages::not_associated(&missing),
                ),
            ))
        }
        Err(MetrcError::InvalidKey) => Err((
            "key_invalid",
            AppError::Rejected(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::MetrcKeyInvalid,
                messages::key_invalid(state),
            ),
        )),
        Err(MetrcError::NotConfigured(state)) => {
            tracing::error!(state = state.code(), "no METRC vendor key configured");
            Err((
                "metrc_not_configured",
                AppError::Rejected(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::MetrcUnavailable,
                    format!(
                        "This server is not set up to reach METRC in {}. Nothing was saved; ask your administrator.",
                        state.name()
                    ),
                ),
            ))
        }
        Err(other) => {
            tracing::warn!(error = %other, "METRC could not be reached for a key check");
            Err((
                "metrc_unavailable",
                AppError::Rejected(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::MetrcUnavailable,
                    messages::UNREACHABLE.to_owned(),
                ),
            ))
        }
    }
}

/// The owner string sealed keys are bound to.
pub fn owner(user_id: i64) -> String {
    format!("user:{user_id}")
}

/// Decrypts the stored key of one of the user's credentials.
async fn stored_key(
    conn: &mut AnyConnection,
    keys: &CredentialKeys,
    user: &User,
    id: i64,
) -> Result<MetrcUserKey, AppError> {
    let (key_id, ciphertext): (String, String) = sqlx::query_as(
        "SELECT key_id, key_ciphertext FROM credentials WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user.id)
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)?;
    keys.open(&owner(user.id), &Sealed { key_id, ciphertext })
        .map_err(|e| AppError::Internal(format!("credential {id}: {e}")))
}

async fn insert_credential(
    tx: &mut AnyConnection,
    keys: &CredentialKeys,
    user: &User,
    draft: &CredentialDraft,
    key: &MetrcUserKey,
    now: i64,
) -> Result<i64, AppError> {
    let sealed = keys.seal(&owner(user.id), key);
    let fingerprint = keys.fingerprint(key);
    sqlx::query_scalar(
        "INSERT INTO credentials (organization_id, user_id, provider, state, key_id, key_ciphertext, \
         fingerprint_key_id, key_fingerprint, key_last_four, status, verified_at, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'verified', $10, 1, $10, $10) RETURNING id",
    )
    .bind(user.organization_id)
    .bind(user.id)
    .bind(draft.provider.code())
    .bind(draft.state.code())
    .bind(sealed.key_id)
    .bind(sealed.ciphertext)
    .bind(fingerprint.key_id)
    .bind(fingerprint.value)
    .bind(key.last_four())
    .bind(now)
    .fetch_one(tx)
    .await
    .map_err(race_or_database)
}

/// Marks the credential verified (with a new key, when given) if it is still at `version`.
async fn update_credential(
    tx: &mut AnyConnection,
    keys: &CredentialKeys,
    user: &User,
    id: i64,
    version: Option<i64>,
    new_key: Option<&MetrcUserKey>,
    now: i64,
) -> Result<(), AppError> {
    let done = match new_key {
        Some(key) => {
            let sealed = keys.seal(&owner(user.id), key);
            let fingerprint = keys.fingerprint(key);
            sqlx::query(
                "UPDATE credentials SET key_id = $1, key_ciphertext = $2, fingerprint_key_id = $3, \
                 key_fingerprint = $4, key_last_four = $5, status = 'verified', verified_at = $6, \
                 updated_at = $6, version = version + 1 WHERE id = $7 AND user_id = $8 AND version = $9",
            )
            .bind(sealed.key_id)
            .bind(sealed.ciphertext)
            .bind(fingerprint.key_id)
            .bind(fingerprint.value)
            .bind(key.last_four())
            .bind(now)
            .bind(id)
            .bind(user.id)
            .bind(version)
            .execute(&mut *tx)
            .await
        }
        None => {
            sqlx::query(
                "UPDATE credentials SET status = 'verified', verified_at = $1, updated_at = $1, \
                 version = version + 1 WHERE id = $2 AND user_id = $3 AND version = $4",
            )
            .bind(now)
            .bind(id)
            .bind(user.id)
            .bind(version)
            .execute(&mut *tx)
            .await
        }
    }
    .map_err(race_or_database)?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(
            "This credential was changed in another window or tab while you edited it. Reload the page to see it as it is now. Nothing was saved."
                .into(),
        ));
    }
    Ok(())
}

/// A database error as the answer; a lost race is a conflict the user can retry.
fn race_or_database(error: sqlx::Error) -> AppError {
    AppError::from_race(
        error,
        "Another save of your credentials happened at the same moment. Reload the page and try again. Nothing was saved.",
    )
}

/// How many stored keys [`rotate`] re-encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotated {
    pub credentials: u64,
}

/// Re-encrypts (and re-fingerprints) every stored key that is not under the active server key. After
/// it, the older keys can be removed from `CREDENTIAL_KEYS`. Each row is rewritten in its own short
/// transaction, guarded by its version, so the server can keep serving while it runs.
pub async fn rotate(db: &Db, keys: &CredentialKeys) -> Result<Rotated, RotateError> {
    let mut rotated = Rotated { credentials: 0 };
    // A row edited meanwhile fails its version guard; the next pass picks it up if still needed.
    for _pass in 0..ROTATION_PASSES {
        let rows: Vec<(i64, i64, String, String, i64)> = sqlx::query_as(
            "SELECT id, user_id, key_id, key_ciphertext, version FROM credentials \
             WHERE key_id <> $1 OR fingerprint_key_id <> $1",
        )
        .bind(keys.active_id())
        .fetch_all(&db.pool)
        .await?;
        if rows.is_empty() {
            return Ok(rotated);
        }
        rotated.credentials += rotate_rows(db, keys, rows).await?;
    }
    Err(RotateError::KeptChanging)
}

const ROTATION_PASSES: usize = 5;

async fn rotate_rows(
    db: &Db,
    keys: &CredentialKeys,
    rows: Vec<(i64, i64, String, String, i64)>,
) -> Result<u64, RotateError> {
    let mut count = 0;
    for (id, user_id, key_id, ciphertext, version) in rows {
        let key = keys
            .open(&owner(user_id), &Sealed { key_id, ciphertext })
            .map_err(|source| RotateError::Open { id, source })?;
        let sealed = keys.seal(&owner(user_id), &key);
        let fingerprint = keys.fingerprint(&key);
        let done = sqlx::query(
            "UPDATE credentials SET key_id = $1, key_ciphertext = $2, fingerprint_key_id = $3, \
             key_fingerprint = $4, version = version + 1 WHERE id = $5 AND version = $6",
        )
        .bind(sealed.key_id)
        .bind(sealed.ciphertext)
        .bind(fingerprint.key_id)
        .bind(fingerprint.value)
        .bind(id)
        .bind(version)
        .execute(&db.pool)
        .await?;
        count += done.rows_affected();
    }
    Ok(count)
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("credential {id} could not be decrypted: {source}")]
    Open {
        id: i64,
        source: crate::crypto::OpenError,
    },
    #[error("credentials kept changing during {ROTATION_PASSES} passes; run the rotation again")]
    KeptChanging,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

//! "Verify & Save" of a new credential or an edit, in three named steps, so that nothing is written
//! unless METRC agreed and nothing holds a database lock while METRC thinks:
//! 1. [`check`]: read the page's context, check the request with the shared rules, count the attempt,
//!    refuse a key someone else holds (audited).
//! 2. [`ask_metrc`]: ask METRC, outside any transaction, whether the key is valid and which licenses it
//!    reaches (a refusal is audited).
//! 3. [`write`]: in one short write transaction under the organization's lock ([`keys::lock`]), check
//!    everything again — the user is still active, nobody took the key or a license meanwhile — then
//!    write, audit, release the reports that waited, commit. A lost race is a 409, never a partial or
//!    double write.

use super::page::{license_numbers, load_page};
use super::race_or_database;
use crate::AppState;
use crate::accounts::User;
use crate::audit::{self, Entry};
use crate::crypto::Sealed;
use crate::db::now_unix;
use crate::error::AppError;
use crate::hooks::{self, Point};
use crate::keys::answer::{self, Offered, Refusal};
use crate::keys::{self, Holder, KeyRef, PersonConflict};
use metrc::{KeyCheck, Metrc};
use shared::credential::{
    CredentialDraft, CredentialRequest, CredentialStatus, CredentialView, CredentialsPage,
    ReachedLicense, SavedCredential,
};
use shared::{LicenseNumber, MetrcUserKey, Provider};
use sqlx::{AnyConnection, Row};

/// A request that passed step 1.
struct Checked {
    draft: CredentialDraft,
    /// The version of the edited credential the user saw.
    version: Option<i64>,
    key: MetrcUserKey,
    /// A key the user pasted (not the stored one kept by an edit).
    new_key: bool,
    numbers: Vec<LicenseNumber>,
}

/// Verify & Save, for a new credential (`editing = None`) or an edit.
pub async fn verify_and_save(
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    body: &CredentialRequest,
) -> Result<SavedCredential, AppError> {
    let checked = check(state, user, editing, body).await?;
    let key_check = ask_metrc(state, user, editing, &checked).await?;
    write(state, user, editing, body, checked, key_check).await
}

/// Step 1: the request against the page, the attempt counted, the key's holders.
async fn check(
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    body: &CredentialRequest,
) -> Result<Checked, AppError> {
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
    let (key, new_key) = match (draft.key.take(), editing) {
        (Some(key), _) => (key, true),
        (None, Some(id)) => (stored_key(&mut conn, state, user, id).await?, false),
        (None, None) => return Err(AppError::Internal("a new credential without a key".into())),
    };
    let numbers = license_numbers(&page, &draft.license_ids);
    drop(conn);
    // Every attempt counts, a refused one too: trying colleagues' keys one after another is what the
    // limit is for.
    crate::rate_limit::check_verify(&state.db, state.config.verify_attempts_per_minute, user.id)
        .await?;
    let checked = Checked {
        draft,
        version,
        key,
        new_key,
        numbers,
    };
    if new_key {
        let mut conn = state.db.pool.acquire().await?;
        check_holders(&mut conn, state, user, editing, &checked, &page).await?;
    }
    Ok(checked)
}

/// Step 2: METRC's verdict on the key for the chosen licenses.
async fn ask_metrc(
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    checked: &Checked,
) -> Result<KeyCheck, AppError> {
    let started = std::time::Instant::now();
    let outcome = state
        .metrc
        .verify_key(checked.draft.state, &checked.key, &checked.numbers)
        .await;
    tracing::info!(
        user_id = user.id,
        state = checked.draft.state.code(),
        metrc_ms = started.elapsed().as_millis(),
        ok = outcome.is_ok(),
        "METRC key check"
    );
    let verdict = match &outcome {
        Ok(check) if check.missing.is_empty() => "verified",
        Ok(_) => "license_not_associated",
        Err(metrc::MetrcError::InvalidKey) => "invalid_key",
        Err(metrc::MetrcError::RateLimited { .. }) => "metrc_rate_limited",
        Err(metrc::MetrcError::Unavailable(_)) => "metrc_unavailable",
        Err(metrc::MetrcError::NotConfigured(_)) => "not_configured",
        Err(metrc::MetrcError::Refused | metrc::MetrcError::Unexpected(_)) => "metrc_unexpected",
    };
    metrics::counter!("tc_verify_and_save_total", "state" => checked.draft.state.code(), "verdict" => verdict)
        .increment(1);
    match answer::verdict(Offered::Credential, checked.draft.state, outcome) {
        Ok(check) => Ok(check),
        Err(refusal) => Err(refused(state, user, editing, checked, refusal).await?),
    }
}

/// Step 3: check again under the lock, write, audit, release what waited, commit; the answer describes
/// what was written.
async fn write(
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    body: &CredentialRequest,
    checked: Checked,
    key_check: KeyCheck,
) -> Result<SavedCredential, AppError> {
    let mut tx = state.db.begin_write().await.map_err(race_or_database)?;
    hooks::pause(state, Point::KeyWriteStarted).await;
    keys::lock(&mut tx, user.organization_id).await?;
    if !still_active(&mut tx, user.id).await? {
        tx.rollback().await?;
        return Err(refused(state, user, editing, &checked, answer::deactivated()).await?);
    }
    let page_now = load_page(&mut tx, user).await?;
    let draft_now = check_request(&page_now, body, editing).map_err(|e| match e {
        AppError::Validation(fields) => AppError::Conflict(format!(
            "Your credentials or your organization's licenses changed while METRC was checking the key ({}). Reload the page and try again. Nothing was saved.",
            fields.first().map(|f| f.message.as_str()).unwrap_or_default()
        )),
        other => other,
    })?;
    if checked.new_key
        && let Err(refusal) =
            holders_refusal(&mut tx, state, user, editing, &checked, &page_now).await?
    {
        tx.rollback().await?;
        return Err(refused(state, user, editing, &checked, refusal).await?);
    }
    hooks::pause(state, Point::KeyWriteChecked).await;

    let now = now_unix();
    let new_key = checked.new_key.then_some(&checked.key);
    let credential_id = match editing {
        None => insert_credential(&mut tx, state, user, &draft_now, &checked.key, now).await?,
        Some(id) => {
            update_credential(&mut tx, state, user, id, checked.version, new_key, now).await?;
            id
        }
    };
    let previous = editing.and_then(|id| page_now.credential(id));
    write_licenses(
        &mut tx,
        user,
        credential_id,
        &draft_now,
        previous.map_or(&[], |c| c.license_ids.as_slice()),
    )
    .await?;
    let mut detail = format!("licenses {}", join(&checked.numbers));
    if checked.new_key {
        detail.push_str(&format!("; key ••••{}", checked.key.last_four()));
    }
    let action = if editing.is_some() {
        "credential_updated"
    } else {
        "credential_added"
    };
    audit::record(
        &mut tx,
        &Entry::by(user, Some(credential_id), action, "saved")
            .detail(detail)
            .licenses(&draft_now.license_ids),
    )
    .await?;
    // The user's reports held for want of a usable key at these licenses go out again now; so do those at
    // licenses the credential no longer holds (the key table decides again: the default key, or a hold).
    let mut released = draft_now.license_ids.clone();
    released.extend(previous.map_or(&[][..], |c| c.license_ids.as_slice()));
    keys::release_for_user(
        &mut tx,
        user.organization_id,
        user.id,
        keys::Licenses::Only(&released),
    )
    .await?;
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
            Some(stored) if !checked.new_key => stored.key_last_four.clone(),
            _ => checked.key.last_four(),
        },
        status: CredentialStatus::Verified,
        verified_at: Some(now),
        version: previous.map_or(1, |c| c.version + 1),
        // Its held reports were just put back in the queue.
        waiting: 0,
    };
    let also_reaches = also_reaches(page_now, &credential, &key_check, &checked.numbers);
    Ok(SavedCredential {
        credential,
        also_reaches,
    })
}

/// What METRC listed beyond the credential's licenses, with the license id when one click can add it.
fn also_reaches(
    page: CredentialsPage,
    credential: &CredentialView,
    key_check: &KeyCheck,
    numbers: &[LicenseNumber],
) -> Vec<ReachedLicense> {
    let mut saved_page = page;
    saved_page.credentials.retain(|c| c.id != credential.id);
    saved_page.credentials.push(credential.clone());
    let addable =
        saved_page.offered_licenses(credential.provider, credential.state, Some(credential.id));
    key_check
        .reached
        .iter()
        .filter(|f| !numbers.iter().any(|n| n.as_str() == f.license_number))
        .map(|f| ReachedLicense {
            number: f.license_number.clone(),
            name: f.name.clone(),
            license_id: addable
                .iter()
                .find(|l| {
                    l.number.as_str() == f.license_number && !credential.license_ids.contains(&l.id)
                })
                .map(|l| l.id),
        })
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

/// Refuses (and audits) a key someone else holds, or one already on another of the user's credentials.
async fn check_holders(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    checked: &Checked,
    page: &CredentialsPage,
) -> Result<(), AppError> {
    match holders_refusal(conn, state, user, editing, checked, page).await? {
        Ok(()) => Ok(()),
        Err(refusal) => Err(refused(state, user, editing, checked, refusal).await?),
    }
}

/// Whether the key may go on this credential: `Err(refusal)` for someone else's key (to be audited);
/// a key already on another of the user's own credentials is a plain conflict.
async fn holders_refusal(
    conn: &mut AnyConnection,
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    checked: &Checked,
    page: &CredentialsPage,
) -> Result<Result<(), Refusal>, AppError> {
    let stored = keys::holders(conn, &state.keys, user.organization_id, &checked.key).await?;
    match keys::for_person(&stored, user.id, editing) {
        Ok(()) => Ok(Ok(())),
        Err(PersonConflict::SomeoneElses(class)) => {
            Ok(Err(answer::someone_elses(Offered::Credential, class)))
        }
        Err(PersonConflict::OnOwnCredential(id)) => {
            let label = page
                .credential(id)
                .map_or_else(|| "another credential".to_owned(), CredentialView::label);
            Err(AppError::Conflict(format!(
                "This key is already on your credential {label}. Add the licenses to that credential instead. Nothing was saved."
            )))
        }
    }
}

/// Audits a refused Verify & Save (never the key; whose kind of key it was, when that was why) and
/// gives its answer.
async fn refused(
    state: &AppState,
    user: &User,
    editing: Option<i64>,
    checked: &Checked,
    refusal: Refusal,
) -> Result<AppError, AppError> {
    audit::record_alone(
        &state.db,
        &Entry::by(user, editing, "verify_failed", refusal.result)
            .detail(format!(
                "licenses {}{}",
                join(&checked.numbers),
                refusal.detail()
            ))
            .licenses(&checked.draft.license_ids),
    )
    .await?;
    Ok(refusal.error)
}

/// Whether the user is still active, read under the organization's lock (deactivation takes it too).
async fn still_active(tx: &mut AnyConnection, user_id: i64) -> Result<bool, sqlx::Error> {
    let active: Option<i64> =
        sqlx::query_scalar("SELECT CASE WHEN active THEN 1 ELSE 0 END FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(tx)
            .await?;
    Ok(active == Some(1))
}

fn join(numbers: &[LicenseNumber]) -> String {
    numbers
        .iter()
        .map(LicenseNumber::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens the stored key of one of the user's credentials (an edit that keeps it).
async fn stored_key(
    conn: &mut AnyConnection,
    state: &AppState,
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
    state
        .keys
        .open(
            KeyRef::Credential(id),
            Holder::Person { user_id: user.id },
            &Sealed { key_id, ciphertext },
        )
        .map_err(|_| answer::unreadable())
}

async fn insert_credential(
    tx: &mut AnyConnection,
    state: &AppState,
    user: &User,
    draft: &CredentialDraft,
    key: &MetrcUserKey,
    now: i64,
) -> Result<i64, AppError> {
    let sealed = state.keys.seal(Holder::Person { user_id: user.id }, key);
    let row = sealed
        .bind(sqlx::query(
            "INSERT INTO credentials (key_id, key_ciphertext, fingerprint_key_id, key_fingerprint, \
             key_last_four, organization_id, user_id, provider, state, status, verified_at, checked_at, version, \
             created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1, $11, $11) RETURNING id",
        ))
        .bind(user.organization_id)
        .bind(user.id)
        .bind(draft.provider.code())
        .bind(draft.state.code())
        .bind(CredentialStatus::Verified.code())
        .bind(now)
        .fetch_one(tx)
        .await
        .map_err(race_or_database)?;
    Ok(row.try_get("id")?)
}

/// Marks the credential verified (with a new key, when given) if it is still at `version`.
async fn update_credential(
    tx: &mut AnyConnection,
    state: &AppState,
    user: &User,
    id: i64,
    version: Option<i64>,
    new_key: Option<&MetrcUserKey>,
    now: i64,
) -> Result<(), AppError> {
    let sealed = new_key.map(|key| state.keys.seal(Holder::Person { user_id: user.id }, key));
    // The sealed key's five columns come first when there is a new key.
    let (sealed_set, first) = match sealed {
        Some(_) => (format!("{}, ", keys::sealed_columns(1)), 6),
        None => (String::new(), 1),
    };
    let sql = format!(
        // A save is a check with METRC: its time is the key's last check too.
        "UPDATE credentials SET {sealed_set}status = ${first}, verified_at = ${}, checked_at = ${}, updated_at = ${}, \
         version = version + 1 WHERE id = ${} AND user_id = ${} AND version = ${}",
        first + 1,
        first + 1,
        first + 1,
        first + 2,
        first + 3,
        first + 4
    );
    let mut query = sqlx::query(&sql);
    if let Some(sealed) = sealed {
        query = sealed.bind(query);
    }
    let done = query
        .bind(CredentialStatus::Verified.code())
        .bind(now)
        .bind(id)
        .bind(user.id)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(race_or_database)?;
    if done.rows_affected() == 0 {
        return Err(AppError::Conflict(
            "This credential was changed in another window or tab while you edited it. Reload the page to see it as it is now. Nothing was saved."
                .into(),
        ));
    }
    Ok(())
}

/// Writes only the licenses that change: the ones no longer chosen are removed, the new ones added (fewer
/// pages touched, a smaller commit).
async fn write_licenses(
    tx: &mut AnyConnection,
    user: &User,
    credential_id: i64,
    draft: &CredentialDraft,
    held: &[i64],
) -> Result<(), AppError> {
    let removed: Vec<i64> = held
        .iter()
        .filter(|l| !draft.license_ids.contains(l))
        .copied()
        .collect();
    let added: Vec<i64> = draft
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
            .bind(draft.provider.code());
        for license_id in &added {
            insert = insert.bind(*license_id);
        }
        insert.execute(&mut *tx).await.map_err(race_or_database)?;
    }
    Ok(())
}

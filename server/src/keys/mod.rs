//! Key custody: the one place that knows every stored METRC key — a person's (on their credential) or the
//! organization's (the default key of a state).
//!
//! It knows who holds a key ([`Holder`]), seals, opens and fingerprints it ([`Custody`]), decides whether a
//! key offered by someone is already someone else's ([`holders`], [`for_person`], [`for_organization`]),
//! writes every change of a stored key's status, always guarded by the row's version ([`record_check`]),
//! puts back in the queue the reports that waited for a key ([`release_for_user`], [`release_in_state`]),
//! re-checks stored keys in the background ([`health`]) and re-encrypts every table that holds a sealed key
//! ([`rotate`]). METRC's answer about a key becomes the user's or the admin's answer in one place
//! ([`answer`]).
//!
//! **One holder per key.** A unique index cannot span `credentials` and `default_keys`, and during a
//! rotation one key has a fingerprint per server key, so the schema cannot say "one holder". Instead every
//! write transaction that stores a key first takes the organization's row lock ([`lock`]) and only then
//! looks for holders: two saves of one key serialize there, and the second sees the first. Deactivation
//! takes the same lock, so a save either sees its user deactivated or is seen (and destroyed) by the
//! deactivation.

pub mod answer;
pub mod health;
pub mod rotate;

use crate::crypto::{CredentialKeys, Fingerprint, OpenError, Sealed};
use crate::db::now_unix;
use shared::credential::CredentialStatus;
use shared::report::{HeldFor, ReportStatus, reasons};
use shared::{LicenseNumber, MetrcUserKey, StateCode};
use sqlx::{AnyConnection, Row};
use std::collections::HashSet;
use std::sync::Mutex;

/// Who holds a stored METRC key. Reports sent under it name this holder in METRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// A person: their own key, on one of their credentials.
    Person { user_id: i64 },
    /// The organization: its default key for a state.
    Organization {
        organization_id: i64,
        state: StateCode,
    },
}

impl Holder {
    /// What a sealed key is bound to (the cipher's associated data): it opens only as this holder's key.
    pub fn owner(self) -> String {
        match self {
            Holder::Person { user_id } => format!("user:{user_id}"),
            Holder::Organization {
                organization_id,
                state,
            } => format!("organization:{organization_id}/default/{}", state.code()),
        }
    }
}

/// A stored key, by its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum KeyRef {
    /// A credential's id.
    Credential(i64),
    /// A default key's id.
    Default(i64),
}

impl KeyRef {
    fn table(self) -> &'static str {
        match self {
            KeyRef::Credential(_) => "credentials",
            KeyRef::Default(_) => "default_keys",
        }
    }

    fn id(self) -> i64 {
        match self {
            KeyRef::Credential(id) | KeyRef::Default(id) => id,
        }
    }
}

/// Whose kind of key it is, as an audit record may say it (never whose key by name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClass {
    Person,
    Organization,
}

impl KeyClass {
    pub fn said(self) -> &'static str {
        match self {
            KeyClass::Person => "a person's key",
            KeyClass::Organization => "the organization's default key",
        }
    }
}

/// A METRC key ready to be stored: sealed for its holder, fingerprinted, and its last four characters.
pub struct SealedKey {
    pub sealed: Sealed,
    pub fingerprint: Fingerprint,
    pub last_four: String,
}

/// The columns a sealed key is stored in, in every table that holds one, as `SET` assignments to
/// `$first` … `$first + 4`, in [`SealedKey::bind`]'s order.
pub fn sealed_columns(first: usize) -> String {
    [
        "key_id",
        "key_ciphertext",
        "fingerprint_key_id",
        "key_fingerprint",
        "key_last_four",
    ]
    .iter()
    .enumerate()
    .map(|(i, column)| format!("{column} = ${}", first + i))
    .collect::<Vec<_>>()
    .join(", ")
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl SealedKey {
    /// Binds the five stored values, in the order of [`sealed_columns`].
    pub fn bind(self, query: AnyQuery<'_>) -> AnyQuery<'_> {
        query
            .bind(self.sealed.key_id)
            .bind(self.sealed.ciphertext)
            .bind(self.fingerprint.key_id)
            .bind(self.fingerprint.value)
            .bind(self.last_four)
    }
}

impl std::fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedKey")
            .field("sealed_with", &self.sealed.key_id)
            .field("last_four", &self.last_four)
            .finish_non_exhaustive()
    }
}

/// A stored key this server cannot open: its server key is no longer in `CREDENTIAL_KEYS`, or the row is
/// damaged (logged with the cause when first met). An operator must act; the user did nothing wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stored METRC key cannot be read")]
pub struct Unreadable;

/// The server keys, and what this process has already told operators.
#[derive(Debug)]
pub struct Custody {
    keys: CredentialKeys,
    /// The stored keys found unreadable, each logged once (per process).
    reported: Mutex<HashSet<KeyRef>>,
}

impl Custody {
    pub fn new(keys: CredentialKeys) -> Self {
        Custody {
            keys,
            reported: Mutex::new(HashSet::new()),
        }
    }

    /// Seals a key for its holder under the active server key.
    pub fn seal(&self, holder: Holder, key: &MetrcUserKey) -> SealedKey {
        SealedKey {
            sealed: self.keys.seal(&holder.owner(), key),
            fingerprint: self.keys.fingerprint(key),
            last_four: key.last_four(),
        }
    }

    /// Opens a stored key, to call METRC with it. A key that does not open is logged as an error once
    /// per key, with its row and the server key id it was sealed under (never anything of the key).
    pub fn open(
        &self,
        key_ref: KeyRef,
        holder: Holder,
        sealed: &Sealed,
    ) -> Result<MetrcUserKey, Unreadable> {
        self.keys.open(&holder.owner(), sealed).map_err(|e| {
            metrics::counter!("tc_unreadable_key_reads_total").increment(1);
            let first = self
                .reported
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key_ref);
            if first {
                tracing::error!(
                    key = ?key_ref,
                    sealed_with = %sealed.key_id,
                    error = %e,
                    "a stored METRC key cannot be read: an operator must act (CREDENTIAL_KEYS lacks its server key, or the row is damaged)"
                );
            }
            Unreadable
        })
    }

    /// Opens a stored key without logging (rotation reports its own errors).
    fn open_quietly(&self, holder: Holder, sealed: &Sealed) -> Result<MetrcUserKey, OpenError> {
        self.keys.open(&holder.owner(), sealed)
    }
}

/// Takes the lock every write transaction that stores or destroys a key takes first: the organization's
/// row. Under it, [`holders`] sees every key committed before, and deactivation cannot slip between a
/// save's check of its user and its commit.
pub async fn lock(tx: &mut AnyConnection, organization_id: i64) -> Result<(), sqlx::Error> {
    crate::accounts::lock_organization(tx, organization_id).await
}

/// A place the key is stored in the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub key_ref: KeyRef,
    /// The person holding it, for a credential.
    pub user_id: Option<i64>,
}

/// Every place this METRC key is stored in the organization, found by fingerprint under every configured
/// server key.
pub async fn holders(
    conn: &mut AnyConnection,
    custody: &Custody,
    organization_id: i64,
    key: &MetrcUserKey,
) -> Result<Vec<Stored>, sqlx::Error> {
    let fingerprints = custody.keys.all_fingerprints(key);
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
            Some(user_id) => Stored {
                key_ref: KeyRef::Credential(id),
                user_id: Some(user_id),
            },
            None => Stored {
                key_ref: KeyRef::Default(id),
                user_id: None,
            },
        })
        .collect())
}

/// Why a person may not store a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonConflict {
    /// It is someone else's: another person's, or the organization's default key.
    SomeoneElses(KeyClass),
    /// It is already on another of the person's own credentials (its id).
    OnOwnCredential(i64),
}

/// Whether `user_id` may store a key found at `stored` on their credential `editing` (or a new one).
pub fn for_person(
    stored: &[Stored],
    user_id: i64,
    editing: Option<i64>,
) -> Result<(), PersonConflict> {
    for place in stored {
        match (place.key_ref, place.user_id) {
            (KeyRef::Credential(id), Some(holder)) if holder == user_id => {
                if Some(id) != editing {
                    return Err(PersonConflict::OnOwnCredential(id));
                }
            }
            (KeyRef::Credential(_), _) => {
                return Err(PersonConflict::SomeoneElses(KeyClass::Person));
            }
            (KeyRef::Default(_), _) => {
                return Err(PersonConflict::SomeoneElses(KeyClass::Organization));
            }
        }
    }
    Ok(())
}

/// Whether the organization may store a key found at `stored` as a default key: never a person's own.
pub fn for_organization(stored: &[Stored]) -> Result<(), KeyClass> {
    if stored
        .iter()
        .any(|s| matches!(s.key_ref, KeyRef::Credential(_)))
    {
        return Err(KeyClass::Person);
    }
    Ok(())
}

/// Records a check of a stored key: the status METRC's answer gives (none after an outage: only the
/// time), unless the key changed since `version` was read — then a newer save has its own, newer answer
/// and this one is dropped. Returns whether it wrote. Every status a check finds (the background re-check,
/// the re-check after a refused report) is written here; the only other writer is a save, which stores a
/// key METRC just verified under [`lock`] and the version the user saw.
pub async fn record_check(
    conn: &mut AnyConnection,
    key_ref: KeyRef,
    version: i64,
    status: Option<CredentialStatus>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let table = key_ref.table();
    let done = match status {
        // A key found working again keeps its version: the same key, the same row the user sees.
        Some(CredentialStatus::Verified) => {
            sqlx::query(&format!(
                "UPDATE {table} SET status = $1, verified_at = $2, checked_at = $2 \
                 WHERE id = $3 AND version = $4"
            ))
            .bind(CredentialStatus::Verified.code())
            .bind(now)
            .bind(key_ref.id())
            .bind(version)
            .execute(&mut *conn)
            .await?
        }
        // A status that changes bumps the version: an edit begun before it is then refused as stale.
        Some(status) => {
            sqlx::query(&format!(
                "UPDATE {table} SET checked_at = $2, \
                 version = CASE WHEN status = $1 THEN version ELSE version + 1 END, status = $1 \
                 WHERE id = $3 AND version = $4"
            ))
            .bind(status.code())
            .bind(now)
            .bind(key_ref.id())
            .bind(version)
            .execute(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(&format!(
                "UPDATE {table} SET checked_at = $1 WHERE id = $2 AND version = $3"
            ))
            .bind(now)
            .bind(key_ref.id())
            .bind(version)
            .execute(&mut *conn)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Records that METRC no longer lets a default key reach a license (it refused a report there): the
/// license leaves the key's reach, the key stays working for the others. Guarded like [`record_check`]:
/// only if the key is still at `version`. Returns whether it wrote.
pub async fn record_lost_reach(
    conn: &mut AnyConnection,
    default_key_id: i64,
    version: i64,
    license: &LicenseNumber,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM default_key_reaches WHERE default_key_id = $1 AND license_number = $2 \
         AND EXISTS (SELECT 1 FROM default_keys WHERE id = $1 AND version = $3)",
    )
    .bind(default_key_id)
    .bind(license.as_str())
    .bind(version)
    .execute(conn)
    .await?;
    // Nothing deleted: the key changed, or another check took the license out first. Either way the
    // report is sent again and the table decides with what is stored now.
    Ok(done.rows_affected() == 1)
}

/// Counts a release in the organization's `keys_generation`, taking its row lock. Every release does
/// this first: a report an outbox pass has claimed is pending, not held, so no release can see it; the
/// pass read the count when it claimed, and before it writes a hold for want of a key it takes the same
/// row and, if the count moved, sends the report again instead.
async fn count_release(conn: &mut AnyConnection, organization_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE organizations SET keys_generation = keys_generation + 1 WHERE id = $1")
        .bind(organization_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Which of a user's licenses a release is for.
#[derive(Debug, Clone, Copy)]
pub enum Licenses<'a> {
    /// These (their credential was saved or found working again: its licenses, before and after).
    Only(&'a [i64]),
    /// All (their credential was deleted, or they were deactivated: the key table decides afresh).
    All,
}

/// Puts back in the queue, at once, the user's reports held for want of a usable key at these licenses:
/// their credential was just saved, deleted or found working again, or they were deactivated (the next
/// pass decides again: their credential, the default key, or a hold).
pub async fn release_for_user(
    conn: &mut AnyConnection,
    organization_id: i64,
    user_id: i64,
    licenses: Licenses<'_>,
) -> Result<u64, sqlx::Error> {
    let ids = match licenses {
        Licenses::Only([]) => return Ok(0),
        Licenses::Only(ids) => ids,
        Licenses::All => &[],
    };
    count_release(&mut *conn, organization_id).await?;
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 6)).collect();
    let only = if ids.is_empty() {
        String::new()
    } else {
        format!(" AND license_id IN ({})", list.join(", "))
    };
    let sql = format!(
        "UPDATE reports SET status = $3, held_for = NULL, next_attempt_at = $2 \
         WHERE user_id = $1 AND status = $4 AND held_for = $5{only}"
    );
    let mut query = sqlx::query(&sql)
        .bind(user_id)
        .bind(now_unix())
        .bind(ReportStatus::Pending.code())
        .bind(ReportStatus::Held.code())
        .bind(HeldFor::Key.code());
    for id in ids {
        query = query.bind(*id);
    }
    Ok(query.execute(conn).await?.rows_affected())
}

/// Puts back in the queue, at once, the organization's reports in a state held for want of a key: a
/// default key was just set there, or found working again. (A report whose user's own credential is
/// invalid is held again by the next pass: the default key is never used in place of a person's own.)
pub async fn release_in_state(
    conn: &mut AnyConnection,
    organization_id: i64,
    state: StateCode,
) -> Result<u64, sqlx::Error> {
    count_release(&mut *conn, organization_id).await?;
    Ok(sqlx::query(
        "UPDATE reports SET status = $4, held_for = NULL, next_attempt_at = $3 \
         WHERE organization_id = $1 AND status = $5 AND held_for = $6 \
         AND license_id IN (SELECT id FROM licenses WHERE organization_id = $1 AND state = $2)",
    )
    .bind(organization_id)
    .bind(state.code())
    .bind(now_unix())
    .bind(ReportStatus::Pending.code())
    .bind(ReportStatus::Held.code())
    .bind(HeldFor::Key.code())
    .execute(conn)
    .await?
    .rows_affected())
}

/// Puts back in the queue every report held because its key could not be read: an operator fixes that by
/// restarting with the missing server key, so each start tries them again (one still unreadable is held
/// again, and logged once). Each organization concerned is released on its own (counted, then released),
/// in the order of their ids.
pub async fn release_unreadable(conn: &mut AnyConnection) -> Result<u64, sqlx::Error> {
    let organizations: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT organization_id FROM reports WHERE status = $1 AND held_for = $2 AND reason = $3 \
         ORDER BY organization_id",
    )
    .bind(ReportStatus::Held.code())
    .bind(HeldFor::Key.code())
    .bind(reasons::KEY_UNREADABLE)
    .fetch_all(&mut *conn)
    .await?;
    let mut released = 0;
    for organization_id in organizations {
        count_release(&mut *conn, organization_id).await?;
        released += sqlx::query(
            "UPDATE reports SET status = $1, held_for = NULL, next_attempt_at = $2 \
             WHERE organization_id = $6 AND status = $3 AND held_for = $4 AND reason = $5",
        )
        .bind(ReportStatus::Pending.code())
        .bind(now_unix())
        .bind(ReportStatus::Held.code())
        .bind(HeldFor::Key.code())
        .bind(reasons::KEY_UNREADABLE)
        .bind(organization_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    }
    Ok(released)
}

/// What [`store_default_key`] stores.
#[derive(Debug)]
pub struct DefaultKeyWrite<'a> {
    pub organization_id: i64,
    pub state: StateCode,
    pub key: &'a MetrcUserKey,
    /// The license numbers METRC said the key reaches.
    pub reached: &'a [String],
    pub admin_id: i64,
    /// The row replaced, if the state has a default key already.
    pub existing: Option<i64>,
}

/// Stores a verified default key, sealed for the organization and the state and fingerprinted, with the
/// license numbers it reaches, inside the caller's transaction (which holds [`lock`] and has checked
/// [`for_organization`]). Returns the row's id.
pub async fn store_default_key(
    tx: &mut AnyConnection,
    custody: &Custody,
    write: DefaultKeyWrite<'_>,
) -> Result<i64, sqlx::Error> {
    let holder = Holder::Organization {
        organization_id: write.organization_id,
        state: write.state,
    };
    let sealed = custody.seal(holder, write.key);
    let now = now_unix();
    let verified = CredentialStatus::Verified.code();
    let id: i64 = match write.existing {
        None => sealed
            .bind(sqlx::query(
                "INSERT INTO default_keys (key_id, key_ciphertext, fingerprint_key_id, key_fingerprint, \
                 key_last_four, organization_id, provider, state, status, verified_at, checked_at, version, \
                 updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'metrc', $7, $8, $9, $9, 1, $10, $9) RETURNING id",
            ))
            .bind(write.organization_id)
            .bind(write.state.code())
            .bind(verified)
            .bind(now)
            .bind(write.admin_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?,
        Some(id) => {
            let sql = format!(
                "UPDATE default_keys SET {}, status = $6, verified_at = $7, checked_at = $7, \
                 updated_at = $7, updated_by = $8, version = version + 1 WHERE id = $9",
                sealed_columns(1)
            );
            sealed
                .bind(sqlx::query(&sql))
                .bind(verified)
                .bind(now)
                .bind(write.admin_id)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            id
        }
    };
    let mut numbers: Vec<String> = write.reached.to_vec();
    numbers.sort_unstable();
    numbers.dedup();
    write_reaches(tx, id, &numbers).await?;
    Ok(id)
}

/// Replaces the license numbers a default key reaches.
async fn write_reaches(
    tx: &mut AnyConnection,
    default_key_id: i64,
    numbers: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM default_key_reaches WHERE default_key_id = $1")
        .bind(default_key_id)
        .execute(&mut *tx)
        .await?;
    if numbers.is_empty() {
        return Ok(());
    }
    let rows: Vec<String> = (0..numbers.len())
        .map(|i| format!("($1, ${})", i + 2))
        .collect();
    let sql = format!(
        "INSERT INTO default_key_reaches (default_key_id, license_number) VALUES {}",
        rows.join(", ")
    );
    let mut insert = sqlx::query(&sql).bind(default_key_id);
    for n in numbers {
        insert = insert.bind(n.as_str());
    }
    insert.execute(&mut *tx).await?;
    Ok(())
}

//! `server rotate-credential-keys`: re-encrypts (and re-fingerprints) every stored METRC key that is not
//! under the active server key, in every table that holds one ([`SEALED_TABLES`]). After it, the older
//! server keys can be removed from `CREDENTIAL_KEYS`.

use super::{Custody, Holder};
use crate::crypto::{OpenError, Sealed};
use crate::db::Db;
use shared::StateCode;

/// A table holding sealed METRC keys (columns `key_id`, `key_ciphertext`, `fingerprint_key_id`,
/// `key_fingerprint`, `version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedTable {
    /// People's keys; the holder is the row's `user_id`.
    Credentials,
    /// The organization's default keys; the holder is the row's organization and state.
    DefaultKeys,
}

/// Every table that holds a sealed key. A test compares it with the schema: a new table with a
/// `key_ciphertext` column that is not here fails it.
pub const SEALED_TABLES: [SealedTable; 2] = [SealedTable::Credentials, SealedTable::DefaultKeys];

impl SealedTable {
    pub fn name(self) -> &'static str {
        match self {
            SealedTable::Credentials => "credentials",
            SealedTable::DefaultKeys => "default_keys",
        }
    }

    /// The rows not under the active server key: id, holder (user or organization id), state, sealed key,
    /// version.
    fn stale_rows(self) -> &'static str {
        match self {
            SealedTable::Credentials => {
                "SELECT id, user_id, state, key_id, key_ciphertext, version FROM credentials \
                 WHERE key_id <> $1 OR fingerprint_key_id <> $1"
            }
            SealedTable::DefaultKeys => {
                "SELECT id, organization_id, state, key_id, key_ciphertext, version FROM default_keys \
                 WHERE key_id <> $1 OR fingerprint_key_id <> $1"
            }
        }
    }

    fn holder(self, state: &str, holder: i64) -> Result<Holder, OpenError> {
        Ok(match self {
            SealedTable::Credentials => Holder::Person { user_id: holder },
            SealedTable::DefaultKeys => Holder::Organization {
                organization_id: holder,
                state: StateCode::parse(state).map_err(|_| OpenError::Corrupt)?,
            },
        })
    }
}

/// How many stored keys [`rotate`] re-encrypted, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotated {
    pub credentials: u64,
    pub default_keys: u64,
}

impl Rotated {
    pub fn total(self) -> u64 {
        self.credentials + self.default_keys
    }
}

/// Re-encrypts every stored key that is not under the active server key. Each row is rewritten in its own
/// short statement, guarded by its version; a row changed meanwhile is picked up by the next pass if it
/// still needs it. A row that does not open is passed over, so one damaged row never leaves the others
/// (the default keys, say) under the old server key: the rotation finishes every other row, then fails
/// naming the rows it could not read.
///
/// Every server must already run with the new key in `CREDENTIAL_KEYS` (first, the old one after it)
/// before this runs: a server that only knows the old key can neither open nor recognise a key sealed
/// under the new one.
pub async fn rotate(db: &Db, custody: &Custody) -> Result<Rotated, RotateError> {
    let mut rotated = Rotated::default();
    let mut unreadable: Vec<(&'static str, i64)> = Vec::new();
    for _pass in 0..ROTATION_PASSES {
        let mut left = 0;
        for table in SEALED_TABLES {
            let rows: Vec<Row> = sqlx::query_as(table.stale_rows())
                .bind(custody.keys.active_id())
                .fetch_all(&db.pool)
                .await?;
            let rows: Vec<Row> = rows
                .into_iter()
                .filter(|row| !unreadable.contains(&(table.name(), row.0)))
                .collect();
            left += rows.len();
            let done = rotate_rows(db, custody, table, rows, &mut unreadable).await?;
            match table {
                SealedTable::Credentials => rotated.credentials += done,
                SealedTable::DefaultKeys => rotated.default_keys += done,
            }
        }
        if left == 0 {
            return if unreadable.is_empty() {
                Ok(rotated)
            } else {
                Err(RotateError::Unreadable {
                    rotated,
                    unreadable,
                })
            };
        }
    }
    Err(RotateError::KeptChanging)
}

const ROTATION_PASSES: usize = 5;

type Row = (i64, i64, String, String, String, i64);

async fn rotate_rows(
    db: &Db,
    custody: &Custody,
    table: SealedTable,
    rows: Vec<Row>,
    unreadable: &mut Vec<(&'static str, i64)>,
) -> Result<u64, RotateError> {
    let mut count = 0;
    for (id, holder, state, key_id, ciphertext, version) in rows {
        let opened = table.holder(&state, holder).and_then(|holder| {
            custody
                .open_quietly(holder, &Sealed { key_id, ciphertext })
                .map(|key| (holder, key))
        });
        let (holder, key) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                tracing::error!(table = table.name(), id, error = %e, "a stored key cannot be read: it stays as it is");
                unreadable.push((table.name(), id));
                continue;
            }
        };
        let sql = format!(
            "UPDATE {} SET {}, version = version + 1 WHERE id = $6 AND version = $7",
            table.name(),
            super::sealed_columns(1)
        );
        let done = custody
            .seal(holder, &key)
            .bind(sqlx::query(&sql))
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
    #[error(
        "every other stored key was re-encrypted ({} in all), but these rows cannot be read with CREDENTIAL_KEYS and were left as they are: {}",
        rotated.total(),
        unreadable.iter().map(|(t, id)| format!("{t} {id}")).collect::<Vec<_>>().join(", ")
    )]
    Unreadable {
        rotated: Rotated,
        unreadable: Vec<(&'static str, i64)>,
    },
    #[error("stored keys kept changing during {ROTATION_PASSES} passes; run the rotation again")]
    KeptChanging,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

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

    fn holder(self, id: i64, holder: i64, state: &str) -> Result<Holder, RotateError> {
        Ok(match self {
            SealedTable::Credentials => Holder::Person { user_id: holder },
            SealedTable::DefaultKeys => Holder::Organization {
                organization_id: holder,
                state: StateCode::parse(state).map_err(|_| RotateError::Open {
                    table: self.name(),
                    id,
                    source: OpenError::Corrupt,
                })?,
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
/// short statement, guarded by its version, so servers can keep serving while it runs; a row changed
/// meanwhile is picked up by the next pass if it still needs it.
pub async fn rotate(db: &Db, custody: &Custody) -> Result<Rotated, RotateError> {
    let mut rotated = Rotated::default();
    for _pass in 0..ROTATION_PASSES {
        let mut left = 0;
        for table in SEALED_TABLES {
            let rows: Vec<Row> = sqlx::query_as(table.stale_rows())
                .bind(custody.keys.active_id())
                .fetch_all(&db.pool)
                .await?;
            left += rows.len();
            let done = rotate_rows(db, custody, table, rows).await?;
            match table {
                SealedTable::Credentials => rotated.credentials += done,
                SealedTable::DefaultKeys => rotated.default_keys += done,
            }
        }
        if left == 0 {
            return Ok(rotated);
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
) -> Result<u64, RotateError> {
    let mut count = 0;
    for (id, holder, state, key_id, ciphertext, version) in rows {
        let holder = table.holder(id, holder, &state)?;
        let key = custody
            .open_quietly(holder, &Sealed { key_id, ciphertext })
            .map_err(|source| RotateError::Open {
                table: table.name(),
                id,
                source,
            })?;
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
    #[error("{table} row {id} could not be decrypted: {source}")]
    Open {
        table: &'static str,
        id: i64,
        source: OpenError,
    },
    #[error("stored keys kept changing during {ROTATION_PASSES} passes; run the rotation again")]
    KeptChanging,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

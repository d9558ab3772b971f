//! Demo mode (`--demo`): the fixed organization, licenses and users the README lists.
//!
//! Seeding is idempotent: it looks for the demo admin and does nothing if the organization is there, so
//! restarting the demo keeps whatever was changed in it. It never runs outside demo mode.

use crate::accounts::{self, NewUser};
use crate::crypto::CredentialKeys;
use crate::db::Db;
use crate::licenses::{self, NewLicense};
use shared::{Email, LicenseNumber, MetrcUserKey, Provider, Role, StateCode};

pub const ORGANIZATION: &str = "Demo Cannabis Co.";
pub const PASSWORD: &str = "demo-password-1";
pub const ADMIN_EMAIL: &str = "admin@demo.test";
pub const STAFF_EMAIL: &str = "staff@demo.test";

/// The organization's default METRC key for Colorado: the simulator's Colorado manager key
/// (`metrc-sim --seed demo`), which reaches both Colorado licenses.
pub const CO_DEFAULT_KEY: &str = "demo-co-manager-00000000000000000000000000000005";
const CO_DEFAULT_KEY_REACHES: [&str; 2] = ["402R-00101", "402R-00102"];

const USERS: [(&str, &str, Role); 2] = [
    (ADMIN_EMAIL, "Avery Admin", Role::Admin),
    (STAFF_EMAIL, "Sam Staff", Role::Staff),
];

/// (number, state, name, type, time zone)
const LICENSES: [(&str, &str, &str, &str, &str); 3] = [
    (
        "402R-00101",
        "CO",
        "Denver – Colfax Ave",
        "Retail Marijuana Store",
        "America/Denver",
    ),
    (
        "402R-00102",
        "CO",
        "Boulder – Pearl St",
        "Retail Marijuana Store",
        "America/Denver",
    ),
    (
        "MR281001",
        "MA",
        "Boston – Newbury St",
        "Marijuana Retailer",
        "America/New_York",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("demo data is malformed: {0}")]
    Malformed(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    License(#[from] licenses::LicenseError),
    #[error("could not hash the demo password: {0}")]
    Hash(String),
}

/// Seeds the demo organization unless it is already there. Returns whether it seeded.
pub async fn seed(db: &Db, keys: &CredentialKeys) -> Result<bool, SeedError> {
    let admin = Email::parse(ADMIN_EMAIL).map_err(|e| SeedError::Malformed(e.to_string()))?;
    if accounts::find_for_sign_in(db, &admin).await?.is_some() {
        return Ok(false);
    }
    let password_hash = crate::passwords::hash(PASSWORD.to_owned())
        .await
        .map_err(|e| SeedError::Hash(e.to_string()))?;

    // One transaction: a crash half-way leaves no half-seeded demo behind.
    let mut tx = db.pool.begin().await?;
    let organization_id = accounts::create_organization(&mut tx, ORGANIZATION).await?;
    for (number, state, name, license_type, zone) in LICENSES {
        let malformed = |e: &dyn std::fmt::Display| SeedError::Malformed(format!("{number}: {e}"));
        let number = LicenseNumber::parse(number).map_err(|e| malformed(&e))?;
        let state = StateCode::parse(state).map_err(|e| malformed(&e))?;
        licenses::create(
            &mut tx,
            NewLicense {
                organization_id,
                number: &number,
                state,
                display_name: name,
                license_type,
                provider: Provider::Metrc,
                time_zone: Some(zone),
            },
        )
        .await?;
    }
    let mut admin_id = None;
    for (email, display_name, role) in USERS {
        let email = Email::parse(email).map_err(|e| SeedError::Malformed(e.to_string()))?;
        let id = accounts::create_user(
            &mut tx,
            NewUser {
                organization_id,
                email: &email,
                display_name,
                role,
                password_hash: Some(&password_hash),
            },
        )
        .await?;
        if role == Role::Admin {
            admin_id = Some(id);
        }
    }
    let admin_id = admin_id.ok_or_else(|| SeedError::Malformed("no demo admin".into()))?;
    seed_default_key(&mut tx, keys, organization_id, admin_id).await?;
    tx.commit().await?;
    Ok(true)
}

/// The Colorado default key, stored as Config Page > Integration stores one, with the licenses the
/// simulator's demo world lets it reach (the seed does not call METRC: the simulator may not be up yet).
async fn seed_default_key(
    tx: &mut sqlx::AnyConnection,
    keys: &CredentialKeys,
    organization_id: i64,
    admin_id: i64,
) -> Result<(), SeedError> {
    let malformed = |e: &dyn std::fmt::Display| SeedError::Malformed(e.to_string());
    let key = MetrcUserKey::parse(CO_DEFAULT_KEY).map_err(|e| malformed(&e))?;
    let reached = CO_DEFAULT_KEY_REACHES.map(str::to_owned);
    crate::keys::store_default_key(
        tx,
        &crate::keys::Custody::new(keys.clone()),
        crate::keys::DefaultKeyWrite {
            organization_id,
            state: StateCode::parse("CO").map_err(|e| malformed(&e))?,
            key: &key,
            reached: &reached,
            admin_id,
            existing: None,
        },
    )
    .await?;
    Ok(())
}

//! Organizations and users: the rows behind sign-in and the current user.

use crate::db::{Db, now_unix};
use shared::api::{Me, OrganizationView, UserView};
use shared::{Email, Role};

/// A user as stored, with their organization's name.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub organization_id: i64,
    pub organization_name: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
}

impl User {
    pub fn me(&self) -> Me {
        Me {
            user: UserView {
                id: self.id,
                email: self.email.clone(),
                display_name: self.display_name.clone(),
                initials: shared::user::initials(&self.display_name),
                role: self.role,
            },
            organization: OrganizationView {
                id: self.organization_id,
                name: self.organization_name.clone(),
            },
        }
    }
}

/// The columns [`User::from_row`] reads, for queries that join `users u` with `organizations o`.
/// Booleans are selected as 0/1 integers: sqlx's `Any` driver cannot decode SQLite's BOOLEAN.
pub const USER_COLUMNS: &str = "u.id, u.organization_id, o.name AS organization_name, u.email, \
     u.display_name, u.role, CASE WHEN u.active THEN 1 ELSE 0 END AS active";

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for User {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        let role: String = row.try_get("role")?;
        Ok(User {
            id: row.try_get("id")?,
            organization_id: row.try_get("organization_id")?,
            organization_name: row.try_get("organization_name")?,
            email: row.try_get("email")?,
            display_name: row.try_get("display_name")?,
            role: Role::from_code(&role)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown role {role:?}").into()))?,
            active: row.try_get::<i64, _>("active")? != 0,
        })
    }
}

/// A user found by email, with the password hash sign-in checks (never shown by `Debug`).
pub struct SignInCandidate {
    pub user: User,
    pub password_hash: Option<String>,
}

impl std::fmt::Debug for SignInCandidate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInCandidate")
            .field("user", &self.user)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

pub async fn find_for_sign_in(
    db: &Db,
    email: &Email,
) -> Result<Option<SignInCandidate>, sqlx::Error> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
         JOIN organizations o ON o.id = u.organization_id WHERE u.email = $1"
    );
    let row: Option<sqlx::any::AnyRow> = sqlx::query(&sql)
        .bind(email.as_str())
        .fetch_optional(&db.pool)
        .await?;
    row.map(|row| {
        use sqlx::{FromRow, Row};
        Ok(SignInCandidate {
            user: User::from_row(&row)?,
            password_hash: row.try_get("password_hash")?,
        })
    })
    .transpose()
}

/// Creates an organization and returns its id.
pub async fn create_organization(
    conn: &mut sqlx::AnyConnection,
    name: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("INSERT INTO organizations (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(now_unix())
        .fetch_one(conn)
        .await
}

/// What it takes to add a user. Its `Debug` never shows the password hash.
pub struct NewUser<'a> {
    pub organization_id: i64,
    pub email: &'a Email,
    pub display_name: &'a str,
    pub role: Role,
    pub password_hash: Option<&'a str>,
}

impl std::fmt::Debug for NewUser<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("organization_id", &self.organization_id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("role", &self.role)
            .field("password_hash", &self.password_hash.map(|_| "[redacted]"))
            .finish()
    }
}

/// Adds a user and returns their id; a taken email is a unique violation.
pub async fn create_user(
    conn: &mut sqlx::AnyConnection,
    user: NewUser<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO users (organization_id, email, display_name, role, active, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, TRUE, $5, $6) RETURNING id",
    )
    .bind(user.organization_id)
    .bind(user.email.as_str())
    .bind(user.display_name)
    .bind(user.role.code())
    .bind(user.password_hash)
    .bind(now_unix())
    .fetch_one(conn)
    .await
}

/// Takes a user's row lock for the rest of the transaction (PostgreSQL; SQLite's `BEGIN IMMEDIATE`
/// already serializes writers): a session is only started, and sessions are only ended for a password
/// change or "sign out everywhere", under it, so a sign-in whose password was checked just before a
/// change cannot slip a session in after the change ended them.
pub async fn lock_user(tx: &mut sqlx::AnyConnection, user_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET active = active WHERE id = $1")
        .bind(user_id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Serializes changes within one organization: the first statement of a write transaction takes the
/// organization's row lock (PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serializes writers), so checks
/// such as "at least one active admin" or "nobody else holds this METRC key" cannot be raced. Admin
/// changes and every write that stores or destroys a METRC key (`keys::lock`) take it.
pub async fn lock_organization(
    tx: &mut sqlx::AnyConnection,
    organization_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE organizations SET name = name WHERE id = $1")
        .bind(organization_id)
        .execute(tx)
        .await?;
    Ok(())
}

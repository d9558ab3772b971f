//! The database: SQLite (the embedded default) or PostgreSQL (production), behind one pool.
//!
//! Queries are plain runtime SQL written once for both backends through sqlx's `Any` driver: `$1`
//! placeholders (SQLite accepts them too), `BIGINT` ids, unix-second timestamps, `TEXT` and `BOOLEAN`.
//! Where the two dialects differ, the schema does the work (per-backend migrations with the same file
//! names under `migrations/sqlite` and `migrations/postgres`), not the queries.

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::time::Duration;

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The pool and which backend it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with sqlite: or postgres:// (it starts with {0:?})")]
    UnknownScheme(String),
    #[error("could not create the folder for the SQLite database {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("could not connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("could not apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Connects (creating a SQLite file and its folder if needed) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Db, DbError> {
        install_default_drivers();
        let backend = Backend::of_url(url)
            .ok_or_else(|| DbError::UnknownScheme(url.chars().take(12).collect()))?;
        let mut options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            create_sqlite_dir(url)?;
            // WAL lets readers proceed during a write; foreign keys are off by default in SQLite;
            // every commit reaches the disk before it is acknowledged (durable, also in WAL mode);
            // a busy connection waits for the lock instead of failing at once.
            options = options.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;")
                        .await?;
                    Ok(())
                })
            });
        } else {
            options = options.max_connections(16);
        }
        let pool = options.connect(url).await.map_err(DbError::Connect)?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Db { pool, backend })
    }

    /// Whether every migration this build carries is applied (a server of an older build may have
    /// migrated the database less far, or a newer one further).
    pub async fn migrations_current(&self) -> Result<bool, sqlx::Error> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let expected = migrator.iter().map(|m| m.version).max();
        let applied: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(applied == expected)
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a transaction that read first and then tried to write could otherwise fail
    /// with "busy" instead of waiting its turn.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

/// The file of a SQLite URL: `sqlite://data/x.db?mode=rwc` → `data/x.db`; `None` for another database or
/// an in-memory one.
pub fn sqlite_path(url: &str) -> Option<String> {
    if Backend::of_url(url) != Some(Backend::Sqlite) {
        return None;
    }
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| path.to_owned())
}

/// `sqlite://data/x.db?mode=rwc` → makes sure `data/` exists.
fn create_sqlite_dir(url: &str) -> Result<(), DbError> {
    let Some(path) = sqlite_path(url) else {
        return Ok(());
    };
    match std::path::Path::new(&path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| DbError::CreateDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Seconds since the Unix epoch: how every timestamp is stored.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Whether an error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// Whether an error means a concurrent transaction won: a uniqueness violation, SQLite's "busy" or
/// "locked" after the busy timeout, or a PostgreSQL serialization failure or deadlock.
pub fn is_lost_race(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => {
            e.is_unique_violation()
                || matches!(
                    e.code().as_deref(),
                    Some("5" | "6" | "517" | "262" | "40001" | "40P01")
                )
        }
        _ => false,
    }
}

/// Reads a text column through a parser (a code into its enum, a number into its type); a value the
/// parser refuses is a decode error, never silently dropped.
pub fn decode<T>(
    row: &sqlx::any::AnyRow,
    column: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, sqlx::Error> {
    use sqlx::Row;
    let raw: String = row.try_get(column)?;
    parse(&raw).ok_or_else(|| sqlx::Error::Decode(format!("{column} {raw:?} is not known").into()))
}

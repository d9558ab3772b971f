//! Attempt limits, counted in the database so that they hold across server processes.
//!
//! Sign-in failures are counted per account (the email tried, known or not, so the answer reveals
//! nothing) and per client address (an IPv6 client per /64) over a sliding window, reserved before the
//! password is checked; a successful sign-in gives its reservation back and clears the account's count. Verify & Save attempts (each one a METRC call) are counted per user over a minute.

use crate::config::SignInLimits;
use crate::db::{Backend, Db, now_unix};
use crate::error::AppError;
use shared::Email;

/// A failed sign-in counted in advance: the attempt holds it while its password is checked, and gives it
/// back when the password was right.
#[derive(Debug)]
#[must_use = "a reserved failure stays counted unless released"]
pub struct FailureSlot(i64);

/// Reserves one failed attempt for the account (the email tried) and the client address before the
/// password is checked, or refuses the attempt when either count is at its limit, saying when to try
/// again. Counting and reserving are one transaction that holds the two counts' locks (PostgreSQL: a
/// transaction lock per account and per address; SQLite: the write lock), so N simultaneous attempts
/// check at most the limit's worth of passwords.
pub async fn reserve_sign_in_failure(
    db: &Db,
    limits: &SignInLimits,
    email: &Email,
    address: &str,
) -> Result<FailureSlot, AppError> {
    let now = now_unix();
    let window = i64::try_from(limits.window.as_secs()).unwrap_or(i64::MAX);
    let since = now - window;
    let mut tx = db.begin_write().await?;
    let mut locks = [
        format!("sign-in failures of account {}", email.as_str()),
        format!("sign-in failures of address {address}"),
    ];
    locks.sort();
    if db.backend == Backend::Postgres {
        for lock in &locks {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                .bind(lock)
                .execute(&mut *tx)
                .await?;
        }
    }
    for (column, value, limit) in [
        ("email", email.as_str(), limits.per_account),
        ("address", address, limits.per_address),
    ] {
        // The column name comes from the fixed list above, never from input.
        let sql = format!(
            "SELECT COUNT(*), MIN(failed_at) FROM sign_in_failures WHERE {column} = $1 AND failed_at > $2"
        );
        let (count, oldest): (i64, Option<i64>) = sqlx::query_as(&sql)
            .bind(value)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
        if count >= i64::from(limit) {
            let wait_secs = oldest.map_or(window, |t| t + window - now).max(1);
            let minutes = (wait_secs + 59) / 60;
            let plural = if minutes == 1 { "" } else { "s" };
            metrics::counter!("tc_sign_in_lockouts_total", "by" => if column == "email" { "account" } else { "address" })
                .increment(1);
            return Err(AppError::RateLimited(if column == "email" {
                format!(
                    "Too many failed sign-in attempts for this account. Try again in {minutes} \
                     minute{plural}, or ask your administrator for a password reset link: with it you \
                     choose a new password and can sign in at once."
                )
            } else {
                format!(
                    "Too many failed sign-in attempts from this network. Try again in {minutes} \
                     minute{plural}."
                )
            }));
        }
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sign_in_failures (email, address, failed_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(email.as_str())
    .bind(address)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM sign_in_failures WHERE failed_at <= $1")
        .bind(since)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(FailureSlot(id))
}

/// The password was right: the reserved failure is given back, and the account's earlier failures are
/// forgotten.
pub async fn release_sign_in_failure(
    db: &Db,
    slot: FailureSlot,
    email: &Email,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sign_in_failures WHERE id = $1 OR email = $2")
        .bind(slot.0)
        .bind(email.as_str())
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The address sign-in failures are counted under: an IPv4 address as it is; an IPv6 client by its /64
/// (one subscriber usually holds a whole /64, so counting single addresses would not limit anyone), and an
/// IPv4-mapped IPv6 address as the IPv4 address it is.
pub fn counted_address(ip: std::net::IpAddr) -> String {
    match ip {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// Counts a Verify & Save attempt of a user, or refuses it when the user made `per_minute` in the last
/// minute. The count and the new row are one statement (on PostgreSQL inside a transaction holding the
/// user's advisory lock, so simultaneous attempts cannot all count the same rows).
///
/// On SQLite the attempt is committed without waiting for the disk (`synchronous = NORMAL` around this
/// one statement; WAL keeps it atomic, and the save's durable commit carries it to disk). A power cut may
/// forget the last few attempts, which costs nothing, and it spares Verify & Save one of its two disk
/// flushes (measured: about 1 ms of its 2.3 ms median here, and most of its tail).
pub async fn check_verify(db: &Db, per_minute: u32, user_id: i64) -> Result<(), AppError> {
    let sqlite = db.backend == crate::db::Backend::Sqlite;
    let mut guard = NonDurable {
        conn: Some(db.pool.acquire().await?),
        restored: !sqlite,
    };
    let Some(conn) = guard.conn.as_mut() else {
        return Err(AppError::Internal("the connection went missing".into()));
    };
    if sqlite {
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut **conn)
            .await?;
    }
    let now = now_unix();
    let counted = if sqlite {
        count_verify_attempt(conn, per_minute, user_id, now).await
    } else {
        // PostgreSQL runs the statement on a snapshot taken when it starts: without a lock, simultaneous
        // attempts would all count the same rows and all get in.
        let mut tx = sqlx::Connection::begin(&mut **conn).await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(format!("verify attempts of user {user_id}"))
            .execute(&mut *tx)
            .await?;
        let counted = count_verify_attempt(&mut tx, per_minute, user_id, now).await;
        tx.commit().await?;
        counted
    };
    if sqlite {
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut **conn)
            .await?;
        guard.restored = true;
    }
    if counted?.rows_affected() == 0 {
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(attempted_at) FROM verify_attempts WHERE user_id = $1 AND attempted_at > $2",
        )
        .bind(user_id)
        .bind(now - 60)
        .fetch_one(&mut **conn)
        .await?;
        let wait = oldest.map_or(60, |t| t + 60 - now).max(1);
        return Err(AppError::RateLimited(format!(
            "Too many Verify & Save attempts. Wait {wait} seconds and try again; nothing was saved."
        )));
    }
    Ok(())
}

/// Counts one Verify & Save attempt unless the user made `per_minute` in the last minute; the rows it
/// inserted (0 when refused).
async fn count_verify_attempt(
    conn: &mut sqlx::AnyConnection,
    per_minute: u32,
    user_id: i64,
    now: i64,
) -> Result<sqlx::any::AnyQueryResult, sqlx::Error> {
    sqlx::query(
        "INSERT INTO verify_attempts (user_id, attempted_at) SELECT $1, $2 \
         WHERE (SELECT COUNT(*) FROM verify_attempts WHERE user_id = $1 AND attempted_at > $3) < $4",
    )
    .bind(user_id)
    .bind(now)
    .bind(now - 60)
    .bind(i64::from(per_minute))
    .execute(conn)
    .await
}

/// A pooled connection that may have disk flushes switched off: unless they were switched back on, it
/// is closed instead of returned to the pool (also when the request is cancelled half-way).
struct NonDurable {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
    restored: bool,
}

impl Drop for NonDurable {
    fn drop(&mut self) {
        if !self.restored
            && let Some(conn) = self.conn.take()
        {
            drop(conn.detach());
        }
    }
}

/// Forgets Verify & Save attempts older than the minute the limit looks at.
pub async fn prune_verify_attempts(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM verify_attempts WHERE attempted_at <= $1")
        .bind(now_unix() - 60)
        .execute(&db.pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::counted_address;

    #[test]
    fn ipv6_clients_are_counted_by_their_64_and_mapped_ipv4_as_ipv4() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("an address");
        assert_eq!(counted_address(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(
            counted_address(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            counted_address(ip("2001:db8:1:2::1")),
            counted_address(ip("2001:db8:1:2:ffff::9"))
        );
        assert_ne!(
            counted_address(ip("2001:db8:1:2::1")),
            counted_address(ip("2001:db8:1:3::1"))
        );
        assert_eq!(counted_address(ip("::ffff:198.51.100.4")), "198.51.100.4");
    }
}

//! The accountability counts: each report's day, and the counts per day that the rate, the chart and the
//! ranking read.
//!
//! The database keeps the counts itself: triggers on `reports` (migration 0011) append a `report_deltas`
//! row for every change of a report's bucket (+1 for the new, -1 for the old), in the transaction that
//! changes it — no code path that writes a status can forget them, and no writer ever waits on a shared
//! counter row. This task [`fold`]s those rows into `report_days` (per organization, day, license and
//! bucket; per user for the default key) every few seconds; a reader adds the rows not folded yet, in the
//! same statement, so what it reads is exact at every moment.
//!
//! A report's day is written when it is recorded (the license's time zone, `jiff`); [`backfill`] gives one
//! to any report without (recorded before migration 0011, or by an older build still running beside this
//! one on PostgreSQL), and the trigger counts it then.

use crate::AppState;
use crate::db::Db;
use shared::accountability::{Bucket, Counts};
use sqlx::Row;
use std::collections::BTreeMap;
use std::time::Duration;

/// How often the deltas are folded and days given.
pub const EVERY: Duration = Duration::from_secs(5);

/// How many delta rows one fold transaction takes.
const FOLD_BATCH: i64 = 5_000;

/// How many reports one backfill transaction dates.
const BACKFILL_BATCH: i64 = 1_000;

/// The license-local date of a moment, `YYYY-MM-DD`. An unknown zone is an error, never a guess.
pub fn day_of(at_unix: i64, time_zone: &str) -> Result<String, String> {
    let at = jiff::Timestamp::from_second(at_unix).map_err(|e| format!("time {at_unix}: {e}"))?;
    let zoned = at
        .in_tz(time_zone)
        .map_err(|e| format!("time zone {time_zone:?}: {e}"))?;
    Ok(zoned.date().to_string())
}

/// Folds and dates until the task is dropped, a batch at a time with a heartbeat after each (a first
/// backfill of a large database takes many batches).
pub async fn run(state: AppState) {
    let beat = || state.heartbeats.tally.beat_within(EVERY * 6);
    loop {
        beat();
        let mut after = 0;
        loop {
            match backfill_batch(&state.db, after).await {
                Ok(Some((last, _))) => after = last,
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "reports could not be given their day");
                    break;
                }
            }
            beat();
        }
        loop {
            match fold_batch(&state.db).await {
                Ok(0) => break,
                Ok(_) => beat(),
                Err(e) => {
                    tracing::error!(error = %e, "the accountability counts could not be folded");
                    break;
                }
            }
        }
        state.heartbeats.tally.beat_within(EVERY);
        tokio::time::sleep(EVERY).await;
    }
}

/// Gives every report without a day its day; returns how many. A report whose license's zone is unknown
/// is left without one (and logged): it is not counted until the zone is fixed.
pub async fn backfill(db: &Db) -> Result<u64, sqlx::Error> {
    let mut dated = 0;
    let mut after = 0_i64;
    while let Some((last, n)) = backfill_batch(db, after).await? {
        after = last;
        dated += n;
    }
    Ok(dated)
}

/// Dates the next batch of reports without a day after report `after`: the last id looked at and how many
/// were dated, or `None` when there are none left.
async fn backfill_batch(db: &Db, after: i64) -> Result<Option<(i64, u64)>, sqlx::Error> {
    let mut dated = 0;
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT r.id, r.recorded_at, l.time_zone FROM reports r JOIN licenses l ON l.id = r.license_id \
         WHERE r.recorded_on IS NULL AND r.id > $1 ORDER BY r.id LIMIT $2",
    )
    .bind(after)
    .bind(BACKFILL_BATCH)
    .fetch_all(&db.pool)
    .await?;
    let Some(&(last, _, _)) = rows.last() else {
        return Ok(None);
    };
    let mut tx = db.begin_write().await?;
    for (id, recorded_at, zone) in &rows {
        match day_of(*recorded_at, zone) {
            Ok(day) => {
                dated += sqlx::query(
                    "UPDATE reports SET recorded_on = $1 WHERE id = $2 AND recorded_on IS NULL",
                )
                .bind(day)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            Err(e) => {
                tracing::error!(report_id = id, error = %e, "a report's day cannot be known")
            }
        }
    }
    tx.commit().await?;
    Ok(Some((last, dated)))
}

/// One folded count's key: organization, day, license, bucket, user (0 but for the default key).
type DayKey = (i64, String, i64, String, i64);

/// Moves every delta row into `report_days`; returns how many rows it moved. Each batch is one
/// transaction: the rows deleted are exactly the rows added (`DELETE … RETURNING`, so two servers folding
/// at once never count a row twice), and the counts are written in key order (two folds never deadlock).
pub async fn fold(db: &Db) -> Result<u64, sqlx::Error> {
    let mut moved = 0;
    loop {
        match fold_batch(db).await? {
            0 => return Ok(moved),
            n => moved += n,
        }
    }
}

/// Folds one batch of delta rows; returns how many it moved (0: none were left).
async fn fold_batch(db: &Db) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let rows = sqlx::query(
        "DELETE FROM report_deltas WHERE id IN (SELECT id FROM report_deltas ORDER BY id LIMIT $1) \
         RETURNING organization_id, recorded_on, license_id, bucket, user_id, n",
    )
    .bind(FOLD_BATCH)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut sums: BTreeMap<DayKey, i64> = BTreeMap::new();
    for row in &rows {
        let bucket: String = row.try_get("bucket")?;
        let user_id: i64 = if bucket == Bucket::Default.code() {
            row.try_get("user_id")?
        } else {
            0
        };
        let key = (
            row.try_get("organization_id")?,
            row.try_get("recorded_on")?,
            row.try_get("license_id")?,
            bucket,
            user_id,
        );
        let n: i64 = row.try_get("n")?;
        let sum = sums.entry(key).or_default();
        *sum = sum.saturating_add(n);
    }
    for ((organization_id, day, license_id, bucket, user_id), n) in sums {
        if n == 0 {
            continue;
        }
        sqlx::query(
            "INSERT INTO report_days (organization_id, recorded_on, license_id, bucket, user_id, n) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (organization_id, recorded_on, license_id, bucket, user_id) \
             DO UPDATE SET n = report_days.n + excluded.n",
        )
        .bind(organization_id)
        .bind(day)
        .bind(license_id)
        .bind(bucket)
        .bind(user_id)
        .bind(n)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(rows.len() as u64)
}

/// The folded counts and the deltas not folded yet, as one row source (one statement reads both, so a fold
/// committing meanwhile is seen wholly or not at all). Binds: $1 organization, $2 first day, $3 last day,
/// $4 license (0: every license).
const COUNTED: &str = "( \
    SELECT recorded_on, license_id, bucket, user_id, n FROM report_days \
    WHERE organization_id = $1 AND recorded_on >= $2 AND recorded_on <= $3 AND ($4 = 0 OR license_id = $4) \
    UNION ALL \
    SELECT recorded_on, license_id, bucket, user_id, n FROM report_deltas \
    WHERE organization_id = $1 AND recorded_on >= $2 AND recorded_on <= $3 AND ($4 = 0 OR license_id = $4) \
  ) counted";

/// The counts per day from `first` to `last` (inclusive, `YYYY-MM-DD`), at one license or all (`None`).
/// Days without reports are absent.
pub async fn days(
    db: &Db,
    organization_id: i64,
    first: &str,
    last: &str,
    license_id: Option<i64>,
) -> Result<BTreeMap<String, Counts>, sqlx::Error> {
    let sql = format!(
        "SELECT recorded_on, bucket, CAST(SUM(n) AS BIGINT) AS n FROM {COUNTED} GROUP BY recorded_on, bucket"
    );
    let rows: Vec<(String, String, i64)> = sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(first)
        .bind(last)
        .bind(license_id.unwrap_or(0))
        .fetch_all(&db.pool)
        .await?;
    let mut days: BTreeMap<String, Counts> = BTreeMap::new();
    for (day, bucket, n) in rows {
        let bucket = Bucket::from_code(&bucket).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown report bucket {bucket:?}").into())
        })?;
        days.entry(day).or_default().add(bucket, n);
    }
    Ok(days)
}

/// Reports sent under the default key per user and license, from `first` to `last`: (user, license, count),
/// counts above zero only.
pub async fn fallbacks(
    db: &Db,
    organization_id: i64,
    first: &str,
    last: &str,
    license_id: Option<i64>,
) -> Result<Vec<(i64, i64, i64)>, sqlx::Error> {
    let sql = format!(
        "SELECT user_id, license_id, CAST(SUM(n) AS BIGINT) AS n FROM {COUNTED} WHERE bucket = $5 \
         GROUP BY user_id, license_id HAVING SUM(n) > 0"
    );
    sqlx::query_as(&sql)
        .bind(organization_id)
        .bind(first)
        .bind(last)
        .bind(license_id.unwrap_or(0))
        .bind(Bucket::Default.code())
        .fetch_all(&db.pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::day_of;

    #[test]
    fn a_day_is_the_license_local_date() {
        // 2026-11-29T05:30:00Z: 22:30 on the 28th in Denver (UTC-7), 00:30 on the 29th in New York.
        let at = 1_795_930_200;
        assert_eq!(day_of(at, "UTC").expect("known"), "2026-11-29");
        assert_eq!(day_of(at, "America/Denver").expect("known"), "2026-11-28");
        assert_eq!(day_of(at, "America/New_York").expect("known"), "2026-11-29");
        assert!(day_of(at, "Mars/Olympus").is_err());
    }
}

//! CSV downloads for a state inspector (admins only, each audited): Compliance Management (every report
//! not sent that matches the filters, a row per line of a sale), the coverage grid (every active user), and
//! the audit log (its filters). RFC 4180 (the `csv` crate, CRLF), UTF-8, times in ISO 8601 with the
//! license's UTC offset (the audit log's in UTC, `+00:00`). Streamed from the database through a small bounded
//! channel, so 100,000 audit records never sit in memory at once.
//!
//! A text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading
//! `'`, so no spreadsheet runs it as a formula; numbers (quantities, amounts, counts) are written as
//! numbers and left alone.

use super::{AdminUser, audit_log};
use crate::AppState;
use crate::audit::{self, Entry};
use crate::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use shared::report::ReportStatus;
use sqlx::Row;

/// A cell of a row: text (guarded against formulas) or a number (written as it is).
enum Cell {
    Text(String),
    Number(String),
}

/// Text as a spreadsheet will show it and never run: a leading `'` before a formula's first character.
fn inert(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

fn number(value: impl ToString) -> Cell {
    Cell::Number(value.to_string())
}

/// Writes rows as CSV into chunks of about this size.
const CHUNK: usize = 64 * 1024;

/// Rows read per query: a connection is taken for one page and given back before the page is sent, so a
/// slow download never holds one (and many at once never starve the pool).
const PAGE: i64 = 500;

/// A CSV body written by `produce` on its own task, row by row, through a channel of a few chunks:
/// the client's download pace holds the producer back. A failure after the first bytes ends the
/// download with an error (the browser shows it failed) rather than a file cut short silently.
fn streamed<F, Fut>(filename: &str, header_row: &[&str], produce: F) -> Response
where
    F: FnOnce(Rows) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), sqlx::Error>> + Send,
{
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let mut rows = Rows::new(sender);
    rows.push_header(header_row);
    tokio::spawn(async move {
        let failed = rows.sender.clone();
        if let Err(e) = produce(rows).await {
            if failed.is_closed() {
                tracing::debug!("a CSV download was stopped by the client");
                return;
            }
            tracing::error!(error = %e, "a CSV export failed midway");
            let _ = failed
                .send(Err(std::io::Error::other("the export failed")))
                .await;
        }
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

/// The rows of one download, written as CSV and sent a chunk at a time.
struct Rows {
    writer: csv::Writer<Vec<u8>>,
    sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
}

impl Rows {
    fn new(sender: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>) -> Rows {
        Rows {
            writer: Self::writer(),
            sender,
        }
    }

    /// RFC 4180: CRLF after each record, quotes where a field needs them.
    fn writer() -> csv::Writer<Vec<u8>> {
        csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::with_capacity(CHUNK))
    }

    fn push_header(&mut self, names: &[&str]) {
        // Writing into a Vec cannot fail.
        let _ = self.writer.write_record(names);
    }

    /// Adds a row; sends the chunk when it is full. `Err` when the client went away.
    async fn push(&mut self, cells: Vec<Cell>) -> Result<(), sqlx::Error> {
        let record: Vec<String> = cells
            .into_iter()
            .map(|c| match c {
                Cell::Text(t) => inert(&t),
                Cell::Number(n) => n,
            })
            .collect();
        self.writer
            .write_record(&record)
            .map_err(|e| sqlx::Error::Protocol(format!("a CSV row could not be written: {e}")))?;
        if self.writer.get_ref().len() >= CHUNK {
            self.send().await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<(), sqlx::Error> {
        let full = std::mem::replace(&mut self.writer, Self::writer());
        let chunk = full
            .into_inner()
            .map_err(|_| sqlx::Error::Protocol("a CSV chunk could not be written".into()))?;
        self.sender
            .send(Ok(Bytes::from(chunk)))
            .await
            .map_err(|_| sqlx::Error::Protocol("the client stopped the download".into()))
    }

    /// Sends what is left.
    async fn finish(mut self) -> Result<(), sqlx::Error> {
        self.send().await
    }
}

/// A moment in ISO 8601 with the zone's offset (`2026-11-29T15:04:05-07:00`); UTC (`Z`) when the zone
/// is unknown.
fn iso(at: i64, zone: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_second(at) else {
        return at.to_string();
    };
    match ts.in_tz(zone) {
        Ok(zoned) => zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }
}

/// Records the download in the audit log (before a byte of it is sent).
async fn audited(
    state: &AppState,
    admin: &crate::accounts::User,
    what: &str,
    filters: String,
) -> Result<(), AppError> {
    let entry =
        Entry::by(admin, None, "export_downloaded", "downloaded").detail(if filters.is_empty() {
            what.to_owned()
        } else {
            format!("{what} ({filters})")
        });
    audit::record_alone(&state.db, &entry).await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct ComplianceQuery {
    /// A license number, as the page's filter holds it.
    license: Option<String>,
    /// A status code (pending, held, outcome_unknown).
    status: Option<String>,
}

/// `GET /api/admin/compliance.csv?license=&status=`: every report not sent that matches, a row per line.
pub async fn compliance(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<ComplianceQuery>,
) -> Result<Response, AppError> {
    let license = query.license.filter(|l| !l.is_empty());
    let status = match query.status.filter(|s| !s.is_empty()) {
        None => None,
        Some(code) => match ReportStatus::from_code(&code) {
            Some(
                s @ (ReportStatus::Pending | ReportStatus::Held | ReportStatus::OutcomeUnknown),
            ) => Some(s),
            _ => {
                return Err(AppError::BadRequest(
                    "Choose a status of a report not sent: pending, held or outcome_unknown."
                        .into(),
                ));
            }
        },
    };
    let mut said = Vec::new();
    if let Some(l) = &license {
        said.push(format!("license {l}"));
    }
    if let Some(s) = status {
        said.push(format!("status {}", s.label()));
    }
    audited(&state, &admin, "Compliance Management", said.join(", ")).await?;
    let organization = admin.organization_id;
    let db = state.db.clone();
    Ok(streamed(
        "compliance.csv",
        &[
            "Report",
            "Line",
            "License",
            "User",
            "Email",
            "Kind",
            "Package",
            "Quantity",
            "Unit",
            "Amount",
            "Status",
            "Key used",
            "METRC message",
            "Recorded at",
        ],
        move |mut rows| async move {
            let statuses: Vec<&str> = match status {
                Some(s) => vec![s.code()],
                None => vec!["pending", "held", "outcome_unknown"],
            };
            let list: Vec<String> = (0..statuses.len()).map(|i| format!("${}", i + 4)).collect();
            let sql = format!(
                "SELECT r.id, r.kind, r.external_number, r.payload, r.status, r.key_used, r.reason, r.recorded_at, \
                 l.number, l.time_zone, u.display_name, u.email FROM reports r \
                 JOIN licenses l ON l.id = r.license_id JOIN users u ON u.id = r.user_id \
                 WHERE r.organization_id = $1 AND ($2 = '' OR l.number = $2) AND r.id > $3 AND r.status IN ({}) \
                 ORDER BY r.id LIMIT {PAGE}",
                list.join(", ")
            );
            let license = license.unwrap_or_default();
            let mut after = 0_i64;
            loop {
                let mut q = sqlx::query(&sql)
                    .bind(organization)
                    .bind(&license)
                    .bind(after);
                for s in &statuses {
                    q = q.bind(*s);
                }
                let page = q.fetch_all(&db.pool).await?;
                let Some(last) = page.last() else { break };
                after = last.try_get("id")?;
                for row in page {
                    let id: i64 = row.try_get("id")?;
                    let kind: String = row.try_get("kind")?;
                    let report = row
                        .try_get::<Option<String>, _>("external_number")?
                        .unwrap_or_else(|| format!("#{id}"));
                    let status = crate::db::decode(&row, "status", ReportStatus::from_code)?;
                    let key = match row.try_get::<Option<String>, _>("key_used")?.as_deref() {
                        Some("credential") => "own",
                        Some("default") => "default",
                        _ => "",
                    };
                    let zone: String = row.try_get("time_zone")?;
                    let recorded = iso(row.try_get("recorded_at")?, &zone);
                    let payload: String = row.try_get("payload")?;
                    let lines = lines(&kind, &payload);
                    for (n, (package, quantity, unit, amount)) in lines.into_iter().enumerate() {
                        rows.push(vec![
                            text(report.clone()),
                            number(n + 1),
                            text(row.try_get::<String, _>("number")?),
                            text(row.try_get::<String, _>("display_name")?),
                            text(row.try_get::<String, _>("email")?),
                            text(kind.clone()),
                            text(package),
                            quantity.map_or_else(|| text(""), number),
                            text(unit),
                            amount.map_or_else(|| text(""), number),
                            text(status.label()),
                            text(key),
                            text(
                                row.try_get::<Option<String>, _>("reason")?
                                    .unwrap_or_default(),
                            ),
                            text(recorded.clone()),
                        ])
                        .await?;
                    }
                }
            }
            rows.finish().await
        },
    ))
}

/// A report's lines as (package, quantity, unit, amount): a receipt's transactions, an adjustment's one
/// line. A payload that cannot be read is one line saying so (the report is still listed).
fn lines(kind: &str, payload: &str) -> Vec<(String, Option<f64>, String, Option<f64>)> {
    let unreadable = || vec![("(unreadable)".to_owned(), None, String::new(), None)];
    if kind == "sale" {
        match serde_json::from_str::<metrc::reports::Receipt>(payload) {
            Ok(receipt) => receipt
                .transactions
                .into_iter()
                .map(|t| {
                    (
                        t.package_label,
                        Some(t.quantity),
                        t.unit_of_measure,
                        Some(t.total_amount),
                    )
                })
                .collect(),
            Err(_) => unreadable(),
        }
    } else {
        match serde_json::from_str::<metrc::reports::Adjustment>(payload) {
            Ok(a) => vec![(a.label, Some(a.quantity), a.unit_of_measure, None)],
            Err(_) => unreadable(),
        }
    }
}

/// `GET /api/admin/coverage.csv?fallback=&user=`: every active user's row of the coverage grid, and the
/// counts per license.
pub async fn coverage(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<super::coverage::CoverageQuery>,
) -> Result<Response, AppError> {
    audited(&state, &admin, "Coverage", query.described()).await?;
    let grid = super::coverage::load(&state, admin.organization_id, &query, None).await?;
    let mut header = vec!["User".to_owned(), "Email".to_owned()];
    header.extend(grid.licenses.iter().map(|l| l.number.to_string()));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    Ok(streamed(
        "coverage.csv",
        &header,
        move |mut rows| async move {
            for row in grid.rows {
                let mut cells = vec![text(row.display_name), text(row.email)];
                cells.extend(row.cells.into_iter().map(|c| text(c.label())));
                rows.push(cells).await?;
            }
            let counts: [(&str, Count); 3] = [
                ("Users with their own key", |l| l.own),
                ("Users under the default key", |l| l.default),
                ("Users not covered", |l| l.not_covered),
            ];
            for (label, count) in counts {
                let mut cells = vec![text(label), text("")];
                cells.extend(grid.licenses.iter().map(|l| number(count(l))));
                rows.push(cells).await?;
            }
            rows.finish().await
        },
    ))
}

/// One of the coverage grid's counts of a license.
type Count = fn(&shared::admin::CoverageLicense) -> i64;

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    user: Option<i64>,
    license: Option<i64>,
}

/// `GET /api/admin/audit.csv?user=&license=`: every record matching, newest first.
pub async fn audit_log(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(query): Query<AuditQuery>,
) -> Result<Response, AppError> {
    let mut said = Vec::new();
    if let Some(u) = query.user {
        said.push(format!("user #{u}"));
    }
    if let Some(l) = query.license {
        said.push(format!("license #{l}"));
    }
    audited(&state, &admin, "Audit log", said.join(", ")).await?;
    let (conditions, binds) = audit_log::filters(admin.organization_id, query.user, query.license);
    let db = state.db.clone();
    Ok(streamed(
        "audit-log.csv",
        &[
            "Time", "Actor", "Subject", "Action", "Result", "Detail", "Licenses",
        ],
        move |mut rows| async move {
            let before = binds.len() + 1;
            let sql = format!(
                "SELECT a.id, a.at, actor.display_name AS actor, subject.display_name AS subject, a.action, a.result, a.detail \
                 FROM audit_log a \
                 JOIN users actor ON actor.id = a.actor_user_id JOIN users subject ON subject.id = a.subject_user_id \
                 WHERE {} AND a.id < ${before} ORDER BY a.id DESC LIMIT {PAGE}",
                conditions.join(" AND ")
            );
            let mut cursor = i64::MAX;
            loop {
                let mut q = sqlx::query(&sql);
                for b in &binds {
                    q = q.bind(*b);
                }
                let page = q.bind(cursor).fetch_all(&db.pool).await?;
                let Some(last) = page.last() else { break };
                cursor = last.try_get("id")?;
                // The page's license numbers in one query.
                let ids: Vec<i64> = page
                    .iter()
                    .map(|r| r.try_get("id"))
                    .collect::<Result<_, _>>()?;
                let mut numbers =
                    audit_log::license_numbers(&mut *db.pool.acquire().await?, &ids).await?;
                for row in page {
                    let id: i64 = row.try_get("id")?;
                    let licenses = numbers.remove(&id).unwrap_or_default().join(" ");
                    rows.push(vec![
                        text(iso(row.try_get("at")?, "UTC")),
                        text(row.try_get::<String, _>("actor")?),
                        text(row.try_get::<String, _>("subject")?),
                        text(row.try_get::<String, _>("action")?),
                        text(row.try_get::<String, _>("result")?),
                        text(row.try_get::<String, _>("detail")?),
                        text(licenses),
                    ])
                    .await?;
                }
            }
            rows.finish().await
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::{inert, iso};

    #[test]
    fn formulas_are_made_inert_and_other_text_is_not_touched() {
        for formula in ["=SUM(A1)", "+1", "-5", "@x", "\tx", "\rx"] {
            assert_eq!(inert(formula), format!("'{formula}"));
        }
        for plain in ["Dana", "5", "", "a=b", "O'Neil"] {
            assert_eq!(inert(plain), plain);
        }
    }

    #[test]
    fn times_carry_the_license_offset() {
        // 2026-11-29T05:30:00Z
        assert_eq!(
            iso(1_795_930_200, "America/Denver"),
            "2026-11-28T22:30:00-07:00"
        );
        assert_eq!(iso(1_795_930_200, "UTC"), "2026-11-29T05:30:00+00:00");
        assert_eq!(iso(1_795_930_200, "Nowhere/Else"), "2026-11-29T05:30:00Z");
    }
}

//! The outbox worker: sends recorded reports to METRC under the right key, so that nothing is lost and
//! no sale is reported twice.
//!
//! One pass: claim the reports that are due (a lease, so that a crashed worker's claim expires and, on
//! PostgreSQL, several server processes never take the same report: `FOR UPDATE SKIP LOCKED`); choose
//! each one's key by the product's table; send them per license, kind and key through the METRC client
//! (batches of 10, rows METRC refuses set aside, receipts looked up after an ambiguous failure,
//! adjustments then "outcome unknown"); write each outcome and release the claim.
//!
//! The key table (`docs/product.md`): the acting user's `verified` credential covering the license; if
//! that credential is `invalid` or `license lost`, none (held "401 Unauthorized" / "No access to …");
//! with no credential, the organization's default key for the state when it is verified and reaches the
//! license; otherwise none (held "No credential for …", sent by itself once a key covers it).

use crate::AppState;
use crate::config::OutboxConfig;
use crate::crypto::Sealed;
use crate::db::{Backend, decode, now_unix};
use crate::keys::{self, Holder, KeyRef};
use metrc::reports::{Adjustment, Delivery, Receipt};
use metrc::{Lookup, Metrc, MetrcError};
use shared::credential::CredentialStatus;
use shared::report::{HeldFor, HoldReason, KeyUsed, ReportKind, ReportStatus, reasons};
use shared::{LicenseNumber, MetrcUserKey, StateCode};
use sqlx::{AnyConnection, Row};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Faults planted on purpose, to prove that the chaos harness catches them (`cargo test -p chaos
/// --features planted-faults`): only that harness turns the feature on, and a release build refuses it.
mod planted {
    #[cfg(all(feature = "planted-faults", not(debug_assertions)))]
    compile_error!(
        "the planted-faults feature breaks reporting on purpose: never in a release build"
    );

    /// A batch is marked (and posted) whoever holds its claim: SQL that is always true, or never.
    pub const IGNORE_CLAIM: &str = if cfg!(feature = "planted-faults") {
        "TRUE"
    } else {
        "FALSE"
    };
    /// A receipt whose last send was interrupted is posted again without looking it up.
    pub const POST_BLIND: bool = cfg!(feature = "planted-faults");
}

/// How many reports one pass claims at most.
const CLAIM: i64 = 500;
/// Leases are unix seconds of each server's own clock: the slack a batch's claim keeps for clocks that
/// disagree (servers are expected to run NTP, well within it).
const CLOCK_MARGIN: Duration = Duration::from_secs(30);

/// The worker's handle: wakes it when a report is recorded. Each server process has its own name, which
/// its claims carry.
#[derive(Debug)]
pub struct Outbox {
    wake: Notify,
    name: String,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            wake: Notify::new(),
            name: format!("worker-{}", uuid::Uuid::new_v4().simple()),
        }
    }
}

impl Outbox {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Runs the worker until the task is dropped: a pass whenever woken, every `OUTBOX_POLL_MS`, and at once
/// again while passes find work.
pub async fn run(state: AppState, outbox: Arc<Outbox>) {
    loop {
        state
            .heartbeats
            .outbox
            .beat_within(state.config.outbox.poll);
        let busy = match send_due(&state, &outbox).await {
            Ok(handled) => handled > 0,
            Err(e) => {
                tracing::error!(error = %e, "outbox pass failed");
                false
            }
        };
        if !busy {
            let _ = tokio::time::timeout(state.config.outbox.poll, outbox.wake.notified()).await;
        }
    }
}

/// A claimed report. (No `Debug`: its payload may hold a patient's license number.)
struct Due {
    id: i64,
    kind: ReportKind,
    payload: String,
    user_id: i64,
    organization_id: i64,
    license_id: i64,
    license_number: LicenseNumber,
    state: StateCode,
    attempts: i64,
    /// An admin chose "Resend with default key".
    force_default: bool,
    /// A send of it was interrupted, or its answer lost (see the `posting` column).
    interrupted: bool,
    /// Since when it has been marked as posted without a settled outcome.
    posting_since: Option<i64>,
    /// When it was last marked for a POST (before this pass).
    last_post_at: Option<i64>,
}

/// What the report stores of the key it went under: whose kind, and the credential's id.
fn key_used(key: KeyRef) -> (KeyUsed, Option<i64>) {
    match key {
        KeyRef::Credential(id) => (KeyUsed::Credential, Some(id)),
        KeyRef::Default(_) => (KeyUsed::Default, None),
    }
}

/// A stored key opened for this pass, with the version it was read at (a status written after a refusal
/// is guarded by it).
struct Opened {
    key: MetrcUserKey,
    version: i64,
}

/// What the key table says for one user at one license.
#[derive(Debug, Clone)]
enum Choice {
    Send(KeyRef),
    Hold(HoldReason),
}

/// What became of one report.
#[derive(Debug)]
enum Outcome {
    Sent(KeyRef),
    /// A receipt looked up and found in METRC: Sent, under the key its POST was marked with.
    Found,
    /// Waiting for a usable key (sent again by itself once one covers it), or for a person (METRC refused
    /// its content; the key it went under is kept).
    Held(Option<KeyRef>, HoldReason),
    /// It may have reached METRC and cannot be checked (an adjustment after an ambiguous failure or an
    /// interrupted send).
    Unknown(Option<KeyRef>),
    /// Not sent (METRC said so, or could not be reached before the POST): due again after a pause.
    Retry(String),
    /// A receipt that may be in METRC, not settled yet (its answer lost, a lookup that could not answer or
    /// came too soon): it keeps its `posting` mark, so it is looked up again before any POST.
    Unsettled(String),
    /// Not sent; due again at once (the key changed while it was being sent).
    Again(String),
}

/// One pass over the reports that are due. Returns how many it handled.
///
/// The claim is this pass's own (the worker's name and a fresh token), so every later write names it:
/// a batch is posted only if marking it still finds the claim ours (renewing it for as long as a batch
/// can take), and outcomes are written only where it still is. A worker whose claim expired and was
/// taken stops short of posting those reports.
pub async fn send_due(state: &AppState, outbox: &Outbox) -> Result<usize, sqlx::Error> {
    crate::hooks::pause(state, crate::hooks::Point::OutboxPass).await;
    let now = now_unix();
    let claim = format!("{}:{}", outbox.name, uuid::Uuid::new_v4().simple());
    let lease_until = now + seconds(state.config.outbox.lease);
    let pick = "SELECT id FROM reports WHERE status = $5 AND next_attempt_at <= $3 \
                AND (lease_until IS NULL OR lease_until < $3) ORDER BY id LIMIT $4";
    let sql = match state.db.backend {
        Backend::Sqlite => format!(
            "UPDATE reports SET lease_owner = $1, lease_until = $2 WHERE id IN ({pick}) RETURNING id"
        ),
        Backend::Postgres => format!(
            "UPDATE reports SET lease_owner = $1, lease_until = $2 WHERE id IN ({pick} FOR UPDATE SKIP LOCKED) RETURNING id"
        ),
    };
    let claimed: Vec<i64> = sqlx::query_scalar(&sql)
        .bind(&claim)
        .bind(lease_until)
        .bind(now)
        .bind(CLAIM)
        .bind(ReportStatus::Pending.code())
        .fetch_all(&state.db.pool)
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let mut conn = state.db.pool.acquire().await?;
    let due = load(&mut conn, &claim, &claimed).await?;
    let pass = Pass {
        claim: &claim,
        generations: generations(&mut conn, &due).await?,
    };

    // The key for each (user, license), chosen once per pass; reports grouped by license, kind and key.
    let mut choices: HashMap<(i64, i64, bool), Choice> = HashMap::new();
    let mut opened: HashMap<KeyRef, Opened> = HashMap::new();
    let mut groups: BTreeMap<(i64, &'static str, KeyRef), Vec<&Due>> = BTreeMap::new();
    let mut outcomes: Vec<(i64, Outcome)> = Vec::new();
    for report in &due {
        if report.interrupted && report.kind == ReportKind::Adjustment {
            // It may have reached METRC before the interruption, and adjustments cannot be looked up.
            outcomes.push((report.id, Outcome::Unknown(None)));
            continue;
        }
        let who = (report.user_id, report.license_id, report.force_default);
        let choice = match choices.get(&who) {
            Some(choice) => choice.clone(),
            None => {
                let choice = choose(&mut conn, state, report, &mut opened).await?;
                choices.insert(who, choice.clone());
                choice
            }
        };
        match choice {
            Choice::Send(key) => groups
                .entry((report.license_id, report.kind.code(), key))
                .or_default()
                .push(report),
            Choice::Hold(reason) => outcomes.push((report.id, Outcome::Held(None, reason))),
        }
    }
    drop(conn);

    // What was decided without METRC (held for a key, an interrupted adjustment) is written at once.
    crate::hooks::pause(state, crate::hooks::Point::OutboxDecided).await;
    let mut handled = outcomes.len();
    write(state, &pass, &due, outcomes, &[]).await;

    // Each group goes in batches of METRC's 10, at most `posts_per_license` at once per license (and as
    // many licenses at once as there are). Each batch's outcomes are written as soon as it is sent,
    // while its claim holds, whatever another batch meets.
    let mut gates: HashMap<i64, Arc<tokio::sync::Semaphore>> = HashMap::new();
    let mut sends = Vec::new();
    for ((license_id, _, key_ref), reports) in &groups {
        let Some(opened) = opened.get(key_ref) else {
            continue;
        };
        let gate = gates
            .entry(*license_id)
            .or_insert_with(|| {
                Arc::new(tokio::sync::Semaphore::new(
                    state.config.outbox.posts_per_license,
                ))
            })
            .clone();
        for batch in reports.chunks(metrc::reports::MAX_BATCH) {
            let gate = gate.clone();
            let (claim, due, pass) = (&claim, &due, &pass);
            sends.push(async move {
                let _turn = gate.acquire().await;
                let ids: Vec<i64> = batch.iter().map(|r| r.id).collect();
                let (outcomes, posted) = match stamp(state, claim, &ids, *key_ref, Stamp::Mark).await {
                    Ok(marked) => {
                        if marked.len() < ids.len() {
                            tracing::warn!(
                                lost = ids.len() - marked.len(),
                                "reports of this pass were claimed by another worker: not posted here"
                            );
                        }
                        let still_ours: Vec<&Due> = batch
                            .iter()
                            .copied()
                            .filter(|r| marked.contains(&r.id))
                            .collect();
                        send_group(state, claim, *key_ref, opened, &still_ours).await
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "could not mark a batch as being posted: not posted");
                        let not_marked = ids
                            .iter()
                            .map(|id| (*id, Outcome::Retry("the batch could not be marked".into())))
                            .collect();
                        (not_marked, Vec::new())
                    }
                };
                let count = outcomes.len();
                write(state, pass, due, outcomes, &posted).await;
                state.heartbeats.outbox.beat_within(state.config.outbox.poll);
                count
            });
        }
    }
    for count in futures_util::future::join_all(sends).await {
        handled += count;
    }
    Ok(handled)
}

/// Whole seconds of a configured duration, for unix-second columns.
fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX / 4)
}

/// How long a batch being posted keeps its claim: the configured lease, or longer than one batch can take,
/// whichever is longer. A batch is the lookups of its interrupted receipts (one METRC deadline between
/// them), then its POSTs and the lookups after an ambiguous answer (one more deadline, and a last POST's
/// request timeout past it). Another worker can take a batch over only once its sender is surely gone.
fn posting_lease(state: &AppState) -> Duration {
    let metrc = &state.config.metrc;
    let batch = metrc
        .deadline
        .saturating_mul(2)
        .saturating_add(metrc.request_timeout)
        .saturating_add(CLOCK_MARGIN);
    state.config.outbox.lease.max(batch)
}

/// What stamping a batch about to be posted records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// Marks reports as being posted under the key. A report marked already (its last send interrupted)
    /// keeps the time and the key of its last POST: it is looked up first (found, it is Sent under that
    /// key), and [`Stamp::Repost`] records both again only if it is posted again.
    Mark,
    /// Receipts are posted now, under the key, after lookups delayed their POST: the time a later lookup
    /// waits from, and the key a receipt found later went under.
    Repost,
}

/// Stamps reports about to be posted under `key`, renewing the claim on them, where the claim is still
/// ours. Returns the ids stamped: only those may be posted. (The mark is cleared when the outcome is
/// written.)
async fn stamp(
    state: &AppState,
    claim: &str,
    ids: &[i64],
    key: KeyRef,
    how: Stamp,
) -> Result<Vec<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_unix();
    let (used, credential_id) = key_used(key);
    let (set, ours) = match how {
        Stamp::Mark => (
            "posting = TRUE, posting_since = COALESCE(posting_since, $2), \
             last_post_at = CASE WHEN posting THEN last_post_at ELSE $2 END, \
             key_used = CASE WHEN posting THEN key_used ELSE $5 END, \
             credential_id = CASE WHEN posting THEN credential_id ELSE $6 END",
            format!("(lease_owner = $1 OR {})", planted::IGNORE_CLAIM),
        ),
        Stamp::Repost => (
            "last_post_at = $2, key_used = $5, credential_id = $6",
            "lease_owner = $1".to_owned(),
        ),
    };
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 7)).collect();
    let sql = format!(
        "UPDATE reports SET {set}, lease_until = $3 WHERE {ours} AND status = $4 AND id IN ({}) RETURNING id",
        list.join(", ")
    );
    let mut query = sqlx::query_scalar(&sql)
        .bind(claim)
        .bind(now)
        .bind(now + seconds(posting_lease(state)))
        .bind(ReportStatus::Pending.code())
        .bind(used.code())
        .bind(credential_id);
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(&state.db.pool).await
}

async fn load(conn: &mut AnyConnection, owner: &str, ids: &[i64]) -> Result<Vec<Due>, sqlx::Error> {
    let list: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "SELECT r.id, r.kind, r.payload, r.user_id, r.organization_id, r.license_id, r.attempts, \
         CASE WHEN r.force_default THEN 1 ELSE 0 END AS force_default, \
         CASE WHEN r.posting THEN 1 ELSE 0 END AS interrupted, r.posting_since, r.last_post_at, \
         l.number, l.state FROM reports r JOIN licenses l ON l.id = r.license_id \
         WHERE r.lease_owner = $1 AND r.id IN ({}) ORDER BY r.id",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(owner);
    for id in ids {
        query = query.bind(*id);
    }
    query
        .fetch_all(conn)
        .await?
        .iter()
        .map(|row| {
            Ok(Due {
                id: row.try_get("id")?,
                kind: decode(row, "kind", ReportKind::from_code)?,
                payload: row.try_get("payload")?,
                user_id: row.try_get("user_id")?,
                organization_id: row.try_get("organization_id")?,
                license_id: row.try_get("license_id")?,
                license_number: decode(row, "number", |s| LicenseNumber::parse(s).ok())?,
                state: decode(row, "state", |s| StateCode::parse(s).ok())?,
                attempts: row.try_get("attempts")?,
                force_default: row.try_get::<i64, _>("force_default")? != 0,
                interrupted: row.try_get::<i64, _>("interrupted")? != 0,
                posting_since: row.try_get("posting_since")?,
                last_post_at: row.try_get("last_post_at")?,
            })
        })
        .collect()
}

/// The key table for one report's user and license. Opens the chosen key into `opened`.
async fn choose(
    conn: &mut AnyConnection,
    state: &AppState,
    report: &Due,
    opened: &mut HashMap<KeyRef, Opened>,
) -> Result<Choice, sqlx::Error> {
    let own = if report.force_default {
        None
    } else {
        sqlx::query(
            "SELECT c.id, c.status, c.key_id, c.key_ciphertext, c.version FROM credential_licenses cl \
             JOIN credentials c ON c.id = cl.credential_id JOIN users u ON u.id = cl.user_id \
             WHERE cl.user_id = $1 AND cl.license_id = $2 AND cl.provider = 'metrc' AND u.active",
        )
        .bind(report.user_id)
        .bind(report.license_id)
        .fetch_optional(&mut *conn)
        .await?
    };
    if let Some(row) = own {
        let key_ref = KeyRef::Credential(row.try_get("id")?);
        return Ok(match decode(&row, "status", CredentialStatus::from_code)? {
            CredentialStatus::Verified => open(
                state,
                key_ref,
                Holder::Person {
                    user_id: report.user_id,
                },
                &row,
                opened,
            )?,
            CredentialStatus::LicenseLost => {
                Choice::Hold(HoldReason::NoAccess(report.license_number.clone()))
            }
            CredentialStatus::Invalid | CredentialStatus::Unverified => {
                Choice::Hold(HoldReason::Unauthorized)
            }
        });
    }
    let default = sqlx::query(
        "SELECT dk.id, dk.key_id, dk.key_ciphertext, dk.version FROM default_keys dk \
         WHERE dk.organization_id = $1 AND dk.provider = 'metrc' AND dk.state = $2 AND dk.status = $4 \
         AND EXISTS (SELECT 1 FROM default_key_reaches r WHERE r.default_key_id = dk.id AND r.license_number = $3)",
    )
    .bind(report.organization_id)
    .bind(report.state.code())
    .bind(report.license_number.as_str())
    .bind(CredentialStatus::Verified.code())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match default {
        Some(row) => open(
            state,
            KeyRef::Default(row.try_get("id")?),
            Holder::Organization {
                organization_id: report.organization_id,
                state: report.state,
            },
            &row,
            opened,
        )?,
        None => Choice::Hold(HoldReason::NoCredential(report.license_number.clone())),
    })
}

/// Opens a chosen stored key (its row: `key_id`, `key_ciphertext`, `version`) for this pass. One the
/// server cannot read holds the report for an operator, never as the user's mistake.
fn open(
    state: &AppState,
    key_ref: KeyRef,
    holder: Holder,
    row: &sqlx::any::AnyRow,
    opened: &mut HashMap<KeyRef, Opened>,
) -> Result<Choice, sqlx::Error> {
    let sealed = Sealed {
        key_id: row.try_get("key_id")?,
        ciphertext: row.try_get("key_ciphertext")?,
    };
    Ok(match state.keys.open(key_ref, holder, &sealed) {
        Ok(key) => {
            let version = row.try_get("version")?;
            opened.insert(key_ref, Opened { key, version });
            Choice::Send(key_ref)
        }
        Err(_) => Choice::Hold(HoldReason::KeyUnreadable),
    })
}

/// Sends one group (one license, one kind, one key) and says what became of each report, and which
/// reports it POSTed (METRC's answer to those, unless unsettled, is its word on them).
async fn send_group(
    state: &AppState,
    claim: &str,
    key_ref: KeyRef,
    opened: &Opened,
    reports: &[&Due],
) -> (Vec<(i64, Outcome)>, Vec<i64>) {
    let Some(first) = reports.first() else {
        return (Vec::new(), Vec::new());
    };
    let (us, license, key) = (first.state, &first.license_number, &opened.key);
    // A payload that does not read back is held for a person to look at; the rest are sent.
    let mut outcomes = Vec::new();
    let (sendable, deliveries) = match first.kind {
        ReportKind::Sale => {
            // A receipt whose last send was interrupted may be in METRC already: look it up first (the
            // lookups share one deadline, so the batch stays within its claim).
            let deadline = state.metrc.deadline();
            let mut unsent: Vec<&Due> = Vec::new();
            let mut again: Vec<&Due> = Vec::new();
            for report in reports {
                if !report.interrupted || planted::POST_BLIND {
                    unsent.push(report);
                    continue;
                }
                let number = serde_json::from_str::<Receipt>(&report.payload)
                    .map(|r| r.external_receipt_number)
                    .unwrap_or_default();
                match state
                    .metrc
                    .receipt_exists(us, key, license, &number, deadline)
                    .await
                {
                    Lookup::Found => outcomes.push((report.id, Outcome::Found)),
                    // METRC may still be applying the last POST: it is trusted to lack the receipt
                    // only once that POST has had time to settle.
                    Lookup::Absent if settled_since_last_post(state, report) => again.push(report),
                    Lookup::Absent | Lookup::Unknown => {
                        outcomes.push((report.id, unsettled(state, report, None)));
                    }
                    Lookup::Refused => {
                        // Held (or not) for the lookup's key; the report keeps the key it went under.
                        let checked = match recheck(state, key_ref, opened, us, license).await {
                            Outcome::Held(_, reason) => Outcome::Held(None, reason),
                            other => other,
                        };
                        outcomes.push((report.id, checked));
                    }
                }
            }
            // Lookups took time since the batch was marked: the receipts posted now carry this POST's
            // time and key (a lookup after it waits from then; one found later went under this key).
            unsent.extend(again);
            unsent.sort_by_key(|r| r.id);
            if reports.iter().any(|r| r.interrupted) {
                let ids: Vec<i64> = unsent.iter().map(|r| r.id).collect();
                match stamp(state, claim, &ids, key_ref, Stamp::Repost).await {
                    Ok(stamped) => unsent.retain(|r| stamped.contains(&r.id)),
                    Err(e) => {
                        tracing::error!(error = %e, "could not stamp receipts about to be posted: not posted");
                        for report in unsent.drain(..) {
                            let outcome = if report.interrupted {
                                unsettled(state, report, None)
                            } else {
                                Outcome::Retry("the batch could not be marked".into())
                            };
                            outcomes.push((report.id, outcome));
                        }
                    }
                }
            }
            let (objects, sendable) = read_payloads::<Receipt>(&unsent, key_ref, &mut outcomes);
            let sent = state.metrc.send_receipts(us, key, license, &objects).await;
            (sendable, sent)
        }
        ReportKind::Adjustment => {
            let (objects, sendable) = read_payloads::<Adjustment>(reports, key_ref, &mut outcomes);
            let sent = state
                .metrc
                .send_adjustments(us, key, license, &objects)
                .await;
            (sendable, sent)
        }
    };
    // A 401/403 does not prove the key bad (METRC also says it for a missing permission): ask once.
    let mut refusal: Option<Outcome> = None;
    for (report, delivery) in sendable.iter().zip(deliveries) {
        let outcome = match delivery {
            Delivery::Accepted => Outcome::Sent(key_ref),
            Delivery::Rejected(messages) => {
                Outcome::Held(Some(key_ref), HoldReason::Refused(messages.join("; ")))
            }
            Delivery::OutcomeUnknown => Outcome::Unknown(Some(key_ref)),
            Delivery::Unsettled => unsettled(state, report, Some(key_ref)),
            Delivery::NotSent(MetrcError::Refused) => {
                if refusal.is_none() {
                    refusal = Some(recheck(state, key_ref, opened, us, license).await);
                }
                match &refusal {
                    Some(Outcome::Held(k, reason)) => Outcome::Held(*k, reason.clone()),
                    Some(Outcome::Again(why)) => Outcome::Again(why.clone()),
                    _ => Outcome::Retry("METRC refused the call; checking the key failed".into()),
                }
            }
            Delivery::NotSent(other) => Outcome::Retry(other.to_string()),
        };
        outcomes.push((report.id, outcome));
    }
    let posted = sendable.iter().map(|r| r.id).collect();
    (outcomes, posted)
}

/// A receipt that may be in METRC and could not be looked up: it keeps its mark and is looked up again
/// later (never posted blind), until `OUTBOX_LOOKUP_GIVE_UP_HOURS` after it was first sent — then someone
/// must check in METRC.
fn unsettled(state: &AppState, report: &Due, posted_under: Option<KeyRef>) -> Outcome {
    let since = report.posting_since.unwrap_or_else(now_unix);
    if now_unix() - since > seconds(state.config.outbox.lookup_give_up) {
        Outcome::Unknown(posted_under)
    } else {
        Outcome::Unsettled(
            "METRC could not yet say whether it has the receipt; it will be looked up again".into(),
        )
    }
}

/// Whether the report's last POST (before this pass) has settled: a batch METRC was still working on has
/// landed `OUTBOX_SETTLE_SECS` after it, so a lookup that finds nothing can be believed.
fn settled_since_last_post(state: &AppState, report: &Due) -> bool {
    // The POSTs of a send go out within one METRC deadline of the stamp (a last one may take a request
    // timeout past it); the batch has settled `OUTBOX_SETTLE_SECS` after the latest of them.
    let metrc = &state.config.metrc;
    let window = state
        .config
        .outbox
        .settle
        .saturating_add(metrc.deadline)
        .saturating_add(metrc.request_timeout);
    report
        .last_post_at
        .is_none_or(|at| now_unix() - at > seconds(window))
}

/// The METRC objects of a group's reports, and the reports they belong to; a payload that does not read
/// back is held.
fn read_payloads<'a, T: serde::de::DeserializeOwned>(
    reports: &[&'a Due],
    key_ref: KeyRef,
    outcomes: &mut Vec<(i64, Outcome)>,
) -> (Vec<T>, Vec<&'a Due>) {
    let mut objects = Vec::new();
    let mut sendable = Vec::new();
    for report in reports {
        match serde_json::from_str(&report.payload) {
            Ok(object) => {
                objects.push(object);
                sendable.push(*report);
            }
            Err(e) => outcomes.push((
                report.id,
                Outcome::Held(
                    Some(key_ref),
                    HoldReason::Refused(format!("unreadable record: {e}")),
                ),
            )),
        }
    }
    (objects, sendable)
}

/// After a 401/403 on a report: `GET /facilities/v2/` with the same key. 401 → the key is invalid;
/// 200 without the license → it lost the license; 200 with it → a permission is missing. The key follows:
/// a credential's status, or for the default key its status (invalid) or the licenses it reaches (one
/// lost license leaves it working for the others). Only if the key is still the one sent: a key saved or
/// re-checked meanwhile keeps its newer answer, and the report goes again at once under whatever key the
/// table now chooses.
async fn recheck(
    state: &AppState,
    key_ref: KeyRef,
    opened: &Opened,
    us: StateCode,
    license: &LicenseNumber,
) -> Outcome {
    let verdict = match state
        .metrc
        .verify_key(us, &opened.key, std::slice::from_ref(license))
        .await
    {
        Err(MetrcError::InvalidKey) => Verdict::Invalid,
        Ok(check) if !check.missing.is_empty() => Verdict::LicenseLost,
        Ok(_) => return Outcome::Held(Some(key_ref), HoldReason::PermissionMissing),
        Err(other) => return Outcome::Retry(other.to_string()),
    };
    // What the report waits for: the user's own key fixed, or — when it was the organization's default
    // key — a default key (or a credential of their own) that reaches the license.
    let reason = match (key_ref, verdict) {
        (KeyRef::Credential(_), Verdict::Invalid) => HoldReason::Unauthorized,
        (KeyRef::Credential(_), Verdict::LicenseLost) => HoldReason::NoAccess(license.clone()),
        (KeyRef::Default(_), _) => HoldReason::NoCredential(license.clone()),
    };
    let written = match state.db.pool.acquire().await {
        Ok(mut conn) => match (key_ref, verdict) {
            (KeyRef::Default(id), Verdict::LicenseLost) => {
                keys::record_lost_reach(&mut conn, id, opened.version, license).await
            }
            (_, verdict) => {
                let status = match verdict {
                    Verdict::Invalid => CredentialStatus::Invalid,
                    Verdict::LicenseLost => CredentialStatus::LicenseLost,
                };
                keys::record_check(&mut conn, key_ref, opened.version, Some(status), now_unix())
                    .await
            }
        },
        Err(e) => Err(e),
    };
    match written {
        Ok(true) => {
            tracing::warn!(key = ?key_ref, ?verdict, "METRC refused a report; the stored key follows");
            Outcome::Held(None, reason)
        }
        Ok(false) => Outcome::Again("the key changed while the report was being sent".into()),
        Err(e) => {
            tracing::error!(error = %e, "could not record what METRC said of a stored key");
            Outcome::Retry("METRC refused the call; the key's status could not be recorded".into())
        }
    }
}

/// What the re-check after a refused report found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Invalid,
    LicenseLost,
}

/// The pause before the `attempts`-th try: `OUTBOX_RETRY_SECS` doubling with each attempt, capped at
/// `OUTBOX_RETRY_MAX_SECS`, then jittered down to half (so a fleet does not retry in step after an outage).
/// At least a second.
fn retry_pause(outbox: &OutboxConfig, attempts: i64) -> i64 {
    use rand::Rng;
    let doublings = u32::try_from(attempts.clamp(1, 32) - 1).unwrap_or(31);
    let pause = outbox
        .retry
        .saturating_mul(2u32.saturating_pow(doublings))
        .min(outbox.retry_max);
    let jittered = pause.mul_f64(rand::rng().random_range(0.5..=1.0));
    seconds(jittered).max(1)
}

/// Writes outcomes and releases their claims in one transaction, only where the claim is still this
/// pass's and the report still pending (a report dismissed meanwhile stays dismissed). Tried again a few
/// times on a database error; what still cannot be written is taken up again once its claim expires (a
/// receipt is then looked up, an adjustment becomes "outcome unknown").
async fn write(
    state: &AppState,
    pass: &Pass<'_>,
    due: &[Due],
    outcomes: Vec<(i64, Outcome)>,
    posted: &[i64],
) {
    if outcomes.is_empty() {
        return;
    }
    for attempt in 1..=WRITE_ATTEMPTS {
        match write_once(state, pass, due, &outcomes, posted).await {
            Ok(()) => return,
            Err(e) if attempt < WRITE_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "could not write reports' outcomes; trying again");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::error!(error = %e, reports = outcomes.len(), "could not write reports' outcomes; they are taken up again when their claim expires");
            }
        }
    }
}

const WRITE_ATTEMPTS: u32 = 3;

async fn write_once(
    state: &AppState,
    pass: &Pass<'_>,
    due: &[Due],
    outcomes: &[(i64, Outcome)],
    posted: &[i64],
) -> Result<(), sqlx::Error> {
    let now = now_unix();
    let claim = pass.claim;
    let mut tx = state.db.begin_write().await?;
    let changed = keys_changed(&mut tx, pass, due, outcomes).await?;
    let again = Outcome::Again("a key changed while the report was being sent".into());
    for (id, outcome) in outcomes {
        let report = due.iter().find(|d| d.id == *id);
        // A hold for want of a key decided before a key changed would stick: no release could see it.
        let outcome = match (outcome, report) {
            (Outcome::Held(_, reason), Some(d))
                if reason.held_for() == HeldFor::Key && changed.contains(&d.organization_id) =>
            {
                &again
            }
            _ => outcome,
        };
        let attempts = report.map_or(0, |d| d.attempts) + 1;
        // A receipt keeps its mark (looked up before any POST) while METRC may have it: unless it is
        // Sent, or METRC settled a POST of it in this pass, an earlier, interrupted send may be there.
        let keep_posting = report.is_some_and(|d| d.kind == ReportKind::Sale)
            && match outcome {
                Outcome::Sent(_) | Outcome::Found => false,
                Outcome::Unsettled(_) => true,
                _ => !posted.contains(id),
            };
        let retry_at = || now + retry_pause(&state.config.outbox, attempts);
        let (status, key, reason, held_for, next, sent_at) = match outcome {
            Outcome::Sent(k) => (ReportStatus::Sent, Some(*k), None, None, now, Some(now)),
            Outcome::Found => (ReportStatus::Sent, None, None, None, now, Some(now)),
            Outcome::Held(k, r) => (
                ReportStatus::Held,
                *k,
                Some(r.text()),
                Some(r.held_for().code()),
                now,
                None,
            ),
            Outcome::Unknown(k) => (
                ReportStatus::OutcomeUnknown,
                *k,
                Some(reasons::OUTCOME_UNKNOWN.to_owned()),
                None,
                now,
                None,
            ),
            Outcome::Retry(r) | Outcome::Unsettled(r) => (
                ReportStatus::Pending,
                None,
                Some(r.clone()),
                None,
                retry_at(),
                None,
            ),
            Outcome::Again(r) => (
                ReportStatus::Pending,
                None,
                Some(r.clone()),
                None,
                now,
                None,
            ),
        };
        let (key_used, credential_id) = key.map_or((None, None), |k| {
            let (used, id) = key_used(k);
            (Some(used.code()), id)
        });
        sqlx::query(
            "UPDATE reports SET status = $1, key_used = COALESCE($2, key_used), credential_id = COALESCE($3, credential_id), \
             reason = $4, held_for = $5, next_attempt_at = $6, sent_at = $7, attempts = $8, \
             posting = (posting AND $11), \
             posting_since = CASE WHEN (posting AND $11) THEN posting_since ELSE NULL END, \
             lease_owner = NULL, lease_until = NULL WHERE id = $9 AND lease_owner = $10 AND status = $12",
        )
        .bind(status.code())
        .bind(key_used)
        .bind(credential_id)
        .bind(reason)
        .bind(held_for)
        .bind(next)
        .bind(sent_at)
        .bind(attempts)
        .bind(*id)
        .bind(claim)
        .bind(keep_posting)
        .bind(ReportStatus::Pending.code())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// A pass: its claim, and each organization's count of key releases (`keys_generation`) when it claimed.
struct Pass<'a> {
    claim: &'a str,
    generations: HashMap<i64, i64>,
}

/// The organizations of the claimed reports, and their count of key releases now (read before any key is
/// chosen).
async fn generations(
    conn: &mut AnyConnection,
    due: &[Due],
) -> Result<HashMap<i64, i64>, sqlx::Error> {
    let mut organizations: Vec<i64> = due.iter().map(|d| d.organization_id).collect();
    organizations.sort_unstable();
    organizations.dedup();
    let mut generations = HashMap::new();
    for organization_id in organizations {
        let generation: i64 =
            sqlx::query_scalar("SELECT keys_generation FROM organizations WHERE id = $1")
                .bind(organization_id)
                .fetch_one(&mut *conn)
                .await?;
        generations.insert(organization_id, generation);
    }
    Ok(generations)
}

/// The organizations where a key was released since the pass claimed (`keys::release_for_user` and the
/// other releases count them), among those a hold for want of a key is about to be written for. Takes
/// each one's row lock first, in order of ids, so a release either committed before (counted here) or
/// waits and then sees the hold.
async fn keys_changed(
    tx: &mut AnyConnection,
    pass: &Pass<'_>,
    due: &[Due],
    outcomes: &[(i64, Outcome)],
) -> Result<Vec<i64>, sqlx::Error> {
    let mut organizations: Vec<i64> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Held(_, r) if r.held_for() == HeldFor::Key))
        .filter_map(|(id, _)| due.iter().find(|d| d.id == *id))
        .map(|d| d.organization_id)
        .collect();
    organizations.sort_unstable();
    organizations.dedup();
    let mut changed = Vec::new();
    for organization_id in organizations {
        crate::accounts::lock_organization(&mut *tx, organization_id).await?;
        let now: i64 =
            sqlx::query_scalar("SELECT keys_generation FROM organizations WHERE id = $1")
                .bind(organization_id)
                .fetch_one(&mut *tx)
                .await?;
        if pass.generations.get(&organization_id) != Some(&now) {
            changed.push(organization_id);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(retry: u64, retry_max: u64) -> OutboxConfig {
        OutboxConfig {
            poll: Duration::from_secs(1),
            lease: Duration::from_secs(120),
            retry: Duration::from_secs(retry),
            retry_max: Duration::from_secs(retry_max),
            lookup_give_up: Duration::from_secs(86_400),
            settle: Duration::from_secs(60),
            posts_per_license: 2,
        }
    }

    #[test]
    fn retries_double_up_to_the_configured_cap_and_are_jittered() {
        let outbox = config(5, 600);
        for (attempts, full) in [
            (1, 5),
            (2, 10),
            (3, 20),
            (8, 600),
            (40, 600),
            (i64::MAX, 600),
        ] {
            let pauses: Vec<i64> = (0..200).map(|_| retry_pause(&outbox, attempts)).collect();
            assert!(
                pauses.iter().all(|p| (full / 2..=full).contains(p)),
                "attempt {attempts}: {pauses:?}"
            );
            if full >= 20 {
                let distinct: std::collections::HashSet<_> = pauses.iter().collect();
                assert!(
                    distinct.len() > 3,
                    "a fleet would retry in step: {distinct:?}"
                );
            }
        }
        assert!(
            (15..=30).contains(&retry_pause(&config(5, 30), 10)),
            "the cap is the setting"
        );
    }
}

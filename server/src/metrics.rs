//! Prometheus metrics on `METRICS_ADDR` (off by default): `GET /metrics` on a listener of its own, never
//! on the public port. Counters and histograms are kept by the `metrics` facade with
//! `metrics-exporter-prometheus`'s recorder (installed once per process); the figures that describe the
//! database — reports by status and hold reason, the age of the oldest pending report per license — and
//! the workers' heartbeats are read afresh at each scrape, so they are right whichever server process
//! changed them. No label holds a key, an email, a name or a patient number: states, license numbers,
//! endpoints, outcomes and worker names only. README "Metrics" says what each one means.

use crate::AppState;
use crate::db::now_unix;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use shared::report::reasons;
use std::sync::OnceLock;

/// The process's recorder: installed by the first server that serves metrics (the facade has one global
/// recorder per process).
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// How long a scrape waits for the database's figures.
const REFRESH_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How often the recorder's histograms are drained, scraped or not (the recorder asks for it).
pub const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Buckets for METRC's answer time, in seconds: METRC is usually well under a second, and slow when
/// it is in trouble.
const METRC_SECONDS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// The process's Prometheus recorder, installed on first use; `None` when another recorder was
/// installed first (then `/metrics` says so).
pub fn handle() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("tc_metrc_request_duration_seconds".into()),
                    METRC_SECONDS,
                )
                .ok()?
                .install_recorder();
            match recorder {
                Ok(handle) => Some(handle),
                Err(e) => {
                    tracing::error!(error = %e, "the metrics recorder could not be installed");
                    None
                }
            }
        })
        .clone()
}

/// The router of the metrics listener.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no metrics recorder").into_response();
    };
    // The database's figures within 2 s, or the last ones: the counters are rendered whatever the
    // database does, and they matter most when it is in trouble.
    match tokio::time::timeout(REFRESH_WAIT, refresh(&state)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database figures could not be read");
            metrics::counter!("tc_metrics_refresh_failures_total").increment(1);
        }
        Err(_) => {
            tracing::warn!(
                "metrics: the database figures took more than 2 s; the last ones are shown"
            );
            metrics::counter!("tc_metrics_refresh_failures_total").increment(1);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// The hold reason of a report as a label: one of a few words, never the stored sentence (which names a
/// license, or repeats METRC's own message).
fn reason_label(status: &str, reason: Option<&str>) -> &'static str {
    let Some(reason) = reason.filter(|_| status == "held") else {
        return "none";
    };
    if reason == reasons::UNAUTHORIZED {
        "unauthorized"
    } else if reason == reasons::KEY_UNREADABLE {
        "key_unreadable"
    } else if reason == reasons::PERMISSION_MISSING {
        "permission_missing"
    } else if reason.starts_with(&reasons::no_access("")) {
        "no_access"
    } else if reason.starts_with(&reasons::no_credential("")) {
        "no_credential"
    } else {
        "refused"
    }
}

const STATUSES: &[&str] = &["pending", "sent", "held", "outcome_unknown", "dismissed"];
const HOLD_REASONS: &[&str] = &[
    "unauthorized",
    "no_access",
    "no_credential",
    "key_unreadable",
    "permission_missing",
    "refused",
];

/// Sets the gauges read from the database and from this process's workers.
async fn refresh(state: &AppState) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, Option<String>, i64)> =
        sqlx::query_as("SELECT status, reason, COUNT(*) FROM reports GROUP BY status, reason")
            .fetch_all(&state.db.pool)
            .await?;
    let mut counts: Vec<((&'static str, &'static str), f64)> = STATUSES
        .iter()
        .filter(|s| **s != "held")
        .map(|s| ((*s, "none"), 0.0))
        .chain(HOLD_REASONS.iter().map(|r| (("held", *r), 0.0)))
        .collect();
    for (status, reason, n) in &rows {
        let label = reason_label(status, reason.as_deref());
        if let Some((_, count)) = counts
            .iter_mut()
            .find(|((s, r), _)| *s == status && *r == label)
        {
            *count += *n as f64;
        }
    }
    for ((status, reason), count) in counts {
        metrics::gauge!("tc_reports", "status" => status, "reason" => reason).set(count);
    }

    let now = now_unix();
    // Per license of every organization (a license number is unique within one organization only).
    let oldest: Vec<(i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT l.organization_id, l.number, MIN(r.recorded_at) FROM licenses l \
         LEFT JOIN reports r ON r.license_id = l.id AND r.status = 'pending' \
         GROUP BY l.id, l.organization_id, l.number",
    )
    .fetch_all(&state.db.pool)
    .await?;
    for (organization, license, recorded_at) in oldest {
        let age = recorded_at.map_or(0, |at| now.saturating_sub(at).max(0));
        metrics::gauge!("tc_oldest_pending_report_age_seconds",
            "organization" => organization.to_string(), "license" => license)
        .set(age as f64);
    }

    for (worker, heartbeat) in [
        ("outbox", &state.heartbeats.outbox),
        ("key_recheck", &state.heartbeats.health),
        ("tally", &state.heartbeats.tally),
    ] {
        // Seconds past the beat the worker announced (0 while on time); before its first beat, since
        // when the process started.
        let late = heartbeat
            .due()
            .map_or(now.saturating_sub(state.heartbeats.started_at), |due| {
                now.saturating_sub(due).max(0)
            });
        metrics::gauge!("tc_worker_heartbeat_late_seconds", "worker" => worker).set(late as f64);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hold_reason_becomes_one_of_a_few_words() {
        assert_eq!(
            reason_label("held", Some(reasons::UNAUTHORIZED)),
            "unauthorized"
        );
        assert_eq!(
            reason_label("held", Some(&reasons::no_access("402R-00101"))),
            "no_access"
        );
        assert_eq!(
            reason_label("held", Some(&reasons::no_credential("MR281001"))),
            "no_credential"
        );
        assert_eq!(
            reason_label("held", Some(reasons::KEY_UNREADABLE)),
            "key_unreadable"
        );
        assert_eq!(
            reason_label("held", Some(reasons::PERMISSION_MISSING)),
            "permission_missing"
        );
        assert_eq!(
            reason_label("held", Some("Package 1A4… has no quantity left")),
            "refused"
        );
        assert_eq!(reason_label("sent", Some(reasons::UNAUTHORIZED)), "none");
        assert_eq!(reason_label("pending", None), "none");
    }
}

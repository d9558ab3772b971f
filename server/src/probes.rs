//! Probes for whatever runs the server (a load balancer, an orchestrator): `GET /healthz` — the process
//! answers; `GET /readyz` — it can do its work: the database answers and carries every migration of this
//! build, and each background worker beat when it said it would (give or take
//! `READY_HEARTBEAT_SLACK_SECS`). Otherwise 503, naming each problem. Neither needs a session, and neither
//! says anything a visitor could use (no versions, no addresses).

use crate::AppState;
use crate::db::now_unix;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::time::Duration;

/// How long the readiness check waits for the database.
const DATABASE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Serialize)]
struct Probe {
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
}

/// `GET /healthz`: alive.
pub async fn healthz() -> Response {
    answer(Vec::new(), "alive")
}

/// `GET /readyz`: ready to serve, or 503 and why not.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let mut problems = Vec::new();
    match tokio::time::timeout(DATABASE_WAIT, state.db.migrations_current()).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => problems.push(
            "the database's migrations differ from this build's (another version migrated it?)"
                .into(),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the database did not answer");
            problems.push("the database cannot be reached".into());
        }
        Err(_) => problems.push(format!(
            "the database did not answer within {} s",
            DATABASE_WAIT.as_secs()
        )),
    }
    let slack = i64::try_from(state.config.heartbeat_slack.as_secs()).unwrap_or(i64::MAX / 4);
    let now = now_unix();
    for (name, heartbeat) in [
        ("the reporting outbox", &state.heartbeats.outbox),
        ("the key re-check", &state.heartbeats.health),
        ("the accountability counts", &state.heartbeats.tally),
    ] {
        match heartbeat.due() {
            None => problems.push(format!("{name} has not started")),
            Some(due) if now.saturating_sub(due) > slack => problems.push(format!(
                "{name} is {} s late for its heartbeat (allowed: {slack} s)",
                now.saturating_sub(due)
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        tracing::warn!(?problems, "not ready");
    }
    answer(problems, "ready")
}

fn answer(problems: Vec<String>, fine: &'static str) -> Response {
    let (status, word) = if problems.is_empty() {
        (StatusCode::OK, fine)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(Probe {
            status: word,
            problems,
        }),
    )
        .into_response()
}

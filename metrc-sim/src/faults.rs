//! Fault injection: what METRC does on a bad day, on demand, per state or per user key.
//!
//! A fault applies to the next `times` matching requests (or to all while it is set) and is checked
//! before the request is handled. Latency delays the normal answer; the others replace it.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// METRC's own sentence for a 429.
pub const RATE_LIMIT_MESSAGE: &str = "The limit of API calls allowed has been exceeded. Please pace the usage rate of the API more apart.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FaultKind {
    /// Answers normally, after a delay.
    Latency { ms: u64 },
    /// A POST is taken (its objects recorded) at once and answered only after a delay, as when METRC is
    /// slow to answer what it already did: a sender that dies or gives up meanwhile cannot know it went
    /// through. On a GET, the same as `Latency`.
    SlowAnswer { ms: u64 },
    /// 500 with `{"Message": …}`.
    ServerError,
    /// 503 with no body, as during an outage.
    Unavailable,
    /// Starts a 200 answer, then drops the connection mid-body.
    DropConnection,
    /// 200 with a body that is not valid JSON.
    MalformedJson,
    /// 429 with METRC's message, and `Retry-After` when given.
    RateLimited { retry_after_secs: Option<u64> },
    /// `302 Found` to [`REDIRECTED`], which answers 200 to any method: a client that follows it turns a
    /// POST into a GET and reads "accepted" where nothing was taken.
    Redirect,
    /// A POST answered `504 Gateway Timeout` at once, and applied anyway after a delay, whatever the
    /// client does meanwhile: METRC still working on a batch its gateway gave up on. A lookup in between
    /// finds nothing. On a GET, a plain 504.
    LateApply { ms: u64 },
}

/// Where [`FaultKind::Redirect`] sends a request.
pub const REDIRECTED: &str = "/_sim/redirected";

/// A fault as set through the admin API or the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Lower-case state code.
    pub state: String,
    /// Only requests with this user key; every request of the state when absent.
    #[serde(default)]
    pub user_key: Option<String>,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching requests it applies to; all of them when absent.
    #[serde(default)]
    pub times: Option<u32>,
}

impl Fault {
    pub fn matches(&self, state: &str, user_key: Option<&str>) -> bool {
        self.state.eq_ignore_ascii_case(state)
            && self.times != Some(0)
            && self.user_key.as_deref().is_none_or(|k| Some(k) == user_key)
    }
}

/// What the handler does with a fault that matched.
#[derive(Debug)]
pub enum Effect {
    Delay(Duration),
    /// Do the work, then wait before answering.
    DelayAnswer(Duration),
    /// Answer 504 now, do the work after the delay (GETs: a plain 504).
    ApplyLate(Duration),
    Replace(Response),
}

impl FaultKind {
    pub fn effect(self) -> Effect {
        let json = |status: StatusCode, message: &str| {
            (
                status,
                axum::Json(serde_json::json!({ "Message": message })),
            )
                .into_response()
        };
        match self {
            FaultKind::Latency { ms } => Effect::Delay(Duration::from_millis(ms)),
            FaultKind::SlowAnswer { ms } => Effect::DelayAnswer(Duration::from_millis(ms)),
            FaultKind::ServerError => Effect::Replace(json(
                StatusCode::INTERNAL_SERVER_ERROR,
                "An error has occurred.",
            )),
            FaultKind::Unavailable => {
                Effect::Replace(StatusCode::SERVICE_UNAVAILABLE.into_response())
            }
            FaultKind::DropConnection => {
                let chunks: [Result<Bytes, std::io::Error>; 2] = [
                    Ok(Bytes::from_static(b"[{\"FacilityId\": 1, \"Name\": \"")),
                    Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "dropped",
                    )),
                ];
                let mut response =
                    Response::new(Body::from_stream(futures_util::stream::iter(chunks)));
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                Effect::Replace(response)
            }
            FaultKind::MalformedJson => Effect::Replace(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    "[{\"FacilityId\": 1, \"License\": {\"Number\": ",
                )
                    .into_response(),
            ),
            FaultKind::RateLimited { retry_after_secs } => {
                Effect::Replace(too_many_requests(retry_after_secs))
            }
            FaultKind::Redirect => Effect::Replace(
                (StatusCode::FOUND, [(header::LOCATION, REDIRECTED)]).into_response(),
            ),
            FaultKind::LateApply { ms } => Effect::ApplyLate(Duration::from_millis(ms)),
        }
    }
}

/// METRC's 429: its sentence in `{"Message": …}`, with `Retry-After` when given.
pub fn too_many_requests(retry_after_secs: Option<u64>) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(serde_json::json!({ "Message": RATE_LIMIT_MESSAGE })),
    )
        .into_response();
    if let Some(secs) = retry_after_secs {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// Faults drawn at random, per request, from a seeded mix: what a chaos campaign throws at a client. The
/// same seed and the same order of requests draw the same faults. Explicit faults ([`Fault`]) are served
/// first; the mix applies to requests none of them matched.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Chaos {
    pub seed: u64,
    /// The share of requests that meet a fault, from 0 to 1.
    pub probability: f64,
}

/// The mix being drawn from, and what it drew.
#[derive(Debug)]
pub(crate) struct ChaosDraws {
    rng: rand::rngs::StdRng,
    probability: f64,
    drawn: std::collections::BTreeMap<&'static str, u64>,
}

impl ChaosDraws {
    pub(crate) fn new(chaos: Chaos) -> Self {
        use rand::SeedableRng;
        ChaosDraws {
            rng: rand::rngs::StdRng::seed_from_u64(chaos.seed),
            probability: chaos.probability.clamp(0.0, 1.0),
            drawn: std::collections::BTreeMap::new(),
        }
    }

    /// A fault for one request, or none. A POST may meet: latency, a late answer after taking it, 500,
    /// 503, 429 with or without `Retry-After`, a redirect, a connection dropped after the batch was
    /// applied, or a 504 for a batch applied a moment later. A GET the same, with a malformed body instead
    /// of the late answer and latency instead of the late batch. (Never a 200 that did not apply a POST:
    /// METRC's 200 means it took the batch.)
    pub(crate) fn draw(&mut self, post: bool) -> Option<FaultKind> {
        use rand::Rng;
        if !self.rng.random_bool(self.probability) {
            return None;
        }
        let ms = self.rng.random_range(50..=400);
        let (name, kind) = match self.rng.random_range(0..9) {
            0 => ("latency", FaultKind::Latency { ms }),
            1 if post => ("slow_answer", FaultKind::SlowAnswer { ms }),
            1 => ("malformed_json", FaultKind::MalformedJson),
            2 => ("server_error", FaultKind::ServerError),
            3 => ("unavailable", FaultKind::Unavailable),
            4 => (
                "rate_limited",
                FaultKind::RateLimited {
                    retry_after_secs: None,
                },
            ),
            5 => (
                "rate_limited_retry_after",
                FaultKind::RateLimited {
                    retry_after_secs: Some(1),
                },
            ),
            6 => ("redirect", FaultKind::Redirect),
            7 if post => ("late_apply", FaultKind::LateApply { ms }),
            7 => ("latency", FaultKind::Latency { ms }),
            _ => ("drop_connection", FaultKind::DropConnection),
        };
        *self.drawn.entry(name).or_default() += 1;
        Some(kind)
    }

    /// How many faults of each class were drawn.
    pub(crate) fn drawn(&self) -> std::collections::BTreeMap<&'static str, u64> {
        self.drawn.clone()
    }
}

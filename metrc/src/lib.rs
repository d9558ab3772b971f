//! Our METRC client. Everything that talks to METRC goes through [`Metrc`]; [`HttpMetrc`] is the one
//! implementation, over reqwest. METRC's answers are classified once, in [`MetrcError`]: an outage is
//! never reported as a bad key.
//!
//! So far: `verify_key` (one `GET /facilities/v2/` whatever the number of licenses), with GET retries
//! (backoff with jitter, `Retry-After` honoured) inside an overall deadline.

pub mod facilities;

use facilities::ReachedFacility;
use rand::Rng;
use shared::{LicenseNumber, MetrcUserKey, StateCode};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// Where each state's METRC is and how long we wait for it.
#[derive(Clone)]
pub struct Settings {
    /// `{state}` stands for the lower-case state code, e.g. `https://api-{state}.metrc.com`.
    pub url_template: String,
    pub url_overrides: BTreeMap<StateCode, String>,
    /// Our software vendor key (the Basic-auth user name), and per-state overrides.
    pub vendor_key: Option<String>,
    pub vendor_key_overrides: BTreeMap<StateCode, String>,
    pub connect_timeout: Duration,
    /// One HTTP request, retries not included.
    pub request_timeout: Duration,
    /// One operation, retries included.
    pub deadline: Duration,
}

impl Settings {
    /// The product's defaults: connect 5 s, request 15 s, 20 s in all.
    pub fn new(url_template: impl Into<String>) -> Self {
        Settings {
            url_template: url_template.into(),
            url_overrides: BTreeMap::new(),
            vendor_key: None,
            vendor_key_overrides: BTreeMap::new(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            deadline: Duration::from_secs(20),
        }
    }

    /// The base URL of a state's METRC, without a trailing slash.
    pub fn base_url(&self, state: StateCode) -> String {
        self.url_overrides
            .get(&state)
            .cloned()
            .unwrap_or_else(|| {
                self.url_template
                    .replace("{state}", &state.code().to_ascii_lowercase())
            })
            .trim_end_matches('/')
            .to_owned()
    }

    pub fn vendor_key(&self, state: StateCode) -> Option<&str> {
        self.vendor_key_overrides
            .get(&state)
            .or(self.vendor_key.as_ref())
            .map(String::as_str)
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("url_template", &self.url_template)
            .field("url_overrides", &self.url_overrides)
            .field(
                "vendor_key",
                &self.vendor_key.as_ref().map(|_| "[redacted]"),
            )
            .field(
                "vendor_key_states",
                &self.vendor_key_overrides.keys().collect::<Vec<_>>(),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Every way a METRC call can fail, decided once from METRC's answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetrcError {
    /// 401 or 403 on `/facilities/v2/`: the key is wrong, revoked, or from another state or environment.
    #[error("METRC refused the user key")]
    InvalidKey,
    /// 429 until the deadline.
    #[error("METRC rate-limited the request")]
    RateLimited { retry_after: Option<Duration> },
    /// 5xx, a timeout, a failed connection or an answer that could not be read, until the deadline.
    #[error("METRC is unavailable: {0}")]
    Unavailable(String),
    /// We have no vendor key for the state.
    #[error("no METRC vendor key is configured for {0}")]
    NotConfigured(StateCode),
    /// An answer METRC does not document for this call.
    #[error("METRC answered with an unexpected status {0}")]
    Unexpected(u16),
}

/// The outcome of checking a user key against some licenses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCheck {
    /// Every facility the key reaches (also those not asked about).
    pub reached: Vec<ReachedFacility>,
    /// The asked-for licenses the key does not reach, in the order asked.
    pub missing: Vec<LicenseNumber>,
}

/// What talks to METRC.
pub trait Metrc: Send + Sync {
    /// Is the key valid in this state, and which of these licenses does it reach? One GET.
    fn verify_key(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        licenses: &[LicenseNumber],
    ) -> impl Future<Output = Result<KeyCheck, MetrcError>> + Send;
}

/// The reqwest implementation: one pooled client for every state.
#[derive(Debug, Clone)]
pub struct HttpMetrc {
    http: reqwest::Client,
    settings: Settings,
}

impl HttpMetrc {
    pub fn new(settings: Settings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!(
                "traceability-credentials/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        Ok(HttpMetrc { http, settings })
    }

    /// A GET with retries: 429, 5xx, timeouts, dropped connections and 200 answers that `parse`
    /// cannot read are tried again with growing, jittered pauses (or the `Retry-After` METRC asks for)
    /// until the deadline. Other 4xx answers are final at once. Returns the status of the last answer
    /// and, for a 200, what `parse` made of its body.
    async fn get<T>(
        &self,
        state: StateCode,
        path: &str,
        user_key: &MetrcUserKey,
        parse: impl Fn(&[u8]) -> Option<T>,
    ) -> Result<(u16, Option<T>), MetrcError> {
        let vendor = self
            .settings
            .vendor_key(state)
            .ok_or(MetrcError::NotConfigured(state))?;
        let url = format!("{}{path}", self.settings.base_url(state));
        let deadline = Instant::now() + self.settings.deadline;
        let mut pause = Duration::from_millis(200);
        loop {
            let attempt = self
                .http
                .get(&url)
                .basic_auth(vendor, Some(user_key.expose_secret()))
                .send();
            let failure = match tokio::time::timeout_at(deadline, attempt).await {
                Err(_) => return Err(MetrcError::Unavailable("deadline reached".into())),
                Ok(Err(e)) => Retry::Unavailable(describe(&e)),
                Ok(Ok(response)) => {
                    let status = response.status().as_u16();
                    let retry_after = retry_after(&response);
                    match status {
                        429 => Retry::RateLimited(retry_after),
                        500..=599 => Retry::Unavailable(format!("status {status}")),
                        _ => match tokio::time::timeout_at(deadline, response.bytes()).await {
                            Err(_) => {
                                return Err(MetrcError::Unavailable("deadline reached".into()));
                            }
                            Ok(Ok(_)) if status != 200 => return Ok((status, None)),
                            Ok(Ok(body)) => match parse(&body) {
                                Some(value) => return Ok((status, Some(value))),
                                None => {
                                    Retry::Unavailable("an answer that could not be read".into())
                                }
                            },
                            Ok(Err(e)) => Retry::Unavailable(describe(&e)),
                        },
                    }
                }
            };
            let wait = match &failure {
                Retry::RateLimited(Some(after)) => *after,
                _ => jittered(pause),
            };
            if Instant::now() + wait >= deadline {
                return Err(failure.into_error());
            }
            tracing::info!(%state, wait_ms = wait.as_millis(), reason = ?failure, "retrying a METRC GET");
            tokio::time::sleep(wait).await;
            pause = (pause * 2).min(Duration::from_secs(3));
        }
    }
}

/// Why a GET is tried again.
#[derive(Debug)]
enum Retry {
    RateLimited(Option<Duration>),
    Unavailable(String),
}

impl Retry {
    fn into_error(self) -> MetrcError {
        match self {
            Retry::RateLimited(retry_after) => MetrcError::RateLimited { retry_after },
            Retry::Unavailable(why) => MetrcError::Unavailable(why),
        }
    }
}

/// Between half and all of `pause`, so that many clients do not retry in step.
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(rand::rng().random_range(0.5..=1.0))
}

/// `Retry-After` in seconds (METRC does not use the date form).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A transport error in words, without the URL (which is ours, but keeps logs short).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        "the connection failed".into()
    }
}

impl Metrc for HttpMetrc {
    async fn verify_key(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        licenses: &[LicenseNumber],
    ) -> Result<KeyCheck, MetrcError> {
        let (status, reached) = self
            .get(state, "/facilities/v2/", key, facilities::parse)
            .await?;
        match (status, reached) {
            (200, Some(reached)) => {
                let missing = licenses
                    .iter()
                    .filter(|l| !reached.iter().any(|f| f.license_number == l.as_str()))
                    .cloned()
                    .collect();
                Ok(KeyCheck { reached, missing })
            }
            (401 | 403, _) => Err(MetrcError::InvalidKey),
            (other, _) => Err(MetrcError::Unexpected(other)),
        }
    }
}

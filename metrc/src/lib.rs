//! Our METRC client. Everything that talks to METRC goes through [`Metrc`]; [`HttpMetrc`] is the one
//! implementation, over reqwest. METRC's answers are classified once, in [`MetrcError`]: an outage is
//! never reported as a bad key.
//!
//! `verify_key` makes one `GET /facilities/v2/` whatever the number of licenses; GETs are paced under
//! METRC's limits ([`pacing`]) and retried
//! (backoff with jitter, `Retry-After` honoured) inside an overall deadline. `send_receipts` and
//! `send_adjustments` follow the rules in [`reports`]: batches of 10, bad rows set aside, no blind POST
//! retry, receipts looked up after an ambiguous failure, adjustments then "outcome unknown".

pub mod facilities;
pub mod pacing;
pub mod reports;

use facilities::ReachedFacility;
use rand::Rng;
use reports::{Adjustment, Delivery, Posted, Receipt};
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
    /// The GET limits we pace under.
    pub get_limits: pacing::GetLimits,
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
            get_limits: pacing::GetLimits::default(),
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
            .field("get_limits", &self.get_limits)
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
    /// 401 or 403 on a license-scoped call: the key is invalid, does not reach the license, or lacks a
    /// permission. `verify_key` tells which.
    #[error("METRC refused the call for this license")]
    Refused,
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

    /// Sends sales receipts for a license; one [`Delivery`] per receipt, in order.
    fn send_receipts(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        license: &LicenseNumber,
        receipts: &[Receipt],
    ) -> impl Future<Output = Vec<Delivery>> + Send;

    /// Sends package adjustments for a license; one [`Delivery`] per adjustment, in order.
    fn send_adjustments(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        license: &LicenseNumber,
        adjustments: &[Adjustment],
    ) -> impl Future<Output = Vec<Delivery>> + Send;
}

/// The reqwest implementation: one pooled client for every state.
#[derive(Debug, Clone)]
pub struct HttpMetrc {
    http: reqwest::Client,
    settings: Settings,
    pacing: std::sync::Arc<pacing::Pacing>,
}

impl HttpMetrc {
    pub fn new(settings: Settings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            // Never follow a redirect: a followed POST becomes a GET whose 200 would read as "accepted".
            // METRC does not redirect its API; a 3xx is an answer we cannot trust.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .user_agent(concat!(
                "traceability-credentials/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()?;
        let pacing = std::sync::Arc::new(pacing::Pacing::new(settings.get_limits));
        Ok(HttpMetrc {
            http,
            settings,
            pacing,
        })
    }

    fn vendor(&self, state: StateCode) -> Result<&str, MetrcError> {
        self.settings
            .vendor_key(state)
            .ok_or(MetrcError::NotConfigured(state))
    }

    /// A state's METRC URL for a path given as segments (each percent-encoded as needed) and a query.
    fn url(
        &self,
        state: StateCode,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<reqwest::Url, MetrcError> {
        let base = self.settings.base_url(state);
        let mut url = reqwest::Url::parse(&format!("{base}/")).map_err(|_| {
            MetrcError::Unavailable(format!("the METRC URL for {state} is not valid"))
        })?;
        url.path_segments_mut()
            .map_err(|()| {
                MetrcError::Unavailable(format!("the METRC URL for {state} is not valid"))
            })?
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// A GET with retries: 429, 5xx, timeouts, dropped connections and 200 answers that `parse`
    /// cannot read are tried again with growing, jittered pauses (or the `Retry-After` METRC asks for)
    /// until the deadline. Other 4xx answers are final at once. Returns the status of the last answer
    /// and, for a 200, what `parse` made of its body.
    async fn get<T>(
        &self,
        state: StateCode,
        (endpoint, url): (Endpoint, reqwest::Url),
        license: Option<&LicenseNumber>,
        user_key: &MetrcUserKey,
        parse: impl Fn(&[u8]) -> Option<T>,
        deadline: Instant,
    ) -> Result<(u16, Option<T>), MetrcError> {
        let vendor = self.vendor(state)?;
        let mut pause = Duration::from_millis(200);
        loop {
            // Paced under METRC's limits; the places are held until this attempt is answered.
            let paced = self
                .pacing
                .enter(state.code(), license.map(LicenseNumber::as_str));
            let Ok(_places) = tokio::time::timeout_at(deadline, paced).await else {
                return Err(MetrcError::Unavailable("deadline reached".into()));
            };
            let attempt = self
                .http
                .get(url.clone())
                .basic_auth(vendor, Some(user_key.expose_secret()))
                .send();
            let started = Instant::now();
            let answered = tokio::time::timeout_at(deadline, attempt).await;
            observe(state, endpoint, started, answered.as_ref().map_err(|_| ()));
            let failure = match answered {
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
            if !fits(wait, deadline) {
                return Err(failure.into_error());
            }
            tracing::info!(%state, wait_ms = wait.as_millis(), reason = ?failure, "retrying a METRC GET");
            tokio::time::sleep(wait).await;
            pause = (pause * 2).min(Duration::from_secs(3));
        }
    }
}

impl HttpMetrc {
    /// One POST of a batch, classified. Never retried here.
    async fn post_once<T: serde::Serialize + Sync>(
        &self,
        state: StateCode,
        endpoint: Endpoint,
        url: reqwest::Url,
        key: &MetrcUserKey,
        batch: &[T],
    ) -> Posted {
        let vendor = match self.vendor(state) {
            Ok(vendor) => vendor,
            Err(e) => return Posted::Refused(e),
        };
        let started = Instant::now();
        let sent = self
            .http
            .post(url)
            .basic_auth(vendor, Some(key.expose_secret()))
            .json(batch)
            .send()
            .await;
        observe(state, endpoint, started, Ok(&sent));
        let response = match sent {
            // Not connected at all: nothing reached METRC.
            Err(e) if e.is_connect() => {
                return Posted::NotTaken(MetrcError::Unavailable(describe(&e)));
            }
            Err(e) => return Posted::Ambiguous(describe(&e)),
            Ok(response) => response,
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(&response);
        let body = response.bytes().await;
        match (status, body) {
            (200, Ok(_)) => Posted::Accepted,
            (200, Err(e)) => Posted::Ambiguous(describe(&e)),
            (400, Ok(body)) => reports::read_400(&body),
            (401 | 403, _) => Posted::Refused(MetrcError::Refused),
            // Not followed: whatever is behind it, we cannot tell whether METRC took the batch.
            (300..=399, _) => Posted::Ambiguous(format!("a redirect (status {status})")),
            (429, _) => Posted::NotTaken(MetrcError::RateLimited { retry_after }),
            (503, _) => Posted::NotTaken(MetrcError::Unavailable("status 503".into())),
            (500..=599, _) => Posted::Ambiguous(format!("status {status}")),
            (_, Err(e)) => Posted::Ambiguous(describe(&e)),
            (other, Ok(_)) => Posted::Refused(MetrcError::Unexpected(other)),
        }
    }

    /// The moment METRC's deadline (`METRC_DEADLINE_SECS`) from now ends: several calls made for one batch
    /// share it, so the batch as a whole is bounded.
    pub fn deadline(&self) -> Instant {
        deadline_in(self.settings.deadline)
    }

    /// Whether METRC has a receipt with this external number at the license, asked before `deadline`. (A
    /// sender whose POST may have reached METRC asks this before it ever posts the receipt again.)
    pub async fn receipt_exists(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        license: &LicenseNumber,
        external_number: &str,
        deadline: Instant,
    ) -> Lookup {
        let url = self.url(
            state,
            &["sales", "v2", "receipts", "external", external_number],
            &[("licenseNumber", license.as_str())],
        );
        let Ok(url) = url else {
            return Lookup::Unknown;
        };
        let found = |body: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .filter(|v| v.is_object())
        };
        match self
            .get(
                state,
                (Endpoint::ReceiptLookup, url),
                Some(license),
                key,
                found,
                deadline,
            )
            .await
        {
            Ok((200, Some(_))) => Lookup::Found,
            Ok((404, _)) => Lookup::Absent,
            Ok((401 | 403, _)) => Lookup::Refused,
            _ => Lookup::Unknown,
        }
    }

    /// Sends objects in batches of at most 10, following the rules in [`reports`]. `lookup` says, for an
    /// object, whether METRC already has it (receipts), or is `None` when objects cannot be looked up
    /// (adjustments).
    async fn send<T, L, F>(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        endpoint: Endpoint,
        license: &LicenseNumber,
        objects: &[T],
        lookup: Option<L>,
    ) -> Vec<Delivery>
    where
        T: serde::Serialize + Sync,
        L: Fn(usize, Instant) -> F,
        F: Future<Output = Lookup>,
    {
        let mut deliveries: Vec<Option<Delivery>> = vec![None; objects.len()];
        let url = match self.url(
            state,
            endpoint.path(),
            &[("licenseNumber", license.as_str())],
        ) {
            Ok(url) => url,
            Err(e) => return vec![Delivery::NotSent(e); objects.len()],
        };
        // One deadline for the POSTs and the lookups after an ambiguous answer: a batch is bounded.
        let deadline = self.deadline();
        let indices: Vec<usize> = (0..objects.len()).collect();
        for chunk in indices.chunks(reports::MAX_BATCH) {
            let mut pending: Vec<usize> = chunk.to_vec();
            let mut pause = Duration::from_millis(200);
            while !pending.is_empty() {
                // Every POST leaves within the deadline (a sender counts on it: a lookup after the
                // batch waits from its start), also the one after METRC set bad rows aside.
                if Instant::now() >= deadline {
                    for &i in &pending {
                        deliveries[i] = Some(Delivery::NotSent(MetrcError::Unavailable(
                            "the deadline passed before the batch could be sent".into(),
                        )));
                    }
                    pending.clear();
                    continue;
                }
                let batch: Vec<&T> = pending.iter().map(|&i| &objects[i]).collect();
                match self
                    .post_once(state, endpoint, url.clone(), key, &batch)
                    .await
                {
                    Posted::Accepted => {
                        for &i in &pending {
                            deliveries[i] = Some(Delivery::Accepted);
                        }
                        pending.clear();
                    }
                    Posted::RowErrors(rows) => {
                        let mut bad: BTreeMap<usize, Vec<String>> = BTreeMap::new();
                        for (row, message) in rows {
                            if let Some(&i) = pending.get(row) {
                                bad.entry(i).or_default().push(message);
                            }
                        }
                        if bad.is_empty() {
                            // Row numbers we cannot place: do not guess which objects were bad.
                            for &i in &pending {
                                deliveries[i] = Some(Delivery::Rejected(vec![
                                    "METRC refused the batch for rows it did not name.".into(),
                                ]));
                            }
                            pending.clear();
                        } else {
                            pending.retain(|i| !bad.contains_key(i));
                            for (i, messages) in bad {
                                deliveries[i] = Some(Delivery::Rejected(messages));
                            }
                        }
                    }
                    Posted::WholeRejected(message) => {
                        for &i in &pending {
                            deliveries[i] = Some(Delivery::Rejected(vec![message.clone()]));
                        }
                        pending.clear();
                    }
                    Posted::Refused(error) => {
                        for &i in &pending {
                            deliveries[i] = Some(Delivery::NotSent(error.clone()));
                        }
                        pending.clear();
                    }
                    Posted::Ambiguous(why) => {
                        tracing::warn!(%state, reason = %why, "a METRC POST ended ambiguously");
                        let Some(lookup) = &lookup else {
                            for &i in &pending {
                                deliveries[i] = Some(Delivery::OutcomeUnknown);
                            }
                            pending.clear();
                            continue;
                        };
                        // Found: METRC has it. Not found (yet): METRC may still be working on the batch
                        // its answer was lost for, so it is never posted again here — it stays unsettled,
                        // and the sender looks it up again once the batch has surely settled.
                        for &i in &pending {
                            deliveries[i] = Some(match lookup(i, deadline).await {
                                Lookup::Found => Delivery::Accepted,
                                Lookup::Absent | Lookup::Refused | Lookup::Unknown => {
                                    Delivery::Unsettled
                                }
                            });
                        }
                        pending.clear();
                    }
                    Posted::NotTaken(error) => {
                        let wait = match &error {
                            MetrcError::RateLimited {
                                retry_after: Some(after),
                            } => *after,
                            _ => jittered(pause),
                        };
                        if !fits(wait, deadline) {
                            for &i in &pending {
                                deliveries[i] = Some(Delivery::NotSent(error.clone()));
                            }
                            pending.clear();
                        } else {
                            tokio::time::sleep(wait).await;
                            pause = (pause * 2).min(Duration::from_secs(3));
                        }
                    }
                }
            }
        }
        deliveries
            .into_iter()
            .map(|d| d.unwrap_or(Delivery::OutcomeUnknown))
            .collect()
    }
}

/// The lookup of objects METRC cannot look up (adjustments).
type NoLookup = fn(usize, Instant) -> std::future::Ready<Lookup>;

/// What METRC said when asked whether it has a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// It has it.
    Found,
    /// It does not have it (now: a batch it is still working on may yet appear).
    Absent,
    /// It refused the key (401/403): the key is to be re-checked.
    Refused,
    /// It could not be asked before the deadline, or answered nothing we can read.
    Unknown,
}

/// The METRC endpoints we call: a metric's label (never a path with a number in it) and, for a POST, the
/// path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Facilities,
    ReceiptLookup,
    Receipts,
    Adjustments,
}

impl Endpoint {
    fn label(self) -> &'static str {
        match self {
            Endpoint::Facilities => "facilities",
            Endpoint::ReceiptLookup => "receipt_lookup",
            Endpoint::Receipts => "receipts",
            Endpoint::Adjustments => "adjustments",
        }
    }

    /// The path of a POST endpoint.
    fn path(self) -> &'static [&'static str] {
        match self {
            Endpoint::Receipts => &["sales", "v2", "receipts"],
            Endpoint::Adjustments => &["packages", "v2", "adjust"],
            Endpoint::Facilities | Endpoint::ReceiptLookup => &[],
        }
    }
}

/// Counts one request to METRC by state, endpoint and what came back (`2xx` … `5xx`, `timeout`, or
/// `error` for a connection that failed), and records how long METRC took to answer:
/// `tc_metrc_requests_total` and `tc_metrc_request_duration_seconds` (README, "Metrics").
fn observe(
    state: StateCode,
    endpoint: Endpoint,
    started: Instant,
    answer: Result<&Result<reqwest::Response, reqwest::Error>, ()>,
) {
    let class = match answer {
        Err(()) => "timeout",
        Ok(Err(e)) if e.is_timeout() => "timeout",
        Ok(Err(_)) => "error",
        Ok(Ok(response)) => match response.status().as_u16() {
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        },
    };
    let (state, endpoint) = (state.code(), endpoint.label());
    metrics::counter!("tc_metrc_requests_total", "state" => state, "endpoint" => endpoint, "status" => class)
        .increment(1);
    metrics::histogram!("tc_metrc_request_duration_seconds", "state" => state, "endpoint" => endpoint)
        .record(started.elapsed().as_secs_f64());
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

/// The moment `within` from now; a duration too long for the clock is a year (no panic on any setting).
fn deadline_in(within: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(within)
        .unwrap_or_else(|| now + Duration::from_secs(365 * 86_400))
}

/// Whether a pause of `wait` from now ends before `deadline`. Checked: a `Retry-After` of any size (METRC's
/// or a proxy's) never overflows the clock, it only means "not before the deadline".
fn fits(wait: Duration, deadline: Instant) -> bool {
    Instant::now()
        .checked_add(wait)
        .is_some_and(|end| end < deadline)
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
        let url = self.url(state, &["facilities", "v2", ""], &[])?;
        let deadline = self.deadline();
        let (status, reached) = self
            .get(
                state,
                (Endpoint::Facilities, url),
                None,
                key,
                facilities::parse,
                deadline,
            )
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

    async fn send_receipts(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        license: &LicenseNumber,
        receipts: &[Receipt],
    ) -> Vec<Delivery> {
        let lookup = |i: usize, deadline: Instant| {
            self.receipt_exists(
                state,
                key,
                license,
                &receipts[i].external_receipt_number,
                deadline,
            )
        };
        self.send(
            state,
            key,
            Endpoint::Receipts,
            license,
            receipts,
            Some(lookup),
        )
        .await
    }

    async fn send_adjustments(
        &self,
        state: StateCode,
        key: &MetrcUserKey,
        license: &LicenseNumber,
        adjustments: &[Adjustment],
    ) -> Vec<Delivery> {
        let no_lookup: Option<NoLookup> = None;
        self.send(
            state,
            key,
            Endpoint::Adjustments,
            license,
            adjustments,
            no_lookup,
        )
        .await
    }
}

//! A METRC simulator: one listener serving any number of states under a path prefix per state
//! (`http://127.0.0.1:3001/{state}` + METRC's own paths), plus an admin API under `/_sim/` that tests
//! and demos use to add, revoke and rotate keys. It is a library (tests start it on port 0) and a binary
//! (`metrc-sim --seed demo`). It depends on none of our crates and is never linked into the server.
//!
//! What it does so far: Basic authentication (vendor key : user key) and `GET /facilities/v2/` (and
//! `/v1/`) with METRC's 2026 facility shape; 401 with an empty body for missing or malformed
//! authentication, an unknown vendor key, and an unknown or revoked user key; per-state key stores;
//! fault injection per state or key (latency, 500, 503 without a body, a dropped connection, malformed
//! JSON, 429 with or without `Retry-After`); METRC's GET rate limits per vendor key (429 with METRC's
//! message), configurable and switchable off.

pub mod admin;
pub mod demo;
pub mod faults;
pub mod limits;
pub mod reports;
pub mod world;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use faults::{Effect, Fault, FaultKind};
use limits::{Limits, Meter};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use world::{AuthFailure, Facility, StateWorld, UserKey};

/// A running or runnable simulator: the shared world behind both the METRC API and the admin API.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    states: Arc<Mutex<BTreeMap<String, StateWorld>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    /// Faults drawn at random from a seeded mix, when a chaos campaign set one.
    chaos: Arc<Mutex<Option<faults::ChaosDraws>>>,
    /// METRC API requests served (admin calls not counted), for tests that count round trips.
    requests: Arc<std::sync::atomic::AtomicU64>,
    /// Of them, the POSTs (receipts and adjustments).
    posts: Arc<std::sync::atomic::AtomicU64>,
    limits: Arc<Mutex<Limits>>,
    meter: Meter,
    /// Answer a license the key does not reach with 403 instead of METRC's usual 401.
    license_denied_with_403: Arc<std::sync::atomic::AtomicBool>,
    /// POSTs in flight per (state, license) now, and the most ever seen at once.
    posts_in_flight: Arc<Mutex<InFlightCounts>>,
}

/// (state, license) → (POSTs in flight now, the most at once).
type InFlightCounts = BTreeMap<(String, String), (usize, usize)>;

/// Counts a POST as in flight for a license from its arrival until its answer (or its caller's
/// disconnection).
struct InFlight {
    sim: Simulator,
    key: (String, String),
}

impl InFlight {
    fn start(sim: &Simulator, state: &str, license: &str) -> InFlight {
        let key = (state.to_ascii_lowercase(), license.to_owned());
        let mut all = sim
            .posts_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let entry = all.entry(key.clone()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(entry.0);
        InFlight {
            sim: sim.clone(),
            key,
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut all = self
            .sim
            .posts_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = all.get_mut(&self.key) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }
}

impl Simulator {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, StateWorld>> {
        // A panic while holding the lock leaves data that is still consistent (every change is one
        // insert or flag), so a poisoned lock is used as is.
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn with_state<T>(&self, state: &str, f: impl FnOnce(&mut StateWorld) -> T) -> T {
        f(self.lock().entry(state.to_ascii_lowercase()).or_default())
    }

    pub fn add_vendor_key(&self, state: &str, key: &str) {
        self.with_state(state, |w| w.vendor_keys.insert(key.to_owned()));
    }

    pub fn add_facility(&self, state: &str, facility: Facility) {
        self.with_state(state, |w| {
            w.facilities
                .insert(facility.license_number.clone(), facility)
        });
    }

    pub fn add_adjust_reason(&self, state: &str, reason: world::AdjustReason) {
        self.with_state(state, |w| w.adjust_reasons.push(reason));
    }

    pub fn add_package(&self, state: &str, package: reports::Package) {
        self.with_state(state, |w| {
            w.packages.insert(
                (package.license_number.clone(), package.label.clone()),
                package,
            )
        });
    }

    /// A package's stock now, if the package exists.
    pub fn stock(&self, state: &str, license: &str, label: &str) -> Option<f64> {
        self.with_state(state, |w| {
            w.packages
                .get(&(license.to_owned(), label.to_owned()))
                .map(|p| p.quantity)
        })
    }

    /// The sales receipts accepted in a state, with the user key each came under.
    pub fn receipts(&self, state: &str) -> Vec<reports::Recorded> {
        self.with_state(state, |w| w.receipts.clone())
    }

    /// How many receipts of a state carry this `ExternalReceiptNumber` (without copying them all).
    pub fn receipts_numbered(&self, state: &str, number: &str) -> usize {
        self.with_state(state, |w| {
            w.receipts
                .iter()
                .filter(|r| r.body["ExternalReceiptNumber"] == number)
                .count()
        })
    }

    /// The package adjustments accepted in a state, with the user key each came under.
    pub fn adjustments(&self, state: &str) -> Vec<reports::Recorded> {
        self.with_state(state, |w| w.adjustments.clone())
    }

    /// Adds (or replaces) a live user key reaching the given license numbers.
    pub fn add_user_key(&self, state: &str, key: &str, facilities: &[&str]) {
        self.with_state(state, |w| {
            w.user_keys.insert(
                key.to_owned(),
                UserKey {
                    facilities: facilities.iter().map(|s| (*s).to_owned()).collect(),
                    revoked: false,
                },
            )
        });
    }

    /// Sets the facilities a user key reaches. Returns false if the key is unknown.
    pub fn set_user_key_facilities(&self, state: &str, key: &str, facilities: &[&str]) -> bool {
        self.with_state(state, |w| match w.user_keys.get_mut(key) {
            Some(k) => {
                k.facilities = facilities.iter().map(|s| (*s).to_owned()).collect();
                true
            }
            None => false,
        })
    }

    /// Revokes a user key at once, as regenerating it in METRC does. Returns false if it is unknown.
    pub fn revoke_user_key(&self, state: &str, key: &str) -> bool {
        self.with_state(state, |w| match w.user_keys.get_mut(key) {
            Some(k) => {
                k.revoked = true;
                true
            }
            None => false,
        })
    }

    /// Replaces a user key with a new random one reaching the same facilities; the old one is revoked.
    pub fn rotate_user_key(&self, state: &str, key: &str) -> Option<String> {
        self.with_state(state, |w| {
            let old = w.user_keys.get_mut(key)?;
            old.revoked = true;
            let facilities = old.facilities.clone();
            let new_key = random_key();
            w.user_keys.insert(
                new_key.clone(),
                UserKey {
                    facilities,
                    revoked: false,
                },
            );
            Some(new_key)
        })
    }

    /// Replaces the rate limits in force (METRC's figures by default; [`Limits::OFF`] for none).
    pub fn set_limits(&self, limits: Limits) {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
    }

    pub fn limits(&self) -> Limits {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a license the key does not reach is answered with 403 (METRC usually answers 401).
    pub fn set_license_denied_with_403(&self, on: bool) {
        self.license_denied_with_403
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// The answer to a license-scoped call for a license the key does not reach: METRC's 401 with no
    /// body, or 403 when switched.
    fn license_denied(&self) -> Response {
        if self
            .license_denied_with_403
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            StatusCode::FORBIDDEN.into_response()
        } else {
            unauthorized(AuthFailure::LicenseNotReached)
        }
    }

    /// The most POSTs (sales and adjustments) that were ever in flight at once for a license.
    pub fn max_posts_in_flight(&self, state: &str, license: &str) -> usize {
        self.posts_in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(state.to_ascii_lowercase(), license.to_owned()))
            .map_or(0, |(_, max)| *max)
    }

    /// How many POSTs of receipts or adjustments the simulator has received (taken or not).
    pub fn post_count(&self) -> u64 {
        self.posts.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many METRC API requests the simulator has answered.
    pub fn request_count(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets a fault; faults are checked in the order they were set.
    pub fn add_fault(&self, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(fault);
    }

    pub fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// The first fault matching a request, counting it against its `times`.
    /// Draws faults from a seeded mix for every request no explicit fault matches (`None` stops it).
    pub fn set_chaos(&self, chaos: Option<faults::Chaos>) {
        *self.chaos.lock().unwrap_or_else(|e| e.into_inner()) = chaos.map(faults::ChaosDraws::new);
    }

    /// How many faults of each class the chaos mix has drawn.
    pub fn chaos_drawn(&self) -> BTreeMap<&'static str, u64> {
        self.chaos
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(faults::ChaosDraws::drawn)
            .unwrap_or_default()
    }

    fn take_fault(&self, state: &str, user_key: Option<&str>, post: bool) -> Option<FaultKind> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let Some(fault) = faults.iter_mut().find(|f| f.matches(state, user_key)) else {
            drop(faults);
            return self
                .chaos
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_mut()
                .and_then(|chaos| chaos.draw(post));
        };
        if let Some(times) = fault.times.as_mut() {
            *times -= 1;
        }
        Some(fault.kind)
    }

    pub fn user_key(&self, state: &str, key: &str) -> Option<UserKey> {
        self.with_state(state, |w| w.user_keys.get(key).cloned())
    }

    /// The simulator's HTTP surface: METRC's API under `/{state}/…` and the admin API under `/_sim/`.
    pub fn router(&self) -> Router {
        let metrc = Router::new()
            .route("/{state}/facilities/v2/", get(facilities))
            .route("/{state}/facilities/v2", get(facilities))
            .route("/{state}/facilities/v1/", get(facilities))
            .route("/{state}/facilities/v1", get(facilities))
            .route("/{state}/unitsofmeasure/v2/active", get(units))
            .route("/{state}/packages/v2/adjust/reasons", get(adjust_reasons))
            .route(
                "/{state}/sales/v2/receipts",
                axum::routing::post(|s, p, q, h, b| {
                    post_batch(s, p, q, h, b, reports::Kind::Receipts)
                }),
            )
            .route(
                "/{state}/packages/v2/adjust",
                axum::routing::post(|s, p, q, h, b| {
                    post_batch(s, p, q, h, b, reports::Kind::Adjustments)
                }),
            )
            .route(
                "/{state}/sales/v2/receipts/external/{number}",
                get(receipt_by_external_number),
            )
            .route(
                faults::REDIRECTED,
                axum::routing::any(|| async { axum::Json(serde_json::json!([])) }),
            )
            .fallback(|| async { StatusCode::NOT_FOUND });
        metrc
            .nest("/_sim", admin::router())
            .with_state(self.clone())
    }

    /// Binds `addr` (port 0 for any) and serves in the background; returns the bound address.
    pub async fn spawn(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("simulator stopped: {e}");
            }
        });
        Ok(bound)
    }
}

/// A simulator with the demo world and the given limits, serving on a free loopback port: what tests
/// and benchmarks start with.
pub async fn start_demo(limits: Limits) -> std::io::Result<(Simulator, SocketAddr)> {
    let sim = Simulator::new();
    sim.set_limits(limits);
    demo::seed(&sim);
    let addr = sim.spawn(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    Ok((sim, addr))
}

/// A fresh key of METRC's usual shape: 48 characters of `[A-Za-z0-9_-]`.
fn random_key() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..48)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// `Authorization: Basic base64(vendor:user)` → (vendor, user).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (vendor, user) = decoded.split_once(':')?;
    Some((vendor.to_owned(), user.to_owned()))
}

/// METRC answers every authentication failure with 401 and no body.
fn unauthorized(why: AuthFailure) -> Response {
    tracing::debug!(?why, "401");
    StatusCode::UNAUTHORIZED.into_response()
}

/// Applies a matching fault: waits out a delay, or returns the answer that replaces the normal one.
async fn apply_fault(sim: &Simulator, state: &str, user_key: Option<&str>) -> Option<Response> {
    match sim.take_fault(state, user_key, false)?.effect() {
        Effect::Delay(delay) | Effect::DelayAnswer(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Effect::ApplyLate(_) => Some(StatusCode::GATEWAY_TIMEOUT.into_response()),
        Effect::Replace(response) => Some(response),
    }
}

/// Everything a METRC GET goes through before its answer: counting, the rate limits (the vendor key's,
/// and the facility's for a license-scoped call), faults, authentication, and — for a license-scoped
/// call — whether the key reaches the license (401, or 403 by switch, when it does not). `answer` makes
/// the body from the state's data and the caller's key.
async fn metrc_get(
    sim: &Simulator,
    state: &str,
    headers: &HeaderMap,
    license: Option<&str>,
    answer: impl FnOnce(&StateWorld, &UserKey) -> Response,
) -> Response {
    sim.requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let credentials = basic_credentials(headers);
    let user_key = credentials.as_ref().map(|(_, user)| user.as_str());
    let limits = sim.limits();
    let too_many = || faults::too_many_requests(limits.retry_after.then_some(1));
    // Held until the answer is made, so that slow answers count as concurrent.
    let mut places = Vec::new();
    if let Some((vendor, _)) = &credentials {
        let key = format!("{}/vendor/{vendor}", state.to_ascii_lowercase());
        match sim.meter.admit(
            key,
            limits.per_vendor_per_second,
            limits.per_vendor_concurrent,
        ) {
            Some(place) => places.push(place),
            None => return too_many(),
        }
    }
    if let Some(license) = license {
        let key = format!("{}/facility/{license}", state.to_ascii_lowercase());
        match sim.meter.admit(
            key,
            limits.per_facility_per_second,
            limits.per_facility_concurrent,
        ) {
            Some(place) => places.push(place),
            None => return too_many(),
        }
    }
    if let Some(replaced) = apply_fault(sim, state, user_key).await {
        return replaced;
    }
    let states = sim.lock();
    let Some(world) = states.get(&state.to_ascii_lowercase()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some((vendor, user)) = credentials else {
        return unauthorized(AuthFailure::MissingOrMalformed);
    };
    let key = match world.authenticate(&vendor, &user) {
        Ok(key) => key,
        Err(why) => return unauthorized(why),
    };
    if let Some(license) = license
        && !key.facilities.contains(license)
    {
        return sim.license_denied();
    }
    answer(world, key)
}

/// `GET /{state}/facilities/v2/`: the facilities the user key reaches (not paged).
async fn facilities(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    headers: HeaderMap,
) -> Response {
    metrc_get(&sim, &state, &headers, None, |world, key| {
        axum::Json(world.facilities_json(key)).into_response()
    })
    .await
}

/// `GET /{state}/unitsofmeasure/v2/active`: METRC's units, a bare array.
async fn units(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    headers: HeaderMap,
) -> Response {
    metrc_get(&sim, &state, &headers, None, |_, _| {
        axum::Json(world::units_json()).into_response()
    })
    .await
}

#[derive(Debug, serde::Deserialize)]
struct ListQuery {
    #[serde(rename = "licenseNumber")]
    license_number: Option<String>,
    #[serde(rename = "pageNumber")]
    page_number: Option<usize>,
    #[serde(rename = "pageSize")]
    page_size: Option<usize>,
}

/// METRC's 400 message for a license-scoped call without a license.
const LICENSE_REQUIRED: &str = "licenseNumber is required.";

impl ListQuery {
    /// The `licenseNumber` parameter, when given and not blank.
    fn license(&self) -> Option<&str> {
        self.license_number
            .as_deref()
            .filter(|l| !l.trim().is_empty())
    }
}

/// `GET /{state}/packages/v2/adjust/reasons?licenseNumber=`: the state's adjustment reasons, in the
/// paged envelope.
async fn adjust_reasons(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(license) = query.license() else {
        return bad_request(LICENSE_REQUIRED);
    };
    let page = match paging(query.page_number, query.page_size) {
        Ok(page) => page,
        Err(message) => return bad_request(message),
    };
    metrc_get(&sim, &state, &headers, Some(license), |world, _| {
        axum::Json(world::paged(world.adjust_reasons_json(), page)).into_response()
    })
    .await
}

/// `pageNumber` (1-based) and `pageSize` (at most 20); without `pageSize`, one page of everything.
/// An error is the message of METRC's 400.
fn paging(
    page_number: Option<usize>,
    page_size: Option<usize>,
) -> Result<Option<(usize, usize)>, &'static str> {
    match (page_number, page_size) {
        (_, None) => Ok(None),
        (_, Some(size)) if size == 0 || size > 20 => Err("pageSize must be between 1 and 20."),
        (Some(0), _) => Err("pageNumber starts at 1."),
        (number, Some(size)) => Ok(Some((number.unwrap_or(1), size))),
    }
}

/// METRC's whole-request 400: `{"Message": …}`.
fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({ "Message": message })),
    )
        .into_response()
}

/// A METRC POST: faults (a dropped connection comes *after* the batch was accepted, so the sender
/// cannot know whether it was), the 10-object limit, authentication and the license, the row rules for
/// the whole batch, then stock moves and everything is recorded under the user key.
async fn metrc_post(
    sim: &Simulator,
    state: &str,
    headers: &HeaderMap,
    license: Option<&str>,
    body: &[u8],
    batch: reports::Kind,
) -> Response {
    sim.requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    sim.posts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _in_flight = license.map(|l| InFlight::start(sim, state, l));
    let credentials = basic_credentials(headers);
    let user_key = credentials.as_ref().map(|(_, user)| user.as_str());
    let mut drop_after = None;
    let mut answer_after = None;
    if let Some(kind) = sim.take_fault(state, user_key, true) {
        match kind.effect() {
            Effect::Delay(delay) => tokio::time::sleep(delay).await,
            Effect::DelayAnswer(delay) => answer_after = Some(delay),
            Effect::ApplyLate(delay) => {
                // The gateway gives up now; METRC applies the batch later all the same.
                let (sim, state, headers, license, body) = (
                    sim.clone(),
                    state.to_owned(),
                    headers.clone(),
                    license.map(str::to_owned),
                    body.to_vec(),
                );
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    // Nobody waits for the answer any more: a refusal is simply not applied.
                    let _ = apply_post(&sim, &state, &headers, license.as_deref(), &body, batch);
                });
                return StatusCode::GATEWAY_TIMEOUT.into_response();
            }
            Effect::Replace(response) if matches!(kind, FaultKind::DropConnection) => {
                drop_after = Some(response);
            }
            Effect::Replace(response) => return response,
        }
    }
    let answer = match apply_post(sim, state, headers, license, body, batch) {
        Ok(ids) => drop_after.unwrap_or_else(|| {
            axum::Json(serde_json::json!({ "Ids": ids, "Warnings": null })).into_response()
        }),
        Err(refused) => return *refused,
    };
    // Taken and recorded; the answer comes late (or never, if the caller is gone by then).
    if let Some(delay) = answer_after {
        tokio::time::sleep(delay).await;
    }
    answer
}

/// A POST's work once its faults are decided: the body read, then [`take_batch`].
fn apply_post(
    sim: &Simulator,
    state: &str,
    headers: &HeaderMap,
    license: Option<&str>,
    body: &[u8],
    batch: reports::Kind,
) -> Result<Vec<u64>, Box<Response>> {
    let Some(license) = license else {
        return Err(Box::new(bad_request(LICENSE_REQUIRED)));
    };
    let Ok(serde_json::Value::Array(rows)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return Err(Box::new(bad_request(
            "The request body must be a JSON array.",
        )));
    };
    if rows.len() > reports::MAX_OBJECTS {
        return Err(Box::new((
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({
                "Message": format!("No more than {} objects may be sent at once.", reports::MAX_OBJECTS)
            })),
        )
            .into_response()));
    }
    take_batch(sim, state, basic_credentials(headers), license, rows, batch)
}

/// Authenticates, checks the batch's rows, moves stock and records it: the ids given, or the refusal.
fn take_batch(
    sim: &Simulator,
    state: &str,
    credentials: Option<(String, String)>,
    license: &str,
    rows: Vec<serde_json::Value>,
    batch: reports::Kind,
) -> Result<Vec<u64>, Box<Response>> {
    let mut states = sim.lock();
    let Some(world) = states.get_mut(&state.to_ascii_lowercase()) else {
        return Err(Box::new(StatusCode::NOT_FOUND.into_response()));
    };
    let Some((vendor, user)) = credentials else {
        return Err(Box::new(unauthorized(AuthFailure::MissingOrMalformed)));
    };
    let reaches = match world.authenticate(&vendor, &user) {
        Ok(key) => key.facilities.contains(license),
        Err(why) => return Err(Box::new(unauthorized(why))),
    };
    if !reaches {
        return Err(Box::new(sim.license_denied()));
    }
    let (errors, moved) = reports::check_batch(world, license, &rows, batch);
    if !errors.is_empty() {
        return Err(Box::new(
            (StatusCode::BAD_REQUEST, axum::Json(errors)).into_response(),
        ));
    }
    for (label, delta) in moved {
        if let Some(package) = world.packages.get_mut(&(license.to_owned(), label)) {
            package.quantity += delta;
        }
    }
    let mut ids = Vec::with_capacity(rows.len());
    for row in rows {
        world.last_id += 1;
        ids.push(world.last_id);
        let recorded = reports::Recorded {
            id: world.last_id,
            license_number: license.to_owned(),
            user_key: user.clone(),
            body: row,
        };
        match batch {
            reports::Kind::Receipts => world.receipts.push(recorded),
            reports::Kind::Adjustments => world.adjustments.push(recorded),
        }
    }
    Ok(ids)
}

/// `POST /{state}/sales/v2/receipts?licenseNumber=` and `POST /{state}/packages/v2/adjust?licenseNumber=`.
async fn post_batch(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
    batch: reports::Kind,
) -> Response {
    metrc_post(&sim, &state, &headers, query.license(), &body, batch).await
}

/// `GET /{state}/sales/v2/receipts/external/{number}?licenseNumber=`: the receipt, or 404 with a
/// message when none has that external number at the license.
async fn receipt_by_external_number(
    State(sim): State<Simulator>,
    Path((state, number)): Path<(String, String)>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(license) = query.license() else {
        return bad_request(LICENSE_REQUIRED);
    };
    metrc_get(&sim, &state, &headers, Some(license), |world, _| {
        let found = world.receipts.iter().rev().find(|r| {
            r.license_number == license && r.body["ExternalReceiptNumber"].as_str() == Some(&number)
        });
        match found {
            Some(receipt) => axum::Json(world::receipt_json(receipt)).into_response(),
            None => (
                StatusCode::NOT_FOUND,
                axum::Json(
                    serde_json::json!({ "Message": "No receipt has that external number." }),
                ),
            )
                .into_response(),
        }
    })
    .await
}

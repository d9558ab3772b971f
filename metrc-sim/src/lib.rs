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
pub mod world;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use faults::{Effect, Fault, FaultKind};
use limits::{InFlight, Limits, Meter};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use world::{AuthFailure, Facility, StateWorld, UserKey};

/// A running or runnable simulator: the shared world behind both the METRC API and the admin API.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    states: Arc<Mutex<BTreeMap<String, StateWorld>>>,
    faults: Arc<Mutex<Vec<Fault>>>,
    /// METRC API requests served (admin calls not counted), for tests that count round trips.
    requests: Arc<std::sync::atomic::AtomicU64>,
    limits: Arc<Mutex<Limits>>,
    meter: Meter,
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

    /// Counts a GET against its vendor key's limits: its place in flight, or `None` when a limit is hit.
    fn admit_vendor_get(&self, state: &str, vendor: &str) -> Option<InFlight> {
        let limits = self.limits();
        let key = format!("{}/{vendor}", state.to_ascii_lowercase());
        self.meter.admit(
            key,
            limits.per_vendor_per_second,
            limits.per_vendor_concurrent,
        )
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
    fn take_fault(&self, state: &str, user_key: Option<&str>) -> Option<FaultKind> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let fault = faults.iter_mut().find(|f| f.matches(state, user_key))?;
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
    match sim.take_fault(state, user_key)?.effect() {
        Effect::Delay(delay) => {
            tokio::time::sleep(delay).await;
            None
        }
        Effect::Replace(response) => Some(response),
    }
}

/// `GET /{state}/facilities/v2/`: the facilities the user key reaches (not paged).
async fn facilities(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    headers: HeaderMap,
) -> Response {
    sim.requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let credentials = basic_credentials(&headers);
    let user_key = credentials.as_ref().map(|(_, user)| user.as_str());
    // Held until the answer is made, so that slow answers count as concurrent.
    let _in_flight = match &credentials {
        Some((vendor, _)) => match sim.admit_vendor_get(&state, vendor) {
            Some(place) => Some(place),
            None => return faults::too_many_requests(sim.limits().retry_after.then_some(1)),
        },
        None => None,
    };
    if let Some(replaced) = apply_fault(&sim, &state, user_key).await {
        return replaced;
    }
    let states = sim.lock();
    let Some(world) = states.get(&state.to_ascii_lowercase()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some((vendor, user)) = credentials else {
        return unauthorized(AuthFailure::MissingOrMalformed);
    };
    match world.authenticate(&vendor, &user) {
        Ok(key) => axum::Json(world.facilities_json(key)).into_response(),
        Err(why) => unauthorized(why),
    }
}

//! The simulator's admin API under `/_sim/`: what tests and demos change at run time. It exists only
//! in the simulator, never in our server.
//!
//! - `POST /_sim/states/{state}/vendor-keys` `{"key"}`
//! - `POST /_sim/states/{state}/facilities` `{"license_number", "name", "license_type"}`
//! - `POST /_sim/states/{state}/user-keys` `{"key", "facilities": [license numbers]}`
//! - `GET  /_sim/states/{state}/user-keys/{key}` → `{"facilities", "revoked"}`
//! - `PUT  /_sim/states/{state}/user-keys/{key}/facilities` `[license numbers]`
//! - `POST /_sim/states/{state}/user-keys/{key}/revoke`
//! - `POST /_sim/states/{state}/user-keys/{key}/rotate` → `{"key": new key}`
//! - `POST /_sim/faults` `{"state", "user_key"?, "kind", "times"?, …}` (see [`crate::faults::Fault`]);
//!   `DELETE /_sim/faults` clears them all
//! - `POST /_sim/states/{state}/packages` `{"license_number", "label", "unit", "quantity"}`
//! - `GET  /_sim/states/{state}/reports` → `{"receipts": […], "adjustments": […]}`: everything accepted,
//!   each with the user key it came under
//! - `POST /_sim/states/{state}/adjust-reasons` `{"name", "requires_note", "requires_waste_weight"}`
//! - `PUT /_sim/switches` `{"license_denied_with_403": bool}` — answer a license the key does not
//!   reach with 403 instead of 401
//! - `GET`/`PUT /_sim/limits` — the rate limits in force (see [`crate::limits::Limits`]; `null` switches
//!   one off)

use crate::Simulator;
use crate::faults::Fault;
use crate::limits::Limits;
use crate::world::{AdjustReason, Facility};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<Simulator> {
    Router::new()
        .route("/states/{state}/vendor-keys", post(add_vendor_key))
        .route("/states/{state}/facilities", post(add_facility))
        .route("/states/{state}/user-keys", post(add_user_key))
        .route("/states/{state}/user-keys/{key}", get(user_key))
        .route(
            "/states/{state}/user-keys/{key}/facilities",
            put(set_facilities),
        )
        .route("/states/{state}/user-keys/{key}/revoke", post(revoke))
        .route("/states/{state}/user-keys/{key}/rotate", post(rotate))
        .route("/faults", post(add_fault).delete(clear_faults))
        .route("/chaos", get(chaos_drawn).put(set_chaos).delete(stop_chaos))
        .route("/limits", get(limits).put(set_limits))
        .route("/switches", put(set_switches))
        .route("/states/{state}/adjust-reasons", post(add_adjust_reason))
        .route("/states/{state}/packages", post(add_package))
        .route("/states/{state}/reports", get(reports))
}

#[derive(Debug, Deserialize)]
struct KeyBody {
    key: String,
}

#[derive(Debug, Deserialize)]
struct UserKeyBody {
    key: String,
    facilities: Vec<String>,
}

async fn add_vendor_key(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    Json(body): Json<KeyBody>,
) -> StatusCode {
    sim.add_vendor_key(&state, &body.key);
    StatusCode::NO_CONTENT
}

async fn add_facility(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    Json(body): Json<Facility>,
) -> StatusCode {
    sim.add_facility(&state, body);
    StatusCode::NO_CONTENT
}

async fn add_user_key(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    Json(body): Json<UserKeyBody>,
) -> StatusCode {
    let facilities: Vec<&str> = body.facilities.iter().map(String::as_str).collect();
    sim.add_user_key(&state, &body.key, &facilities);
    StatusCode::NO_CONTENT
}

async fn user_key(
    State(sim): State<Simulator>,
    Path((state, key)): Path<(String, String)>,
) -> Response {
    match sim.user_key(&state, &key) {
        Some(found) => Json(found).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn set_facilities(
    State(sim): State<Simulator>,
    Path((state, key)): Path<(String, String)>,
    Json(facilities): Json<Vec<String>>,
) -> StatusCode {
    let facilities: Vec<&str> = facilities.iter().map(String::as_str).collect();
    done_if_found(sim.set_user_key_facilities(&state, &key, &facilities))
}

async fn revoke(
    State(sim): State<Simulator>,
    Path((state, key)): Path<(String, String)>,
) -> StatusCode {
    done_if_found(sim.revoke_user_key(&state, &key))
}

/// 204 when the key was there to change, 404 when it was not.
fn done_if_found(found: bool) -> StatusCode {
    if found {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn rotate(
    State(sim): State<Simulator>,
    Path((state, key)): Path<(String, String)>,
) -> Response {
    match sim.rotate_user_key(&state, &key) {
        Some(new_key) => Json(serde_json::json!({ "key": new_key })).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn add_fault(State(sim): State<Simulator>, Json(fault): Json<Fault>) -> StatusCode {
    sim.add_fault(fault);
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(sim): State<Simulator>) -> StatusCode {
    sim.clear_faults();
    StatusCode::NO_CONTENT
}

async fn set_chaos(
    State(sim): State<Simulator>,
    Json(chaos): Json<crate::faults::Chaos>,
) -> StatusCode {
    sim.set_chaos(Some(chaos));
    StatusCode::NO_CONTENT
}

async fn stop_chaos(State(sim): State<Simulator>) -> StatusCode {
    sim.set_chaos(None);
    StatusCode::NO_CONTENT
}

async fn chaos_drawn(
    State(sim): State<Simulator>,
) -> Json<std::collections::BTreeMap<&'static str, u64>> {
    Json(sim.chaos_drawn())
}

async fn limits(State(sim): State<Simulator>) -> Json<Limits> {
    Json(sim.limits())
}

async fn set_limits(State(sim): State<Simulator>, Json(limits): Json<Limits>) -> StatusCode {
    sim.set_limits(limits);
    StatusCode::NO_CONTENT
}

#[derive(Debug, Deserialize)]
struct Switches {
    license_denied_with_403: bool,
}

async fn set_switches(State(sim): State<Simulator>, Json(switches): Json<Switches>) -> StatusCode {
    sim.set_license_denied_with_403(switches.license_denied_with_403);
    StatusCode::NO_CONTENT
}

async fn add_adjust_reason(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    Json(reason): Json<AdjustReason>,
) -> StatusCode {
    sim.add_adjust_reason(&state, reason);
    StatusCode::NO_CONTENT
}

async fn add_package(
    State(sim): State<Simulator>,
    Path(state): Path<String>,
    Json(package): Json<crate::reports::Package>,
) -> StatusCode {
    sim.add_package(&state, package);
    StatusCode::NO_CONTENT
}

async fn reports(State(sim): State<Simulator>, Path(state): Path<String>) -> Response {
    Json(serde_json::json!({
        "receipts": sim.receipts(&state),
        "adjustments": sim.adjustments(&state),
    }))
    .into_response()
}

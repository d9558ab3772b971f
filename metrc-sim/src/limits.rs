//! METRC's GET rate limits (its 2021 figures): 50 per second per facility, 150 per second per vendor
//! key, 10 concurrent per facility, 30 concurrent per vendor key; 429 with METRC's message when one is
//! exceeded, and `Retry-After` only when switched on (METRC does not always send it).
//!
//! `/facilities/v2/` counts against the vendor-key limits only; the per-facility limits are for
//! license-scoped GETs.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The limits in force; `None` switches one off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub per_vendor_per_second: Option<u32>,
    pub per_vendor_concurrent: Option<u32>,
    pub per_facility_per_second: Option<u32>,
    pub per_facility_concurrent: Option<u32>,
    /// Send `Retry-After: 1` with a 429.
    pub retry_after: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_vendor_per_second: Some(150),
            per_vendor_concurrent: Some(30),
            per_facility_per_second: Some(50),
            per_facility_concurrent: Some(10),
            retry_after: false,
        }
    }
}

impl Limits {
    pub const OFF: Limits = Limits {
        per_vendor_per_second: None,
        per_vendor_concurrent: None,
        per_facility_per_second: None,
        per_facility_concurrent: None,
        retry_after: false,
    };
}

/// Requests in the current one-second window and in flight, per counted key.
#[derive(Debug, Default)]
struct Counter {
    window_start: Option<Instant>,
    in_window: u32,
    in_flight: u32,
}

/// The counters for every vendor key (and later every facility), shared by all requests.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    counters: Arc<Mutex<HashMap<String, Counter>>>,
}

/// Holds a request's place among those in flight; dropping it frees the place.
#[derive(Debug)]
pub struct InFlight {
    meter: Meter,
    key: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut counters = self
            .meter
            .counters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(c) = counters.get_mut(&self.key) {
            c.in_flight = c.in_flight.saturating_sub(1);
        }
    }
}

impl Meter {
    /// Counts a request against `key`'s limits: its place in flight, or `None` when a limit is hit
    /// (the request is then not counted).
    pub fn admit(
        &self,
        key: String,
        per_second: Option<u32>,
        concurrent: Option<u32>,
    ) -> Option<InFlight> {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let c = counters.entry(key.clone()).or_default();
        let now = Instant::now();
        if c.window_start
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(1))
        {
            c.window_start = Some(now);
            c.in_window = 0;
        }
        if per_second.is_some_and(|limit| c.in_window >= limit)
            || concurrent.is_some_and(|limit| c.in_flight >= limit)
        {
            return None;
        }
        c.in_window += 1;
        c.in_flight += 1;
        Some(InFlight {
            meter: self.clone(),
            key,
        })
    }
}

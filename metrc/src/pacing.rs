//! Pacing of GETs under METRC's published limits, so that we are not the reason for a 429: at most so
//! many per second and so many at once, per vendor key (150/s, 30) and per facility (50/s, 10).
//!
//! Each limited key has a [`Pacer`]: a semaphore for the requests in flight and a sliding window of
//! start times. A request waits for a free place in both before it is sent. The window is a little
//! longer than METRC's second ([`WINDOW`]): requests arrive later than they leave, and METRC counts on
//! its own clock, so pacing exactly at the limit would still draw the odd 429.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// METRC's published GET limits (its 2021 figures), which we keep under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetLimits {
    pub per_vendor_per_second: u32,
    pub per_vendor_concurrent: u32,
    pub per_facility_per_second: u32,
    pub per_facility_concurrent: u32,
}

impl Default for GetLimits {
    fn default() -> Self {
        GetLimits {
            per_vendor_per_second: 150,
            per_vendor_concurrent: 30,
            per_facility_per_second: 50,
            per_facility_concurrent: 10,
        }
    }
}

/// How long a start counts against the per-second limit: one second and a margin.
pub const WINDOW: Duration = Duration::from_millis(1_150);

/// The pace of one limited key.
#[derive(Debug)]
struct Pacer {
    per_second: usize,
    in_flight: Arc<Semaphore>,
    started: Mutex<VecDeque<Instant>>,
}

impl Pacer {
    fn new(per_second: u32, concurrent: u32) -> Self {
        Pacer {
            per_second: usize::try_from(per_second.max(1)).unwrap_or(usize::MAX),
            in_flight: Arc::new(Semaphore::new(
                usize::try_from(concurrent.max(1)).unwrap_or(usize::MAX),
            )),
            started: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits for a place among those in flight and a start within the per-second limit.
    async fn enter(&self) -> Option<OwnedSemaphorePermit> {
        let permit = self.in_flight.clone().acquire_owned().await.ok()?;
        loop {
            let wait = {
                let mut started = self.started.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                while started
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= WINDOW)
                {
                    started.pop_front();
                }
                if started.len() < self.per_second {
                    started.push_back(now);
                    return Some(permit);
                }
                started
                    .front()
                    .map_or(Duration::ZERO, |t| (*t + WINDOW).duration_since(now))
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Every limited key's pacer.
#[derive(Debug)]
pub(crate) struct Pacing {
    limits: GetLimits,
    pacers: Mutex<HashMap<String, Arc<Pacer>>>,
}

/// Places held while a GET is in flight; dropping them frees the places.
#[derive(Debug)]
pub(crate) struct Places {
    _held: Vec<OwnedSemaphorePermit>,
}

impl Pacing {
    pub(crate) fn new(limits: GetLimits) -> Self {
        Pacing {
            limits,
            pacers: Mutex::new(HashMap::new()),
        }
    }

    fn pacer(&self, key: String, per_second: u32, concurrent: u32) -> Arc<Pacer> {
        self.pacers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert_with(|| Arc::new(Pacer::new(per_second, concurrent)))
            .clone()
    }

    /// Waits until a GET with the state's vendor key (and for the license, for a license-scoped call)
    /// may start. A state has one vendor key, so its limits are kept per state: the key itself is never
    /// held here (nor shown by `Debug`).
    pub(crate) async fn enter(&self, state: &str, license: Option<&str>) -> Places {
        let l = self.limits;
        let mut places = Vec::new();
        let vendor_pacer = self.pacer(
            format!("{state}/vendor"),
            l.per_vendor_per_second,
            l.per_vendor_concurrent,
        );
        places.extend(vendor_pacer.enter().await);
        if let Some(license) = license {
            let facility = self.pacer(
                format!("{state}/facility/{license}"),
                l.per_facility_per_second,
                l.per_facility_concurrent,
            );
            places.extend(facility.enter().await);
        }
        Places { _held: places }
    }
}

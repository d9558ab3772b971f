//! What the server adds to METRC's own latency on "Verify & Save": each round is one plain GET of
//! `/facilities/v2/` straight to the simulator (METRC's own time, at zero added latency) and one
//! `PUT /api/credentials/{id}` through the real server on SQLite with durable commits (the stored key is
//! decrypted, verified with the same GET, and the credential, its licenses and an audit record are
//! written in one transaction, after the verify-attempt count's own). Rounds are spaced 10 ms apart so
//! that the METRC client's pacing (METRC's published limits) never waits: its waits are METRC's limits,
//! not our overhead. Besides the client's view (which includes reqwest's work and the loopback), it
//! reports the server's own time for each request: the life of the request's `tracing` span, from the
//! moment the server has the request to the moment its answer is sent. Everything runs on one tokio worker thread, leaving the other core to SQLite's own
//! threads (sqlx runs each SQLite connection on a thread of its own). Run with `cargo bench -p server`;
//! it prints medians and p99s.

use metrc_sim::demo::{CO_BOTH, VENDOR_KEY};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// Records, for each of the server's `request` spans, when it opened and when the server last worked in
/// it (its span is entered whenever the request's future or its answer's body is polled; it closes only
/// when hyper drops the answer, later).
#[derive(Clone, Default)]
struct RequestTimes(Arc<Mutex<Vec<(Instant, Instant)>>>);

struct Slot(usize);

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for RequestTimes {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() == "request"
            && let Some(span) = ctx.span(id)
        {
            let mut all = self.0.lock().expect("lock");
            let now = Instant::now();
            all.push((now, now));
            span.extensions_mut().insert(Slot(all.len() - 1));
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(slot) = span.extensions().get::<Slot>()
            && let Some(entry) = self.0.lock().expect("lock").get_mut(slot.0)
        {
            entry.1 = Instant::now();
        }
    }
}

impl RequestTimes {
    /// The server's own time for the last request: from its span's opening to the last work in it.
    fn last(&self) -> Duration {
        let all = self.0.lock().expect("lock");
        let (opened, last_exit) = all.last().copied().expect("a request span");
        last_exit - opened
    }
}

const WARM_UP: usize = 50;
const ROUNDS: usize = 1_000;

mod common;
use common::percentile;

/// How often this machine takes the CPU away from a running thread: a busy loop for `span`, counting
/// the gaps over 1 ms between two readings of the clock. On a shared virtual machine these pauses, not
/// the server, decide the p99 of anything that runs for milliseconds.
fn machine_pauses(span: Duration) -> (usize, Duration) {
    let end = Instant::now() + span;
    let (mut count, mut longest) = (0, Duration::ZERO);
    let mut last = Instant::now();
    while last < end {
        let now = Instant::now();
        let gap = now - last;
        if gap > Duration::from_millis(1) {
            count += 1;
            longest = longest.max(gap);
        }
        last = now;
    }
    (count, longest)
}

fn main() {
    let times = RequestTimes::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(times.clone()))
        .expect("subscriber");
    let (pauses, longest) = machine_pauses(Duration::from_secs(3));
    println!(
        "machine: {:.1} pauses over 1 ms per second of a busy thread (longest {longest:.1?})",
        pauses as f64 / 3.0
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(times));
}

async fn run(times: RequestTimes) {
    let (_sim, sim_addr) = metrc_sim::start_demo(metrc_sim::limits::Limits::OFF)
        .await
        .expect("simulator listens");
    let (addr, db, dir) = common::start_server(
        "verify",
        format!("http://{sim_addr}/{{state}}"),
        VENDOR_KEY,
        &[("VERIFY_ATTEMPTS_PER_MINUTE", "1000000")],
    )
    .await;

    // One organization with the demo's Colorado licenses and one signed-in user.
    let base = format!("http://{addr}");
    let (client, ids) = common::colorado_organization(&db, &base).await;
    let created: Value = client
        .post(format!("{base}/api/credentials"))
        .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": ids, "key": CO_BOTH }))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("saved");
    let id = created["credential"]["id"].as_i64().expect("id");
    let mut version = created["credential"]["version"].as_i64().expect("version");

    let plain = reqwest::Client::new();
    let facilities = format!("http://{sim_addr}/co/facilities/v2/");
    let url = format!("{base}/api/credentials/{id}");
    let mut metrc_times = Vec::with_capacity(ROUNDS);
    let mut save_times = Vec::with_capacity(ROUNDS);
    let mut list_times = Vec::with_capacity(ROUNDS);
    let mut server_times = Vec::with_capacity(ROUNDS);
    let list_url = format!("{base}/api/credentials");
    for round in 0..WARM_UP + ROUNDS {
        let started = Instant::now();
        let body = plain
            .get(&facilities)
            .basic_auth(VENDOR_KEY, Some(CO_BOTH))
            .send()
            .await
            .expect("get")
            .bytes()
            .await
            .expect("body");
        let metrc_time = started.elapsed();
        assert!(!body.is_empty());

        let started = Instant::now();
        let response = client
            .put(&url)
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": ids, "key": "", "version": version }))
            .send()
            .await
            .expect("put");
        let status = response.status();
        let saved: Value = response.json().await.expect("saved");
        let save_time = started.elapsed();
        assert_eq!(status, 200, "{saved}");
        version = saved["credential"]["version"].as_i64().expect("version");
        let server_time = times.last();

        // For comparison: a request through the same layers, session and database reads, without METRC
        // and without a write.
        let started = Instant::now();
        let listed = client.get(&list_url).send().await.expect("list");
        assert_eq!(listed.status(), 200);
        let _ = listed.bytes().await.expect("body");
        let list_time = started.elapsed();

        if round >= WARM_UP {
            metrc_times.push(metrc_time);
            save_times.push(save_time);
            list_times.push(list_time);
            server_times.push(server_time);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);

    metrc_times.sort_unstable();
    save_times.sort_unstable();
    list_times.sort_unstable();
    server_times.sort_unstable();
    let (server_median, server_p99) = (
        percentile(&server_times, 0.5),
        percentile(&server_times, 0.99),
    );
    let (list_median, list_p99) = (percentile(&list_times, 0.5), percentile(&list_times, 0.99));
    let (metrc_median, metrc_p99) = (
        percentile(&metrc_times, 0.5),
        percentile(&metrc_times, 0.99),
    );
    let (save_median, save_p99) = (percentile(&save_times, 0.5), percentile(&save_times, 0.99));
    println!(
        "rounds: {ROUNDS} (after {WARM_UP} warm-up), SQLite (WAL, synchronous=FULL), simulator limits off"
    );
    println!("METRC's own GET   median {metrc_median:>10.3?}   p99 {metrc_p99:>10.3?}");
    println!("Verify & Save     median {save_median:>10.3?}   p99 {save_p99:>10.3?}");
    println!("list (no METRC, no write) median {list_median:>10.3?}   p99 {list_p99:>10.3?}");
    println!(
        "Verify & Save, server's own time  median {server_median:>10.3?}   p99 {server_p99:>10.3?}"
    );
    let millis = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "seen by the client, the server adds: median {:+.2} ms, p99 {:+.2} ms",
        millis(save_median) - millis(metrc_median),
        millis(save_p99) - millis(metrc_p99)
    );
    println!(
        "server time above METRC's own: median {:+.2} ms, p99 {:+.2} ms (budget: <= 5 ms)",
        millis(server_median) - millis(metrc_median),
        millis(server_p99) - millis(metrc_p99)
    );
}

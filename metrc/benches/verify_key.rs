//! What `verify_key` adds to METRC's own latency: each round is one plain GET of
//! `/facilities/v2/` (the same pooled HTTP client, the same simulator) and one `verify_key`, so the
//! difference is our client's work — building the request, classifying the answer, parsing the
//! facilities and comparing licenses. Run with `cargo bench -p metrc`; it prints medians and p99s.

use metrc::{HttpMetrc, Metrc, Settings};
use metrc_sim::demo::{CO_BOTH, COLFAX, PEARL, VENDOR_KEY};
use shared::{LicenseNumber, MetrcUserKey, StateCode};
use std::time::{Duration, Instant};

const WARM_UP: usize = 200;
const ROUNDS: usize = 5_000;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (_sim, addr) = metrc_sim::start_demo(metrc_sim::limits::Limits::OFF)
            .await
            .expect("listens");
        let base = format!("http://{addr}");
        let mut settings = Settings::new(format!("{base}/{{state}}"));
        settings.vendor_key = Some(VENDOR_KEY.into());
        // The pacer's bookkeeping is measured, its waits are not: they are METRC's limits, not overhead.
        settings.get_limits = metrc::pacing::GetLimits {
            per_vendor_per_second: u32::MAX,
            per_vendor_concurrent: u32::MAX,
            per_facility_per_second: u32::MAX,
            per_facility_concurrent: u32::MAX,
        };
        let client = HttpMetrc::new(settings).expect("client");
        let plain = reqwest::Client::new();
        let state = StateCode::parse("CO").expect("state");
        let key = MetrcUserKey::parse(CO_BOTH).expect("key");
        let licenses: Vec<LicenseNumber> = [COLFAX, PEARL]
            .iter()
            .map(|n| LicenseNumber::parse(n).expect("license"))
            .collect();
        let url = format!("{base}/co/facilities/v2/");

        let mut raw = Vec::with_capacity(ROUNDS);
        let mut verify = Vec::with_capacity(ROUNDS);
        for round in 0..WARM_UP + ROUNDS {
            let started = Instant::now();
            let body = plain
                .get(&url)
                .basic_auth(VENDOR_KEY, Some(CO_BOTH))
                .send()
                .await
                .expect("get")
                .bytes()
                .await
                .expect("body");
            let raw_time = started.elapsed();
            assert!(!body.is_empty());

            let started = Instant::now();
            let check = client
                .verify_key(state, &key, &licenses)
                .await
                .expect("valid");
            let verify_time = started.elapsed();
            assert!(check.missing.is_empty());

            if round >= WARM_UP {
                raw.push(raw_time);
                verify.push(verify_time);
            }
        }
        raw.sort_unstable();
        verify.sort_unstable();
        let (raw_median, raw_p99) = (percentile(&raw, 0.5), percentile(&raw, 0.99));
        let (verify_median, verify_p99) = (percentile(&verify, 0.5), percentile(&verify, 0.99));
        println!("rounds: {ROUNDS} (after {WARM_UP} warm-up), simulator limits off");
        println!("plain GET      median {raw_median:>10.3?}   p99 {raw_p99:>10.3?}");
        println!("verify_key     median {verify_median:>10.3?}   p99 {verify_p99:>10.3?}");
        // Signed: the two are measured alike, so the difference can fall either side of zero.
        let micros = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "client overhead: median {:+.1} µs, p99 {:+.1} µs (budget: median <= 1 ms)",
            micros(verify_median) - micros(raw_median),
            micros(verify_p99) - micros(raw_p99)
        );
    });
}

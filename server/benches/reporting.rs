//! Reporting, end to end into the METRC simulator (limits off, zero latency), on SQLite with durable
//! commits:
//! - a backlog: 2,000 sales held for want of a key, released at once by saving a credential — receipts
//!   per second from the save's answer to the last receipt in the simulator;
//! - live: 2,000 sales recorded by 8 concurrent registers — receipts per second from the first recording
//!   to the last receipt in the simulator (recording included);
//! - the most POSTs the simulator saw in flight at once for the license (the limit is 2);
//! - the time from a credential fix (the save's answer) to the replayed report in the simulator.
//!
//! Run with `cargo bench -p server --bench reporting`.

mod common;

use metrc_sim::demo::{CO_BOTH, COLFAX, PEARL, VENDOR_KEY, package_label};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const BACKLOG: usize = 2_000;
const LIVE: usize = 2_000;
const REGISTERS: usize = 8;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn wait_for(sim: &metrc_sim::Simulator, count: usize) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(120);
    while sim.receipts("co").len() < count {
        assert!(Instant::now() < deadline, "receipts did not arrive");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Instant::now()
}

async fn run() {
    let (sim, sim_addr) = metrc_sim::start_demo(metrc_sim::limits::Limits::OFF)
        .await
        .expect("simulator listens");
    let (addr, db, dir) = common::start_server(
        "reporting",
        format!("http://{sim_addr}/{{state}}"),
        VENDOR_KEY,
        &[("VERIFY_ATTEMPTS_PER_MINUTE", "1000000")],
    )
    .await;
    let base = format!("http://{addr}");
    let (client, ids) = common::colorado_organization(&db, &base).await;
    let sale = |license_id: i64| {
        let number = if license_id == ids[0] { COLFAX } else { PEARL };
        json!({ "license_id": license_id, "customer_type": "Consumer", "transactions": [
            { "package_label": package_label(number, "0001"), "quantity": "0.1", "unit": "Grams", "total_amount": "1" }] })
    };
    let sales_url = format!("{base}/api/sales");
    let record = {
        let client = client.clone();
        move |body: Value| {
            let (client, url) = (client.clone(), sales_url.clone());
            async move {
                let response = client.post(url).json(&body).send().await.expect("record");
                assert_eq!(response.status(), 201);
            }
        }
    };

    // 1. A backlog held for want of a key, released by one save.
    for _ in 0..BACKLOG {
        record(sale(ids[0])).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sim.receipts("co").is_empty(), "held without a key");
    let saved = client
        .post(format!("{base}/api/credentials"))
        .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": ids, "key": CO_BOTH }))
        .send()
        .await
        .expect("save");
    assert_eq!(saved.status(), 201);
    let released = Instant::now();
    let done = wait_for(&sim, BACKLOG).await;
    let secs = (done - released).as_secs_f64();
    println!(
        "backlog: {BACKLOG} receipts in {secs:.2} s after the save: {:.0} receipts/s (budget >= 500)",
        BACKLOG as f64 / secs
    );
    println!(
        "most POSTs in flight at once for {COLFAX}: {} (limit 2)",
        sim.max_posts_in_flight("co", COLFAX)
    );

    // 2. Live: registers recording while the worker sends.
    let started = Instant::now();
    let mut registers = Vec::new();
    for r in 0..REGISTERS {
        let record = record.clone();
        let license = ids[r % 2];
        let body = sale(license);
        registers.push(tokio::spawn(async move {
            for _ in 0..LIVE / REGISTERS {
                record(body.clone()).await;
            }
        }));
    }
    for register in registers {
        register.await.expect("register");
    }
    let recorded = started.elapsed().as_secs_f64();
    let done = wait_for(&sim, BACKLOG + LIVE).await;
    let secs = (done - started).as_secs_f64();
    println!(
        "live: {LIVE} sales from {REGISTERS} registers recorded in {recorded:.2} s, all in the simulator after {secs:.2} s: {:.0} receipts/s end to end (budget >= 500)",
        LIVE as f64 / secs
    );
    println!(
        "most POSTs in flight at once: {COLFAX} {}, {PEARL} {} (limit 2)",
        sim.max_posts_in_flight("co", COLFAX),
        sim.max_posts_in_flight("co", PEARL)
    );

    // 3. From a credential fix to the replayed report, five times.
    let mut fixes = Vec::new();
    let page: Value = client
        .get(format!("{base}/api/credentials"))
        .send()
        .await
        .expect("page")
        .json()
        .await
        .expect("json");
    let credential = page["credentials"][0]["id"].as_i64().expect("id");
    let mut key = CO_BOTH.to_owned();
    for _ in 0..5 {
        let new_key = sim.rotate_user_key("co", &key).expect("rotate");
        let before = sim.receipts("co").len();
        record(sale(ids[0])).await;
        // Held as 401 after the re-check.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let reports: Value = client
                .get(format!("{base}/api/reports"))
                .send()
                .await
                .expect("reports")
                .json()
                .await
                .expect("json");
            if reports[0]["status"] == "held" {
                break;
            }
            assert!(Instant::now() < deadline, "not held");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let page: Value = client
            .get(format!("{base}/api/credentials"))
            .send()
            .await
            .expect("page")
            .json()
            .await
            .expect("json");
        let version = page["credentials"][0]["version"].as_i64().expect("version");
        let fixed = client
            .put(format!("{base}/api/credentials/{credential}"))
            .json(&json!({ "provider": "metrc", "state": "CO", "license_ids": ids, "key": new_key, "version": version }))
            .send()
            .await
            .expect("fix");
        assert_eq!(fixed.status(), 200);
        let answered = Instant::now();
        let arrived = wait_for(&sim, before + 1).await;
        fixes.push(arrived - answered);
        key = new_key;
    }
    fixes.sort();
    println!(
        "credential fix to replayed report in the simulator: median {:.1?}, worst {:.1?} (5 fixes)",
        common::percentile(&fixes, 0.5),
        fixes[fixes.len() - 1]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

//! The simulator's throughput for `GET /facilities/v2/` with the rate limits off, serving on ONE core
//! (a single-threaded runtime on its own thread) while the load comes from another thread over
//! loopback. Bounded: a fixed number of requests, then it stops. Run with `cargo bench -p metrc-sim`.

use base64::Engine;
use std::time::Instant;

const CONNECTIONS: usize = 32;
const REQUESTS_PER_CONNECTION: usize = 1_500;

fn main() {
    // The simulator: one thread, one core's worth of work.
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let (_sim, addr) = metrc_sim::start_demo(metrc_sim::limits::Limits::OFF)
                .await
                .expect("listens");
            ready_tx.send(addr).expect("report address");
            std::future::pending::<()>().await;
        });
    });
    let addr = ready_rx.recv().expect("simulator address");

    // The load: keep-alive connections, each sending its requests one after another.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            metrc_sim::demo::VENDOR_KEY,
            metrc_sim::demo::CO_BOTH
        ))
    );
    let url = format!("http://{addr}/co/facilities/v2/");
    let (elapsed, total) = runtime.block_on(async move {
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let (url, auth) = (url.clone(), auth.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..REQUESTS_PER_CONNECTION {
                    let response = client
                        .get(&url)
                        .header("authorization", &auth)
                        .send()
                        .await
                        .expect("request");
                    assert_eq!(response.status(), 200);
                    response.bytes().await.expect("body");
                }
            }));
        }
        for task in tasks {
            task.await.expect("load task");
        }
        (started.elapsed(), CONNECTIONS * REQUESTS_PER_CONNECTION)
    });
    println!(
        "GET /facilities/v2/: {total} requests over {CONNECTIONS} connections in {elapsed:.2?}: {:.0} requests/s \
         (simulator on one thread; budget >= 5,000/s)",
        total as f64 / elapsed.as_secs_f64()
    );
}

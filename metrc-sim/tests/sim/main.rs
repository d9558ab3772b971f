//! The simulator against its HTTP surface, as a METRC client sees it: one test binary.

mod facilities;
mod reports;

use metrc_sim::Simulator;

/// The demo world on a free port, with METRC's default limits; returns its base URL.
pub async fn demo() -> (Simulator, String) {
    let (sim, addr) = metrc_sim::start_demo(Default::default())
        .await
        .expect("listens");
    (sim, format!("http://{addr}"))
}

//! The chaos campaigns CI runs (one seed per database), and the forced schedules that prove the checks
//! catch a planted fault. Each starts its own servers: they run one at a time whatever `--test-threads`
//! says, each bounded (a hang fails the test instead of holding CI).

use chaos::campaign::Report;
use chaos::cluster::Store;
use chaos::scenarios;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// One campaign at a time: two would compete for two cores and skew each other's timing.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs a campaign alone, for at most ten minutes.
async fn alone(campaign: impl Future<Output = Result<Report, String>>) -> Report {
    let _turn = ONE_AT_A_TIME.lock().await;
    tokio::time::timeout(Duration::from_secs(600), campaign)
        .await
        .expect("the campaign ends within ten minutes")
        .expect("the harness ran")
}

/// This crate's binary: `chaos server` is the server.
fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chaos"))
}

fn postgres() -> Store {
    Store::Postgres(std::env::var("TEST_POSTGRES_URL").expect(
        "TEST_POSTGRES_URL is not set: this test needs PostgreSQL (the test command skips it without one)",
    ))
}

/// A forced schedule passes every check on a correct build, and is caught (a report in METRC twice) on
/// a build with the planted faults.
fn judge(report: Report) {
    println!("{report}");
    if cfg!(feature = "planted-faults") {
        assert!(
            report.figures.duplicates > 0,
            "the planted fault was NOT caught:\n{report}"
        );
    } else {
        assert!(report.passed(), "{report}");
    }
}

/// The seeded campaigns (not on a planted build: it would fail them, by chance rather than by construction).
#[cfg(not(feature = "planted-faults"))]
mod campaigns {
    use super::{alone, bin, postgres};
    use chaos::campaign::{self, Plan};
    use chaos::cluster::Store;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_campaign_seed_1() {
        let report = alone(campaign::run(bin(), &Plan::ci(1, Store::Sqlite))).await;
        println!("{report}");
        assert!(report.passed(), "{report}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_campaign_seed_2() {
        let report = alone(campaign::run(bin(), &Plan::ci(2, postgres()))).await;
        println!("{report}");
        assert!(report.passed(), "{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_postgres_lost_claim() {
    judge(alone(scenarios::lost_claim(bin(), &postgres())).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_sqlite_ambiguous_post() {
    judge(alone(scenarios::ambiguous_post(bin(), &Store::Sqlite)).await);
}

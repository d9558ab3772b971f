//! Forced schedules: two faults the outbox must survive, brought about by construction rather than by
//! luck. Each ends with the campaign's checks. A correct build passes them; a build with the planted faults
//! (`--features planted-faults`) must fail them, every time — the proof that the checks can fail.
//!
//! - [`lost_claim`]: two servers; a pass's claim on its later batches expires while its first batch is
//!   slow in METRC, and the other server takes them over and sends them. The first server must not post
//!   them when its turn comes (the claim check).
//! - [`ambiguous_post`]: METRC answers a receipt's POST `504` and applies it 3 s later. The receipt must be
//!   looked up, never posted again blind (the lookup).

use crate::campaign::{
    self, Ends, Figures, Report, conclude, ends, judge, sale, server_settings, simulator,
};
use crate::checks::Answered;
use crate::cluster::{Cluster, Store};
use crate::world::World;
use metrc_sim::faults::{Fault, FaultKind};
use shared::report::ReportView;
use std::path::Path;
use std::time::{Duration, Instant};

/// How many sales the lost-claim schedule releases at once: three batches of METRC's 10.
const RELEASED: usize = 30;

/// Two servers, one post at a time per license, a 1 s claim: the reports of one person are held (no key),
/// then released together when a key is saved through the first server while the second is down, and
/// every METRC answer takes 6 s. The first server claims them all and posts the first batch; the second
/// starts meanwhile, and takes over the other batches, whose claim ran out. When the first server's turn
/// comes for them, its claim is gone. (A correct build must log that it did not post them: the schedule
/// is checked to have brought the lost claim about.)
pub async fn lost_claim(bin: &Path, store: &Store) -> Result<Report, String> {
    let mut settings = server_settings();
    settings.retain(|(k, _)| !k.starts_with("METRC_"));
    settings.extend([
        ("METRC_REQUEST_TIMEOUT_SECS", "9".to_owned()),
        ("METRC_DEADLINE_SECS", "10".to_owned()),
    ]);
    let mut stage = Stage::set_up("lost claim", bin, store, 2, &settings).await?;
    let live = stage.cluster.live.clone();
    let (sim, db, world) = (&stage.sim, &stage.db, &stage.world);
    world.remove_default(&live, "co").await?;
    world.delete_credential(&live, 0).await?;
    let mut answered = Vec::new();
    let who = &world.people[0];
    let license = who.licenses[0];
    for n in 0..RELEASED {
        let base = live.pick(n).ok_or("no server is up")?;
        answered.push(record(&who.client, &base, &sale(&license), 0).await?);
    }
    wait_for(db, "status = 'held'", RELEASED).await?;
    sim.add_fault(Fault {
        state: "co".into(),
        user_key: None,
        kind: FaultKind::SlowAnswer { ms: 6000 },
        times: None,
    });
    stage.cluster.kill(1).await;
    world.save_new_key(sim, &live, 0).await?;
    stage.cluster.restart(1).await?;
    let drained = campaign::drain(db, Duration::from_secs(90)).await;
    sim.clear_faults();
    let mut report = stage.finish(&answered, drained).await?;
    if !cfg!(feature = "planted-faults") && report.figures.claims_lost == 0 {
        report
            .violations
            .push("the schedule did not bring about a lost claim: it proves nothing".into());
    }
    Ok(report)
}

/// One server; the first receipt POST is answered `504` at once and applied 3 s later (a lookup in
/// between finds nothing, and is not believed before `OUTBOX_SETTLE_SECS`, 5 s here).
pub async fn ambiguous_post(bin: &Path, store: &Store) -> Result<Report, String> {
    let mut settings = server_settings();
    settings.retain(|(k, _)| *k != "OUTBOX_SETTLE_SECS");
    settings.push(("OUTBOX_SETTLE_SECS", "5".to_owned()));
    let stage = Stage::set_up("ambiguous POST", bin, store, 1, &settings).await?;
    let (sim, db, world) = (&stage.sim, &stage.db, &stage.world);
    let who = &world.people[0];
    sim.add_fault(Fault {
        state: "co".into(),
        user_key: world.current_key(0),
        kind: FaultKind::LateApply { ms: 3000 },
        times: Some(1),
    });
    let base = stage.cluster.live.pick(0).ok_or("no server is up")?;
    let answered = vec![record(&who.client, &base, &sale(&who.licenses[0]), 0).await?];
    // The simulator answers the first POST 504 as it arrives, and applies it 3 s later.
    let waiting = Instant::now();
    while sim.post_count() == 0 && waiting.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let first_post = Instant::now();
    let drained = campaign::drain(db, Duration::from_secs(60)).await;
    // Judged once the late copy has surely landed (a blind second POST lands at once).
    let landed = first_post + Duration::from_millis(4500);
    tokio::time::sleep(landed.saturating_duration_since(Instant::now())).await;
    stage.finish(&answered, drained).await
}

/// A forced schedule's simulator, servers and organization (one person in Colorado with a credential,
/// one in Massachusetts, the Colorado default key).
struct Stage {
    name: &'static str,
    started: Instant,
    sim: metrc_sim::Simulator,
    cluster: Cluster,
    db: server::db::Db,
    world: World,
}

impl Stage {
    async fn set_up(
        name: &'static str,
        bin: &Path,
        store: &Store,
        servers: usize,
        settings: &[(&str, String)],
    ) -> Result<Stage, String> {
        let started = Instant::now();
        let (sim, metrc_url) = simulator().await?;
        let cluster = Cluster::start(bin, store, servers, &metrc_url, settings).await?;
        let db = server::db::Db::connect(&cluster.database_url)
            .await
            .map_err(|e| format!("the harness cannot open the database: {e}"))?;
        let world = World::set_up(&db, &sim, &cluster.live, 1, 0).await?;
        Ok(Stage {
            name,
            started,
            sim,
            cluster,
            db,
            world,
        })
    }

    /// Judges the end, and stops the servers.
    async fn finish(
        mut self,
        answered: &[Answered],
        drained: Result<(), i64>,
    ) -> Result<Report, String> {
        let judged = judge(
            &self.sim,
            &self.db,
            &self.world,
            &self.cluster.live,
            answered,
        )
        .await?;
        let mut violations = judged.violations;
        if let Err(pending) = drained {
            violations.push(format!("{pending} report(s) still pending"));
        }
        let Ends {
            by_status,
            held_reasons,
            sent_under,
        } = ends(&judged.stored);
        let figures = Figures {
            scenario: self.name.to_owned(),
            store: self.cluster.store.name(),
            servers: self.cluster.servers(),
            recorded: judged.stored.len(),
            by_status,
            held_reasons,
            sent_under,
            answered: answered.len(),
            key_changes: self.world.log().len(),
            claims_lost: self.cluster.claims_lost(),
            duplicates: judged.verdict.duplicates,
            lost: judged.verdict.lost,
            elapsed: self.started.elapsed(),
            ..Figures::default()
        };
        Ok(conclude(&mut self.cluster, self.db, figures, violations).await)
    }
}

async fn record(
    client: &reqwest::Client,
    base: &str,
    body: &serde_json::Value,
    person: usize,
) -> Result<Answered, String> {
    let response = client
        .post(format!("{base}/api/sales"))
        .json(body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() != 201 {
        return Err(format!("recording a sale answered {}", response.status()));
    }
    let report: ReportView = response.json().await.map_err(|e| e.to_string())?;
    Ok(Answered {
        report_id: report.id,
        person,
    })
}

/// Waits until `count` reports match `condition`.
async fn wait_for(db: &server::db::Db, condition: &str, count: usize) -> Result<(), String> {
    let sql = format!("SELECT COUNT(*) FROM reports WHERE {condition}");
    for _ in 0..300 {
        let n: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&db.pool)
            .await
            .map_err(|e| e.to_string())?;
        if usize::try_from(n).ok() == Some(count) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("never {count} reports with {condition}"))
}

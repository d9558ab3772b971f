//! A campaign: servers on one database, registers recording sales and adjustments throughout, METRC
//! failing at random (the simulator's seeded mix) and the seeded schedule of kills and key changes; then
//! the faults stop, every key is made good, the queue drains, and the checks run.

use crate::checks::{self, Answered, Evidence, InMetrc, Kind, Stored};
use crate::cluster::{Cluster, Live, Store};
use crate::schedule::{self, Action, Cast};
use crate::world::{self, PACKAGE, World, now_ms};
use metrc_sim::Simulator;
use metrc_sim::faults::Chaos;
use rand::{Rng, SeedableRng};
use serde_json::json;
use shared::report::ReportView;
use sqlx::Row;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a campaign does.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub store: Store,
    /// Server processes (one on SQLite).
    pub servers: usize,
    /// How long the faults, kills and key changes go on.
    pub faults_for: Duration,
    /// The share of METRC requests that meet a fault while they do.
    pub fault_probability: f64,
    /// Colorado people with credentials (and one in Massachusetts); people with none, who always report
    /// under the default key.
    pub co_people: usize,
    pub default_only: usize,
    /// Sales recorded one at a time once the faults stopped, to measure sale → METRC latency.
    pub latency_samples: usize,
}

impl Plan {
    /// What CI runs: a short campaign on one store (two servers on PostgreSQL, one on SQLite).
    pub fn ci(seed: u64, store: Store) -> Plan {
        let servers = if store == Store::Sqlite { 1 } else { 2 };
        Plan {
            seed,
            store,
            servers,
            faults_for: Duration::from_secs(20),
            fault_probability: 0.25,
            co_people: 3,
            default_only: 1,
            latency_samples: 20,
        }
    }
}

/// The servers' configuration in a campaign: short timeouts, retries and leases, so that claims expire
/// under load and the queue drains within the campaign.
pub fn server_settings() -> Vec<(&'static str, String)> {
    [
        ("METRC_REQUEST_TIMEOUT_SECS", "1"),
        ("METRC_DEADLINE_SECS", "2"),
        ("OUTBOX_LEASE_SECS", "1"),
        // One POST at a time per license: a pass with several batches for a license outlives its claim.
        ("OUTBOX_POSTS_PER_LICENSE", "1"),
        ("OUTBOX_POLL_MS", "200"),
        ("OUTBOX_RETRY_SECS", "1"),
        ("OUTBOX_RETRY_MAX_SECS", "2"),
        ("OUTBOX_SETTLE_SECS", "2"),
        ("VERIFY_ATTEMPTS_PER_MINUTE", "100000"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// The figures a campaign prints.
#[derive(Debug, Default)]
pub struct Figures {
    /// "random" for a seeded campaign, or the forced schedule's name.
    pub scenario: String,
    pub seed: u64,
    pub store: &'static str,
    pub servers: usize,
    pub faults_for: Duration,
    /// Reports in the product at the end, and by status.
    pub recorded: usize,
    pub by_status: BTreeMap<String, usize>,
    /// Held reports by reason.
    pub held_reasons: BTreeMap<String, usize>,
    /// Recordings answered 201; answers lost (a server killed mid-request); other answers by status.
    pub answered: usize,
    pub unanswered: u64,
    pub refused: BTreeMap<u16, u64>,
    /// METRC faults drawn by class, and explicit ones.
    pub faults: BTreeMap<String, u64>,
    pub kills: u64,
    pub key_changes: usize,
    /// Sent reports by the key they went under ("credential" / "default").
    pub sent_under: BTreeMap<String, usize>,
    /// Batches a server did not post because another server had taken its claim over (from their logs).
    pub claims_lost: usize,
    pub duplicates: usize,
    pub lost: usize,
    /// Sale → METRC, once the faults stopped (ms).
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    /// From the end of the faults until nothing was pending.
    pub drain: Duration,
    pub elapsed: Duration,
}

/// What a campaign found.
#[derive(Debug)]
pub struct Report {
    pub figures: Figures,
    pub violations: Vec<String>,
    /// The servers' logs (kept when there are violations).
    pub logs: Vec<PathBuf>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = &self.figures;
        writeln!(
            f,
            "chaos campaign ({}): seed {}, {} with {} server process(es), faults for {} s ({:.1} s in all)",
            g.scenario,
            g.seed,
            g.store,
            g.servers,
            g.faults_for.as_secs(),
            g.elapsed.as_secs_f64()
        )?;
        let status = |s: &str| g.by_status.get(s).copied().unwrap_or(0);
        writeln!(
            f,
            "  reports recorded {}: sent {}, held {}, outcome unknown {}, dismissed {}, pending {}",
            g.recorded,
            status("sent"),
            status("held"),
            status("outcome_unknown"),
            status("dismissed"),
            status("pending")
        )?;
        for (reason, count) in &g.held_reasons {
            writeln!(f, "    held {count}: {reason}")?;
        }
        writeln!(
            f,
            "  registers: answered 201 {}, answer lost {}, other answers {:?}",
            g.answered, g.unanswered, g.refused
        )?;
        let injected: u64 = g.faults.values().sum();
        writeln!(f, "  METRC faults injected {injected}: {:?}", g.faults)?;
        writeln!(
            f,
            "  server kills {}, key changes {}, sent under {:?}, batches not posted for a lost claim {}",
            g.kills, g.key_changes, g.sent_under, g.claims_lost
        )?;
        writeln!(
            f,
            "  duplicates {} (must be 0), lost {} (must be 0)",
            g.duplicates, g.lost
        )?;
        match (g.latency_p50_ms, g.latency_p99_ms) {
            (Some(p50), Some(p99)) => writeln!(
                f,
                "  sale → METRC once faults stopped: p50 {p50} ms, p99 {p99} ms; queue drained in {:.1} s",
                g.drain.as_secs_f64()
            )?,
            _ => writeln!(f, "  sale → METRC latency: not measured")?,
        }
        if self.violations.is_empty() {
            writeln!(f, "  every check holds")
        } else {
            writeln!(f, "  {} VIOLATION(S):", self.violations.len())?;
            for v in self.violations.iter().take(40) {
                writeln!(f, "    - {v}")?;
            }
            for log in &self.logs {
                writeln!(f, "  server log: {}", log.display())?;
            }
            Ok(())
        }
    }
}

/// What the registers were answered.
#[derive(Debug, Default)]
struct Tally {
    answered: Mutex<Vec<Answered>>,
    unanswered: AtomicU64,
    refused: Mutex<BTreeMap<u16, u64>>,
}

/// A simulator with the demo world, serving on a free loopback port, and the servers' METRC URL for it.
pub async fn simulator() -> Result<(Simulator, String), String> {
    let sim = Simulator::new();
    metrc_sim::demo::seed(&sim);
    let addr = sim
        .spawn(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| format!("the simulator cannot listen: {e}"))?;
    Ok((sim, format!("http://{addr}/{{state}}")))
}

/// Runs a campaign with the servers of `bin` (`chaos server`). `Err` when the harness itself could not
/// run (a server that does not start, a database that cannot be created); the product's faults are in the
/// report's violations.
pub async fn run(bin: &Path, plan: &Plan) -> Result<Report, String> {
    let started = Instant::now();
    let (sim, metrc_url) = simulator().await?;
    let settings = server_settings();
    let mut cluster = Cluster::start(bin, &plan.store, plan.servers, &metrc_url, &settings).await?;
    let db = server::db::Db::connect(&cluster.database_url)
        .await
        .map_err(|e| format!("the harness cannot open the database: {e}"))?;
    let world =
        Arc::new(World::set_up(&db, &sim, &cluster.live, plan.co_people, plan.default_only).await?);

    // The faults, the registers, and the schedule.
    sim.set_chaos(Some(Chaos {
        seed: plan.seed,
        probability: plan.fault_probability,
    }));
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let registers: Vec<_> = (0..world.people.len())
        .map(|person| {
            tokio::spawn(register(
                world.clone(),
                person,
                cluster.live.clone(),
                plan.seed,
                stop.clone(),
                tally.clone(),
            ))
        })
        .collect();
    let cast = Cast {
        servers: plan.servers,
        keyholders: world
            .people
            .iter()
            .filter(|p| p.keeps_credential)
            .map(|p| p.index)
            .collect(),
    };
    let begun = tokio::time::Instant::now();
    let mut trouble = Vec::new();
    // Kills and restarts happen on time; a key change may take a while (every server down, METRC
    // failing), so each runs as a task of its own, after the previous change of the same subject.
    let mut changing: HashMap<Option<usize>, tokio::task::JoinHandle<Result<(), String>>> =
        HashMap::new();
    for event in schedule::plan(plan.seed, plan.faults_for, &cast) {
        tokio::time::sleep_until(begun + event.at).await;
        let result = match event.action {
            Action::Kill(slot) => {
                cluster.kill(slot).await;
                Ok(())
            }
            Action::Restart(slot) => cluster.restart(slot).await,
            change => {
                let subject = match change {
                    Action::Revoke(p) | Action::Resave(p) | Action::Delete(p) | Action::Add(p) => {
                        Some(p)
                    }
                    _ => None,
                };
                let before = changing.remove(&subject);
                let (world, sim, live) = (world.clone(), sim.clone(), cluster.live.clone());
                let task = tokio::spawn(async move {
                    if let Some(before) = before {
                        before.await.map_err(|e| e.to_string())??;
                    }
                    change_key(&world, &sim, &live, change).await
                });
                changing.insert(subject, task);
                Ok(())
            }
        };
        if let Err(e) = result {
            trouble.push(e);
        }
    }
    tokio::time::sleep_until(begun + plan.faults_for).await;
    for (_, task) in changing {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => trouble.push(e),
            Err(e) => trouble.push(format!("a key change panicked: {e}")),
        }
    }
    stop.store(true, Ordering::Relaxed);
    for register in registers {
        let _ = register.await;
    }

    // The faults stop; every server is up and every key good again.
    let drawn = sim.chaos_drawn();
    sim.set_chaos(None);
    sim.clear_faults();
    cluster.restart_all().await?;
    for person in &cast.keyholders {
        let key = world.current_key(*person);
        let revoked = key.as_ref().is_none_or(|k| {
            sim.user_key(world.people[*person].state, k)
                .is_none_or(|u| u.revoked)
        });
        if revoked {
            world.save_new_key(&sim, &cluster.live, *person).await?;
        }
    }
    world.set_default(&cluster.live, "co").await?;
    let calm = Instant::now();
    let mut violations: Vec<String> = trouble;
    if let Err(pending) = drain(&db, Duration::from_secs(120)).await {
        violations.push(format!(
            "{pending} report(s) still pending 120 s after the faults stopped"
        ));
    }
    let drained = calm.elapsed();
    let latencies = measure_latency(&world, &sim, &cluster.live, plan, &tally).await;
    if let Err(pending) = drain(&db, Duration::from_secs(60)).await {
        violations.push(format!(
            "{pending} report(s) still pending after the latency sales"
        ));
    }

    let answered = tally
        .answered
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let judged = judge(&sim, &db, &world, &cluster.live, &answered).await?;
    violations.extend(judged.violations);
    let (stored, verdict, key_log) = (judged.stored, judged.verdict, world.log());
    let refused = tally
        .refused
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    if let Some(count) = refused.get(&500) {
        violations.push(format!("the server answered 500 to {count} recording(s)"));
    }

    let Ends {
        by_status,
        held_reasons,
        sent_under,
    } = ends(&stored);
    let percentile = |p: usize| {
        (!latencies.is_empty())
            .then(|| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)])
    };
    let figures = Figures {
        scenario: "random".into(),
        seed: plan.seed,
        store: plan.store.name(),
        servers: plan.servers,
        faults_for: plan.faults_for,
        recorded: stored.len(),
        by_status,
        held_reasons,
        answered: answered.len(),
        unanswered: tally.unanswered.load(Ordering::Relaxed),
        refused,
        faults: drawn.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        kills: cluster.kills,
        key_changes: key_log.len(),
        sent_under,
        claims_lost: cluster.claims_lost(),
        duplicates: verdict.duplicates,
        lost: verdict.lost,
        latency_p50_ms: percentile(50),
        latency_p99_ms: percentile(99),
        drain: drained,
        elapsed: started.elapsed(),
    };
    Ok(conclude(&mut cluster, db, figures, violations).await)
}

/// Stops the servers and keeps their logs only when something broke.
pub(crate) async fn conclude(
    cluster: &mut Cluster,
    db: server::db::Db,
    figures: Figures,
    violations: Vec<String>,
) -> Report {
    cluster.stop().await;
    db.pool.close().await;
    let logs = cluster.log_paths();
    if violations.is_empty() {
        cluster.remove_traces().await;
    }
    Report {
        figures,
        violations,
        logs,
    }
}

/// How the reports ended: by status, held ones by reason, sent ones by the key they went under.
pub(crate) struct Ends {
    pub by_status: BTreeMap<String, usize>,
    pub held_reasons: BTreeMap<String, usize>,
    pub sent_under: BTreeMap<String, usize>,
}

pub(crate) fn ends(stored: &[Stored]) -> Ends {
    let mut ends = Ends {
        by_status: BTreeMap::new(),
        held_reasons: BTreeMap::new(),
        sent_under: BTreeMap::new(),
    };
    for s in stored {
        *ends.by_status.entry(s.status.clone()).or_default() += 1;
        let (tally, key) = match s.status.as_str() {
            "held" => (&mut ends.held_reasons, &s.reason),
            "sent" => (&mut ends.sent_under, &s.key_used),
            _ => continue,
        };
        *tally.entry(key.clone().unwrap_or_default()).or_default() += 1;
    }
    ends
}

/// The evidence at the end of a campaign, and what the checks found in it.
pub(crate) struct Judged {
    pub stored: Vec<Stored>,
    pub verdict: checks::Verdict,
    /// The verdict's violations and the pages' disagreements with the store.
    pub violations: Vec<String>,
}

/// Gathers the evidence (METRC's record, the product's store and pages, the registers' answers, the key
/// log) and runs the checks.
pub(crate) async fn judge(
    sim: &Simulator,
    db: &server::db::Db,
    world: &World,
    live: &Live,
    answered: &[Answered],
) -> Result<Judged, String> {
    let stored = stored_reports(db).await?;
    let mut metrc = Vec::new();
    for state in ["co", "ma"] {
        metrc.extend(in_metrc(sim, state));
    }
    let key_log = world.log();
    let people: Vec<i64> = world.people.iter().map(|p| p.id).collect();
    let never_keyed: HashSet<usize> = world
        .people
        .iter()
        .filter(|p| !p.keeps_credential)
        .map(|p| p.index)
        .collect();
    let verdict = checks::check(&Evidence {
        metrc: &metrc,
        stored: &stored,
        answered,
        key_log: &key_log,
        people: &people,
        never_keyed: &never_keyed,
        default_key: metrc_sim::demo::CO_MANAGER,
        now_ms: now_ms(),
    });
    let mut violations = verdict.violations.clone();
    violations.extend(pages_agree(world, live, &stored).await);
    Ok(Judged {
        stored,
        verdict,
        violations,
    })
}

/// A key change of the schedule.
async fn change_key(
    world: &World,
    sim: &Simulator,
    live: &Live,
    action: Action,
) -> Result<(), String> {
    match action {
        Action::Revoke(person) => {
            world.revoke(sim, person);
            Ok(())
        }
        Action::Resave(person) | Action::Add(person) => world.save_new_key(sim, live, person).await,
        Action::Delete(person) => world.delete_credential(live, person).await,
        Action::RemoveDefault => world.remove_default(live, "co").await,
        Action::SetDefault => world.set_default(live, "co").await,
        Action::Kill(_) | Action::Restart(_) => Ok(()),
    }
}

/// A sale of 1 g of the campaign's package.
pub(crate) fn sale(license: &world::License) -> serde_json::Value {
    json!({ "license_id": license.id, "customer_type": "Consumer", "transactions": [
        { "package_label": metrc_sim::demo::package_label(license.number, PACKAGE), "quantity": "1",
          "unit": "Grams", "total_amount": "10" }
    ]})
}

/// An adjustment of -1 g whose note names it (METRC cannot be asked for an adjustment by any number).
fn adjustment(license: &world::License, note: &str) -> serde_json::Value {
    json!({ "license_id": license.id, "package_label": metrc_sim::demo::package_label(license.number, PACKAGE),
            "quantity": "-1", "unit": "Grams", "reason": "Entry Error", "date": "2026-11-27", "note": note })
}

/// A register: records a sale (three in four) or an adjustment at one of the person's licenses, through
/// whichever server is up, every 30–200 ms until told to stop. Its seed fixes what it records.
async fn register(
    world: Arc<World>,
    person: usize,
    live: Live,
    seed: u64,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed.wrapping_add(1000 + person as u64));
    let who = &world.people[person];
    let mut n: usize = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let license = who.licenses[rng.random_range(0..who.licenses.len())];
        let (path, body) = if rng.random_bool(0.25) {
            (
                "/api/adjustments",
                adjustment(&license, &format!("chaos {seed} person {person} #{n}")),
            )
        } else {
            ("/api/sales", sale(&license))
        };
        let pause = Duration::from_millis(rng.random_range(30..200));
        if let Some(base) = live.pick(n + person) {
            match who
                .client
                .post(format!("{base}{path}"))
                .json(&body)
                .send()
                .await
            {
                Ok(response) if response.status() == 201 => {
                    match response.json::<ReportView>().await {
                        Ok(report) => tally
                            .answered
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(Answered {
                                report_id: report.id,
                                person,
                            }),
                        Err(_) => {
                            tally.unanswered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                Ok(response) => {
                    *tally
                        .refused
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .entry(response.status().as_u16())
                        .or_default() += 1;
                }
                Err(_) => {
                    tally.unanswered.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        tokio::time::sleep(pause).await;
    }
}

/// Waits until no report is pending; `Err(how many)` if some still are after `timeout`.
pub async fn drain(db: &server::db::Db, timeout: Duration) -> Result<(), i64> {
    let until = Instant::now() + timeout;
    loop {
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE status = 'pending'")
                .fetch_one(&db.pool)
                .await
                .unwrap_or(i64::MAX);
        if pending == 0 {
            return Ok(());
        }
        if Instant::now() > until {
            return Err(pending);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sales recorded one at a time, each timed from the request until the simulator has it. Sorted (ms).
async fn measure_latency(
    world: &World,
    sim: &Simulator,
    live: &Live,
    plan: &Plan,
    tally: &Tally,
) -> Vec<u64> {
    let keyholders: Vec<&world::Person> =
        world.people.iter().filter(|p| p.keeps_credential).collect();
    let mut latencies = Vec::new();
    for n in 0..plan.latency_samples {
        let who = keyholders[n % keyholders.len()];
        let license = who.licenses[n % who.licenses.len()];
        let Some(base) = live.pick(n) else {
            continue;
        };
        let start = Instant::now();
        let Ok(response) = who
            .client
            .post(format!("{base}/api/sales"))
            .json(&sale(&license))
            .send()
            .await
        else {
            continue;
        };
        let Ok(report) = response.json::<ReportView>().await else {
            continue;
        };
        tally
            .answered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Answered {
                report_id: report.id,
                person: who.index,
            });
        let Some(number) = report.external_number else {
            continue;
        };
        while start.elapsed() < Duration::from_secs(20) {
            if sim.receipts_numbered(license.state, &number) > 0 {
                latencies.push(u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX));
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    latencies.sort_unstable();
    latencies
}

/// Every report in the product's store.
async fn stored_reports(db: &server::db::Db) -> Result<Vec<Stored>, String> {
    let rows = sqlx::query(
        "SELECT r.id, r.user_id, r.kind, l.number, r.external_number, r.payload, r.status, r.key_used, \
         r.reason, r.held_for, r.recorded_at, r.last_post_at, r.sent_at \
         FROM reports r JOIN licenses l ON l.id = r.license_id ORDER BY r.id",
    )
    .fetch_all(&db.pool)
    .await
    .map_err(|e| format!("reading the reports: {e}"))?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let kind = if kind == "sale" {
                Kind::Sale
            } else {
                Kind::Adjustment
            };
            let identity = match kind {
                Kind::Sale => row
                    .try_get::<Option<String>, _>("external_number")?
                    .unwrap_or_default(),
                Kind::Adjustment => {
                    let payload: String = row.try_get("payload")?;
                    serde_json::from_str::<serde_json::Value>(&payload)
                        .ok()
                        .and_then(|p| p["ReasonNote"].as_str().map(str::to_owned))
                        .unwrap_or_default()
                }
            };
            Ok(Stored {
                id: row.try_get("id")?,
                user_id: row.try_get("user_id")?,
                kind,
                license: row.try_get("number")?,
                identity,
                status: row.try_get("status")?,
                key_used: row.try_get("key_used")?,
                reason: row.try_get("reason")?,
                held_for: row.try_get("held_for")?,
                recorded_at: row.try_get("recorded_at")?,
                last_post_at: row.try_get("last_post_at")?,
                sent_at: row.try_get("sent_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(|e| format!("reading a report: {e}"))
}

/// What the simulator took in a state.
fn in_metrc(sim: &Simulator, state: &str) -> Vec<InMetrc> {
    let receipts = sim.receipts(state).into_iter().map(|r| InMetrc {
        kind: Kind::Sale,
        identity: r.body["ExternalReceiptNumber"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        license: r.license_number,
        user_key: r.user_key,
    });
    let adjustments = sim.adjustments(state).into_iter().map(|a| InMetrc {
        kind: Kind::Adjustment,
        identity: a.body["ReasonNote"].as_str().unwrap_or_default().to_owned(),
        license: a.license_number,
        user_key: a.user_key,
    });
    receipts.chain(adjustments).collect()
}

/// The pages say what the store says, both ways: each person's "My reports" (their newest 100) and
/// Compliance Management (every report not sent, up to its 500), each report with its status and the
/// key it went under; and Compliance Management's counts add up to what is not sent.
async fn pages_agree(world: &World, live: &Live, stored: &[Stored]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(base) = live.pick(0) else {
        return vec!["no server is up to read the pages from".into()];
    };
    for person in &world.people {
        let mut theirs: Vec<&Stored> = stored.iter().filter(|s| s.user_id == person.id).collect();
        theirs.sort_by_key(|s| std::cmp::Reverse(s.id));
        theirs.truncate(100);
        match world::read::<Vec<ReportView>>(&person.client, &format!("{base}/api/reports")).await {
            Ok(page) => compare(
                &format!("My reports of person {}", person.index),
                &theirs,
                page.iter(),
                &mut problems,
            ),
            Err(e) => problems.push(format!("My reports could not be read: {e}")),
        }
    }
    let not_sent: Vec<&Stored> = stored
        .iter()
        .filter(|s| matches!(s.status.as_str(), "pending" | "held" | "outcome_unknown"))
        .collect();
    match world::read::<shared::report::CompliancePage>(
        &world.admin,
        &format!("{base}/api/admin/compliance"),
    )
    .await
    {
        Ok(page) => {
            if not_sent.len() <= 500 {
                compare(
                    "Compliance Management",
                    &not_sent,
                    page.reports.iter().map(|r| &r.report),
                    &mut problems,
                );
            }
            let counted: i64 = page.counts.iter().map(|(_, n)| n).sum();
            if usize::try_from(counted).ok() != Some(not_sent.len()) {
                problems.push(format!(
                    "Compliance Management counts {counted} reports not sent, the store has {}",
                    not_sent.len()
                ));
            }
        }
        Err(e) => problems.push(format!("Compliance Management could not be read: {e}")),
    }
    problems
}

/// A page shows exactly these stored reports, each with its status and the key it went under.
fn compare<'a>(
    page: &str,
    expected: &[&Stored],
    shown: impl Iterator<Item = &'a ReportView>,
    problems: &mut Vec<String>,
) {
    let mut shown: HashMap<i64, &ReportView> = shown.map(|r| (r.id, r)).collect();
    for stored in expected {
        match shown.remove(&stored.id) {
            None => problems.push(format!("{page} does not show report {}", stored.id)),
            Some(r) => {
                let key = r.key_used.map(|k| k.code().to_owned());
                if r.status.code() != stored.status || key != stored.key_used {
                    problems.push(format!(
                        "{page} shows report {} {} under {key:?}; the store says {} under {:?}",
                        r.id,
                        r.status.code(),
                        stored.status,
                        stored.key_used
                    ));
                }
            }
        }
    }
    for id in shown.keys() {
        problems.push(format!("{page} shows report {id}, which it should not"));
    }
}

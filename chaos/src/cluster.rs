//! Server processes on one database: started from the harness's own binary (`chaos server`, the server's
//! entry point), killed with `SIGKILL`, restarted on a new port.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::process::{Child, Command};

/// The server key every campaign's servers seal METRC keys with.
pub const CREDENTIAL_KEYS: &str = "chaos1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Where the reports are kept. (Its `Debug` never shows the PostgreSQL URL: it holds a password.)
#[derive(Clone, PartialEq, Eq)]
pub enum Store {
    /// A fresh SQLite file in the campaign's folder: one server process at a time.
    Sqlite,
    /// A fresh database created through this administrator URL (ending in `/database`).
    Postgres(String),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Store {
    pub fn name(&self) -> &'static str {
        match self {
            Store::Sqlite => "SQLite",
            Store::Postgres(_) => "PostgreSQL",
        }
    }

    /// A fresh, empty database of this kind, and its URL.
    async fn create(&self, dir: &Path) -> Result<String, String> {
        match self {
            Store::Sqlite => Ok(format!(
                "sqlite://{}?mode=rwc",
                dir.join("chaos.db").display()
            )),
            Store::Postgres(admin_url) => {
                let name = format!("tc_chaos_{}", uuid::Uuid::new_v4().simple());
                sqlx::any::install_default_drivers();
                let admin = sqlx::AnyPool::connect(admin_url)
                    .await
                    .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin)
                    .await
                    .map_err(|e| format!("cannot create the campaign's database: {e}"))?;
                admin.close().await;
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .ok_or("the PostgreSQL URL must end in /database")?;
                Ok(format!("{base}/{name}"))
            }
        }
    }
}

/// The base URLs of the servers that are up, by slot (`None` while one is down). Registers read it.
#[derive(Debug, Clone, Default)]
pub struct Live(Arc<RwLock<Vec<Option<String>>>>);

impl Live {
    /// The URL of the `n`-th server that is up (counting round), or none when all are down.
    pub fn pick(&self, n: usize) -> Option<String> {
        let slots = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let up: Vec<&String> = slots.iter().flatten().collect();
        (!up.is_empty()).then(|| up[n % up.len()].clone())
    }

    fn set(&self, slot: usize, url: Option<String>) {
        let mut slots = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() <= slot {
            slots.resize(slot + 1, None);
        }
        slots[slot] = url;
    }
}

/// Server processes on one database. (Its `Debug` leaves out their configuration: the database URL and the
/// server key.)
pub struct Cluster {
    bin: PathBuf,
    /// The campaign's folder: the SQLite database, each server's log.
    pub dir: PathBuf,
    pub database_url: String,
    pub store: Store,
    env: Vec<(String, String)>,
    children: Vec<Option<Child>>,
    pub live: Live,
    /// How many times a server was killed.
    pub kills: u64,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("dir", &self.dir)
            .field("store", &self.store)
            .field("live", &self.live)
            .field("kills", &self.kills)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Creates a fresh database and starts `servers` processes on it, one after the other (the first
    /// migrates it), talking to METRC at `metrc_url`, with extra configuration variables.
    pub async fn start(
        bin: &Path,
        store: &Store,
        servers: usize,
        metrc_url: &str,
        extra: &[(&str, String)],
    ) -> Result<Cluster, String> {
        let dir = std::env::temp_dir().join(format!("tc-chaos-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let database_url = store.create(&dir).await?;
        let mut env: Vec<(String, String)> = [
            ("DATABASE_URL", database_url.clone()),
            ("CREDENTIAL_KEYS", CREDENTIAL_KEYS.to_owned()),
            ("STATIC_DIR", "/nonexistent-static-dir".to_owned()),
            ("METRC_URL_TEMPLATE", metrc_url.to_owned()),
            ("METRC_VENDOR_KEY", metrc_sim::demo::VENDOR_KEY.to_owned()),
            ("RUST_LOG", "info".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let mut cluster = Cluster {
            bin: bin.to_owned(),
            dir,
            database_url,
            store: store.clone(),
            env,
            children: (0..servers).map(|_| None).collect(),
            live: Live::default(),
            kills: 0,
        };
        for slot in 0..servers {
            cluster.restart(slot).await?;
        }
        Ok(cluster)
    }

    pub fn servers(&self) -> usize {
        self.children.len()
    }

    pub fn is_up(&self, slot: usize) -> bool {
        self.children.get(slot).is_some_and(Option::is_some)
    }

    /// Starts the server of a slot (after a kill) on a fresh port and waits until it answers. A port
    /// picked free can be taken before the server binds it: then it is tried again on another.
    pub async fn restart(&mut self, slot: usize) -> Result<(), String> {
        let mut last = String::new();
        for _ in 0..3 {
            match self.start_once(slot).await {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    async fn start_once(&mut self, slot: usize) -> Result<(), String> {
        if self.is_up(slot) {
            return Ok(());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let log_path = self.dir.join(format!("server-{slot}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let err = log
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let data_dir = self.dir.join(format!("data-{slot}"));
        let child = Command::new(&self.bin)
            .arg("server")
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("DATA_DIR", &data_dir)
            .stdout(log)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.bin.display()))?;
        self.children[slot] = Some(child);
        let base = format!("http://127.0.0.1:{port}");
        let probe = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| e.to_string())?;
        for _ in 0..600 {
            if probe.get(format!("{base}/api/me")).send().await.is_ok() {
                self.live.set(slot, Some(base));
                return Ok(());
            }
            if let Some(Some(child)) = self.children.get_mut(slot)
                && let Ok(Some(status)) = child.try_wait()
            {
                self.children[slot] = None;
                return Err(format!(
                    "server {slot} exited with {status} before answering; see {}",
                    log_path.display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(mut child) = self.children[slot].take() {
            let _ = child.kill().await;
        }
        Err(format!("server {slot} does not answer at {base}"))
    }

    /// `SIGKILL`s the server of a slot: no shutdown, whatever it was doing.
    pub async fn kill(&mut self, slot: usize) {
        if let Some(mut child) = self.children.get_mut(slot).and_then(Option::take) {
            self.live.set(slot, None);
            let _ = child.kill().await;
            self.kills += 1;
        }
    }

    /// Starts every server that is down.
    pub async fn restart_all(&mut self) -> Result<(), String> {
        for slot in 0..self.servers() {
            self.restart(slot).await?;
        }
        Ok(())
    }

    /// Stops every server (`SIGKILL`: the campaign is over).
    pub async fn stop(&mut self) {
        for slot in 0..self.servers() {
            if let Some(mut child) = self.children[slot].take() {
                self.live.set(slot, None);
                let _ = child.kill().await;
            }
        }
    }

    /// The servers' logs, for a failure report.
    pub fn log_paths(&self) -> Vec<PathBuf> {
        (0..self.servers())
            .map(|slot| self.dir.join(format!("server-{slot}.log")))
            .collect()
    }

    /// How many times the servers logged that they did not post a batch whose claim another server took.
    pub fn claims_lost(&self) -> usize {
        self.log_paths()
            .iter()
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .map(|log| log.matches("claimed by another worker").count())
            .sum()
    }

    /// Removes the campaign's folder and its PostgreSQL database (both kept when a campaign fails).
    pub async fn remove_traces(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Store::Postgres(admin_url) = &self.store
            && let Some((_, name)) = self.database_url.rsplit_once('/')
            && let Ok(admin) = sqlx::AnyPool::connect(admin_url).await
        {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}

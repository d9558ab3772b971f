//! `TestApp`: a running server with its own database, and helpers to seed and inspect it.

use server::accounts::{self, NewUser};
use server::app::Application;
use server::config::Config;
use server::db::{Backend, Db};
use shared::{Email, Role};
use std::collections::HashMap;
use std::net::SocketAddr;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";
pub const TEST_CREDENTIAL_KEYS: &str = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Runs each test body once on SQLite and once on PostgreSQL, each on a server started with the
/// harness's configuration, plus the variables after `with` when given
/// (a constant: `async fn name(app: TestApp) with QUICK_RETRIES { … }`).
#[macro_export]
macro_rules! on_both_databases {
    ($(
        $(#[doc = $doc:literal])*
        async fn $name:ident($app:ident: TestApp) $(with $settings:ident)? $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::harness::TestApp) $body

                fn settings() -> &'static [(&'static str, &'static str)] {
                    #[allow(unused_variables)]
                    let settings: &'static [(&'static str, &'static str)] = &[];
                    $(let settings = $settings;)?
                    settings
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::harness::TestApp::spawn_with(server::db::Backend::Sqlite, settings()).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::harness::TestApp::spawn_with(server::db::Backend::Postgres, settings()).await).await
                }
            }
        )*
    };
}

/// A running server: what stops it, and its task.
type Serving = (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), server::app::StartError>>,
);

pub struct TestApp {
    pub addr: SocketAddr,
    /// This test's own METRC simulator, seeded with the demo world, which the server talks to.
    pub sim: metrc_sim::Simulator,
    /// `METRC_URL_TEMPLATE` pointing at [`TestApp::sim`].
    pub metrc_url: String,
    pub db: Db,
    pub database_url: String,
    pub organization_id: i64,
    /// What the server's handlers reach: its configuration, METRC client, key custody and test hooks.
    pub state: server::AppState,
    /// A client that keeps cookies, like a browser tab.
    pub client: reqwest::Client,
    /// The configuration the server was built from (to build another on the same database).
    vars: HashMap<String, String>,
    server: Option<Serving>,
    _data_dir: TempDir,
}

/// A folder removed when the test ends.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh, empty database of the given kind, and its URL.
async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
        Backend::Postgres => {
            let admin_url = std::env::var("TEST_POSTGRES_URL").expect(
                "TEST_POSTGRES_URL is not set: this test needs PostgreSQL (the test command skips it \
                 without one; .ci/run starts one)",
            );
            let name = format!("tc_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&admin_url)
                .await
                .expect("connect to TEST_POSTGRES_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&admin)
                .await
                .expect("create the test database");
            admin.close().await;
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("TEST_POSTGRES_URL ends in /database");
            format!("{base}/{name}")
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts the server with extra configuration variables.
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> TestApp {
        let dir = std::env::temp_dir().join(format!("tc-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let data_dir = TempDir(dir);
        capture_logs();
        let database_url = fresh_database(backend, &data_dir.0).await;
        let (sim, sim_addr) = metrc_sim::start_demo(metrc_sim::limits::Limits::default())
            .await
            .expect("simulator listens");
        let metrc_url = format!("http://{sim_addr}/{{state}}");
        let mut vars: HashMap<String, String> = [
            ("BIND_ADDR", "127.0.0.1:0"),
            ("DATABASE_URL", database_url.as_str()),
            ("CREDENTIAL_KEYS", TEST_CREDENTIAL_KEYS),
            ("STATIC_DIR", "/nonexistent-static-dir"),
            ("METRC_URL_TEMPLATE", metrc_url.as_str()),
            ("METRC_VENDOR_KEY", metrc_sim::demo::VENDOR_KEY),
            // Short, so that an outage test ends quickly (METRC's own defaults are 15 s and 20 s).
            ("METRC_REQUEST_TIMEOUT_SECS", "2"),
            ("METRC_DEADLINE_SECS", "3"),
            // A lookup that finds nothing is believed 2 s after the POST (METRC's own default is 60).
            ("OUTBOX_SETTLE_SECS", "2"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        vars.insert("DATA_DIR".into(), data_dir.0.display().to_string());
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = Config::from_lookup(false, |name| vars.get(name).cloned()).expect("config");
        let database_url = config.database_url.clone();
        let app = Application::build(config).await.expect("server starts");
        let addr = app.local_addr().expect("bound");
        let db = app.db().clone();
        let state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));

        let mut conn = db.pool.acquire().await.expect("connection");
        let organization_id = accounts::create_organization(&mut conn, "Test Dispensary Inc.")
            .await
            .expect("organization");
        drop(conn);

        TestApp {
            addr,
            sim,
            metrc_url,
            db,
            database_url,
            organization_id,
            state,
            client: Self::new_client(),
            vars,
            server: Some((tx, serving)),
            _data_dir: data_dir,
        }
    }

    /// Stops this test's server (its database and simulator stay), e.g. to run the server binary on the
    /// same SQLite database, which allows one server at a time.
    pub async fn stop_server(&mut self) {
        if let Some((stop, serving)) = self.server.take() {
            let _ = stop.send(());
            let _ = serving.await;
        }
    }

    /// Stops this test's server and starts a new one on the same database and simulator, with some
    /// configuration variables changed (e.g. `CREDENTIAL_KEYS` after a rotation). Clients keep their
    /// cookies but talk to the new address.
    pub async fn restart_with(&mut self, changed: &[(&str, &str)]) {
        self.stop_server().await;
        for (k, v) in changed {
            self.vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let app = self.build_another().await.expect("the server starts again");
        self.addr = app.local_addr().expect("bound");
        self.state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        self.server = Some((tx, serving));
    }

    /// Builds another server on this test's database and configuration (port 0).
    pub async fn build_another(&self) -> Result<Application, server::app::StartError> {
        let config =
            Config::from_lookup(false, |name| self.vars.get(name).cloned()).expect("config");
        Application::build(config).await
    }

    /// Starts the server binary on this test's database and simulator, with extra variables, and waits
    /// until it answers. Returns the process (killed when dropped) and its base URL.
    pub async fn spawn_server_binary(
        &self,
        extra: &[(&str, &str)],
    ) -> (tokio::process::Child, String) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .env_clear()
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("DATABASE_URL", &self.database_url)
            .env("CREDENTIAL_KEYS", TEST_CREDENTIAL_KEYS)
            .env("STATIC_DIR", "/nonexistent-static-dir")
            .env("METRC_URL_TEMPLATE", &self.metrc_url)
            .env("METRC_VENDOR_KEY", metrc_sim::demo::VENDOR_KEY)
            .envs(extra.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let base = format!("http://127.0.0.1:{port}");
        let probe = Self::new_client();
        for _ in 0..200 {
            if probe.get(format!("{base}/api/me")).send().await.is_ok() {
                return (child, base);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server process does not answer at {base}");
    }

    /// A separate browser: its own cookies.
    pub fn new_client() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The server keys the tests' servers seal METRC keys with.
    pub fn keys(&self) -> server::crypto::CredentialKeys {
        server::crypto::CredentialKeys::parse(TEST_CREDENTIAL_KEYS).expect("test keys")
    }

    /// Adds an active user with [`PASSWORD`] to the test organization and returns their id.
    pub async fn add_user(&self, email: &str, name: &str, role: Role) -> i64 {
        self.add_user_in(self.organization_id, email, name, role)
            .await
    }

    /// Adds an active user with [`PASSWORD`] to an organization and returns their id.
    pub async fn add_user_in(
        &self,
        organization_id: i64,
        email: &str,
        name: &str,
        role: Role,
    ) -> i64 {
        let hash = server::passwords::hash(PASSWORD.to_owned())
            .await
            .expect("hash");
        let email = Email::parse(email).expect("valid email");
        let mut conn = self.db.pool.acquire().await.expect("connection");
        accounts::create_user(
            &mut conn,
            NewUser {
                organization_id,
                email: &email,
                display_name: name,
                role,
                password_hash: Some(&hash),
            },
        )
        .await
        .expect("user")
    }

    pub async fn sign_in_with(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        client
            .post(self.url("/api/session"))
            .json(&serde_json::json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("request")
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.sign_in_with(&self.client, email, password).await
    }

    pub async fn me(&self) -> reqwest::Response {
        self.client
            .get(self.url("/api/me"))
            .send()
            .await
            .expect("request")
    }

    /// Runs one SQL statement with integer parameters (to age sessions, deactivate users …).
    pub async fn execute(&self, sql: &str, params: &[i64]) -> u64 {
        let mut query = sqlx::query(sql);
        for p in params {
            query = query.bind(*p);
        }
        query
            .execute(&self.db.pool)
            .await
            .expect("statement")
            .rows_affected()
    }

    /// Adds an active, tracked METRC license to the test organization and returns its id.
    pub async fn add_license(&self, number: &str, state: &str, name: &str) -> i64 {
        self.add_license_in(self.organization_id, number, state, name)
            .await
    }

    /// Adds an active, tracked METRC license to an organization and returns its id.
    pub async fn add_license_in(
        &self,
        organization_id: i64,
        number: &str,
        state: &str,
        name: &str,
    ) -> i64 {
        let number = shared::LicenseNumber::parse(number).expect("valid number");
        let mut conn = self.db.pool.acquire().await.expect("connection");
        server::licenses::create(
            &mut conn,
            server::licenses::NewLicense {
                organization_id,
                number: &number,
                state: shared::StateCode::parse(state).expect("served"),
                display_name: name,
                license_type: "Retail Marijuana Store",
                provider: shared::Provider::Metrc,
                time_zone: None,
            },
        )
        .await
        .expect("license")
    }

    /// The demo world's licenses (402R-00101 and 402R-00102 in CO, MR281001 in MA), as in the simulator.
    pub async fn add_demo_licenses(&self) -> DemoLicenses {
        DemoLicenses {
            colfax: self
                .add_license("402R-00101", "CO", "Denver – Colfax Ave")
                .await,
            pearl: self
                .add_license("402R-00102", "CO", "Boulder – Pearl St")
                .await,
            newbury: self
                .add_license("MR281001", "MA", "Boston – Newbury St")
                .await,
        }
    }

    /// A user signed in on a client of their own.
    pub async fn signed_in_user(&self, email: &str) -> (i64, reqwest::Client) {
        self.signed_in_as(email, "Casey Clerk", Role::Staff).await
    }

    /// A user of the test organization with this role, signed in on a client of their own.
    pub async fn signed_in_as(
        &self,
        email: &str,
        name: &str,
        role: Role,
    ) -> (i64, reqwest::Client) {
        let id = self.add_user(email, name, role).await;
        let client = Self::new_client();
        let response = self.sign_in_with(&client, email, PASSWORD).await;
        assert_eq!(response.status(), 200, "sign-in");
        (id, client)
    }

    pub async fn count(&self, sql: &str, params: &[i64]) -> i64 {
        let mut query = sqlx::query_scalar::<_, i64>(sql);
        for p in params {
            query = query.bind(*p);
        }
        query.fetch_one(&self.db.pool).await.expect("count")
    }
}

/// The ids of the demo licenses in the test organization.
#[derive(Debug, Clone, Copy)]
pub struct DemoLicenses {
    pub colfax: i64,
    pub pearl: i64,
    pub newbury: i64,
}

/// Every log line the servers of this test binary wrote, at `debug` and above, for the tests that prove a
/// secret never reaches a log.
static LOGS: std::sync::OnceLock<std::sync::Arc<std::sync::Mutex<Vec<u8>>>> =
    std::sync::OnceLock::new();

#[derive(Clone)]
struct LogWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let writer = LogWriter(buffer.clone());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init();
        buffer
    });
}

/// Everything logged so far by any test's server.
pub fn logs() -> String {
    LOGS.get()
        .map(|b| {
            String::from_utf8_lossy(&b.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
                .into_owned()
        })
        .unwrap_or_default()
}

/// `GET path` on a client, read as JSON.
pub async fn get_json<T: serde::de::DeserializeOwned>(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
) -> T {
    client
        .get(app.url(path))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON of the expected shape")
}

/// The error envelope of a response, checking that it is one.
/// Sends a request with an optional JSON body on a client (its session).
pub async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> reqwest::Response {
    let mut request = client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

pub async fn envelope(response: reqwest::Response) -> shared::api::ApiError {
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "an error must be JSON, got {content_type:?}"
    );
    response.json().await.expect("an ApiError envelope")
}

// Reporting: what the tests of the outbox and of key custody share.

/// A sale of 1.5 g of the license's first demo package.
pub fn sale(license_id: i64, license_number: &str) -> serde_json::Value {
    serde_json::json!({ "license_id": license_id, "customer_type": "Consumer", "transactions": [
        { "package_label": metrc_sim::demo::package_label(license_number, "0001"), "quantity": "1.5", "unit": "Grams", "total_amount": "20" }
    ]})
}

/// Records a sale or an adjustment (`path`), expecting 201.
pub async fn record(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    body: &serde_json::Value,
) -> shared::report::ReportView {
    let response = client
        .post(app.url(path))
        .json(body)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 201, "{path}");
    response.json().await.expect("report")
}

/// The report once the outbox is done with it (no longer pending), or after 15 s whatever it is.
pub async fn settled(
    app: &TestApp,
    client: &reqwest::Client,
    id: i64,
) -> shared::report::ReportView {
    let started = std::time::Instant::now();
    loop {
        let reports: Vec<shared::report::ReportView> = client
            .get(app.url("/api/reports"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("reports");
        let report = reports
            .into_iter()
            .find(|r| r.id == id)
            .expect("the report is listed");
        if report.status != shared::report::ReportStatus::Pending
            || started.elapsed() > std::time::Duration::from_secs(15)
        {
            return report;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The user keys the simulator recorded receipts under, for one external receipt number.
pub fn receipts_with(app: &TestApp, state: &str, external: &str) -> Vec<String> {
    app.sim
        .receipts(state)
        .into_iter()
        .filter(|r| r.body["ExternalReceiptNumber"] == external)
        .map(|r| r.user_key)
        .collect()
}

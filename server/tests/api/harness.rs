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
const TEST_CREDENTIAL_KEYS: &str = "test1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Runs each test body once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_databases {
    ($(
        $(#[doc = $doc:literal])*
        async fn $name:ident($app:ident: TestApp) $body:block
    )*) => {
        $(
            $(#[doc = $doc])*
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::harness::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::harness::TestApp::spawn(server::db::Backend::Sqlite).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::harness::TestApp::spawn(server::db::Backend::Postgres).await).await
                }
            }
        )*
    };
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub db: Db,
    pub database_url: String,
    pub organization_id: i64,
    /// A client that keeps cookies, like a browser tab.
    pub client: reqwest::Client,
    _shutdown: tokio::sync::oneshot::Sender<()>,
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
        let database_url = fresh_database(backend, &data_dir.0).await;
        let mut vars: HashMap<String, String> = [
            ("BIND_ADDR", "127.0.0.1:0"),
            ("DATABASE_URL", database_url.as_str()),
            ("CREDENTIAL_KEYS", TEST_CREDENTIAL_KEYS),
            ("STATIC_DIR", "/nonexistent-static-dir"),
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
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));

        let mut conn = db.pool.acquire().await.expect("connection");
        let organization_id = accounts::create_organization(&mut conn, "Test Dispensary Inc.")
            .await
            .expect("organization");
        drop(conn);

        TestApp {
            addr,
            db,
            database_url,
            organization_id,
            client: Self::new_client(),
            _shutdown: tx,
            _data_dir: data_dir,
        }
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

    /// Adds an active user with [`PASSWORD`] and returns their id.
    pub async fn add_user(&self, email: &str, name: &str, role: Role) -> i64 {
        let hash = server::passwords::hash(PASSWORD.to_owned())
            .await
            .expect("hash");
        let email = Email::parse(email).expect("valid email");
        let mut conn = self.db.pool.acquire().await.expect("connection");
        accounts::create_user(
            &mut conn,
            NewUser {
                organization_id: self.organization_id,
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

    pub async fn count(&self, sql: &str, params: &[i64]) -> i64 {
        let mut query = sqlx::query_scalar::<_, i64>(sql);
        for p in params {
            query = query.bind(*p);
        }
        query.fetch_one(&self.db.pool).await.expect("count")
    }
}

/// The error envelope of a response, checking that it is one.
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

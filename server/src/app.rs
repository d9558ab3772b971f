//! Builds the application: the API router, the static client, and the layers around them.

use crate::config::Config;
use crate::db::Db;
use crate::error::{AppError, envelope, not_found, payload_too_large};
use crate::{AppState, auth, credentials};
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, post, put};
use shared::api::{ApiError, ErrorCode, paths};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// The largest API request body we read. Every form of the product fits in a fraction of it.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A server bound to its address, ready to run. Tests build it on port 0 and read the port back.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    /// `METRICS_ADDR`'s listener, when metrics are on.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    /// On SQLite, the lock that keeps a second server process off this database while this one runs.
    _sqlite_lock: Option<std::fs::File>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(
        "another server is already running on the SQLite database {0} (its lock file is held). With SQLite only one server process may serve a database; for several, use PostgreSQL."
    )]
    SqliteInUse(String),
    #[error("could not create the lock file {path}: {source}")]
    LockFile {
        path: String,
        source: std::io::Error,
    },
    #[error("could not seed the demo data: {0}")]
    Seed(#[from] crate::demo::SeedError),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("could not set up the METRC client: {0}")]
    Metrc(String),
    #[error("could not read the database at start: {0}")]
    Query(#[from] sqlx::Error),
    #[error("PUBLIC_URL cannot be used as the trusted origin: {0:?}")]
    Origin(tower_http::csrf::ConfigError),
}

impl Application {
    /// Connects to the database (applying migrations), seeds demo data in demo mode, and binds.
    pub async fn build(config: Config) -> Result<Application, StartError> {
        let sqlite_lock = sqlite_lock(&config.database_url)?;
        let db = Db::connect(&config.database_url).await?;
        if config.demo && crate::demo::seed(&db, &config.credential_keys).await? {
            tracing::info!("seeded the demo organization");
        }
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.bind_addr,
                source,
            })?;
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Bind { addr, source })?,
            ),
            None => None,
        };
        let metrc = metrc::HttpMetrc::new(config.metrc.clone())
            .map_err(|e| StartError::Metrc(e.to_string()))?;
        // Reports held because a stored key could not be read get another chance with this start's
        // `CREDENTIAL_KEYS`, which is how an operator fixes that.
        let released = crate::keys::release_unreadable(&mut *db.pool.acquire().await?).await?;
        if released > 0 {
            tracing::info!(
                released,
                "reports held for an unreadable key are tried again"
            );
        }
        let state = AppState {
            db,
            keys: Arc::new(crate::keys::Custody::new(config.credential_keys.clone())),
            heartbeats: Arc::default(),
            sign_in_checks: Arc::new(tokio::sync::Semaphore::new(1)),
            config: Arc::new(config),
            metrc,
            outbox: Arc::new(crate::reports::outbox::Outbox::default()),
            #[cfg(feature = "test-hooks")]
            hooks: Arc::default(),
        };
        Ok(Application {
            listener,
            metrics_listener,
            state,
            _sqlite_lock: sqlite_lock,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The database the application uses (tests read and change rows through it).
    pub fn db(&self) -> &Db {
        &self.state.db
    }

    /// What every handler reaches (tests look at it, and set the `test-hooks` pauses through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        // The outbox worker and the key re-check live as long as this call (their guards abort them when
        // it ends or is dropped); stopping one mid-send is like a crash, which the claims and the receipt
        // lookup make safe. Each runs under a supervisor: a panic or an early return is logged and the task
        // restarted.
        let _worker = {
            let state = self.state.clone();
            crate::supervise::spawn("outbox", move || {
                crate::reports::outbox::run(state.clone(), state.outbox.clone())
            })
        };
        let _health = {
            let state = self.state.clone();
            crate::supervise::spawn("key re-check", move || {
                crate::keys::health::run(state.clone())
            })
        };
        let _tally = {
            let state = self.state.clone();
            crate::supervise::spawn("accountability counts", move || {
                crate::tally::run(state.clone())
            })
        };
        let _metrics = self.metrics_listener.map(|listener| {
            let handle = crate::metrics::handle();
            let router = crate::metrics::router(self.state.clone());
            crate::supervise::AbortOnDrop::spawn(async move {
                // The recorder's histograms are drained on a clock, scraped or not.
                let upkeep = async move {
                    let mut every = tokio::time::interval(crate::metrics::UPKEEP_EVERY);
                    loop {
                        every.tick().await;
                        if let Some(handle) = &handle {
                            handle.run_upkeep();
                        }
                    }
                };
                let serve = async move {
                    if let Err(e) = axum::serve(listener, router).await {
                        tracing::error!(error = %e, "the metrics listener stopped");
                    }
                };
                tokio::select! { () = upkeep => {}, () = serve => {} }
            })
        });
        let router = router(self.state)?;
        let addr = self.listener.local_addr().ok();
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        served.map_err(|source| StartError::Bind {
            addr: addr.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
            source,
        })
    }
}

/// On SQLite, takes an exclusive lock on `{database}.server-lock` for as long as the server runs: the
/// outbox's claims and SQLite's locking assume one server process. A second one refuses to start, saying
/// so. (`sqlite::memory:` needs none.)
fn sqlite_lock(url: &str) -> Result<Option<std::fs::File>, StartError> {
    let Some(path) = crate::db::sqlite_path(url) else {
        return Ok(None);
    };
    let lock_path = format!("{path}.server-lock");
    if let Some(dir) = std::path::Path::new(&lock_path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|source| StartError::LockFile {
            path: lock_path.clone(),
            source,
        })?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|source| StartError::LockFile {
            path: lock_path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartError::SqliteInUse(path)),
        Err(std::fs::TryLockError::Error(source)) => Err(StartError::LockFile {
            path: lock_path,
            source,
        }),
    }
}

/// Every browser feature our pages could ask for, refused.
const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), \
     geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=(), \
     xr-spatial-tracking=()";

/// Once a browser has seen the site over https, only https for a year (and for its subdomains).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000; includeSubDomains";

fn router(state: AppState) -> Result<Router, StartError> {
    let config = state.config.clone();
    let api = Router::new()
        .route(
            paths::SESSION,
            post(auth::sign_in).delete(auth::sign_out),
        )
        .route(paths::ME, get(auth::me))
        .route(paths::MY_ALERTS, get(credentials::alerts))
        .route(paths::MY_PASSWORD, put(auth::change_password))
        .route(paths::MY_SESSIONS, delete(auth::sign_out_everywhere))
        .route("/healthz", get(crate::probes::healthz))
        .route("/readyz", get(crate::probes::readyz))
        .route(paths::SALES, post(crate::reports::record_sale))
        .route(paths::ADJUSTMENTS, post(crate::reports::record_adjustment))
        .route(paths::REPORTS, get(crate::reports::mine))
        .route(
            paths::CREDENTIALS,
            get(credentials::page).post(credentials::create),
        )
        .route(
            "/api/credentials/{id}",
            get(credentials::one)
                .put(credentials::update)
                .delete(credentials::delete),
        )
        .merge(crate::admin::routes())
        // Unknown API paths answer in the envelope instead of falling through to the client's index.html.
        .route("/api", any(api_not_found))
        .route("/api/", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            config.request_timeout,
        ))
        .layer(
            CsrfLayer::new()
                .add_trusted_origin(config.public_url.origin())
                .map_err(StartError::Origin)?
                .with_rejection_response(|_: ProtectionError| {
                    envelope(
                        StatusCode::FORBIDDEN,
                        &ApiError::new(
                            ErrorCode::CsrfRejected,
                            "This request came from another site and was refused. Reload the page and try again.",
                        ),
                    )
                }),
        )
        // A handler that panics answers the envelope's 500 (the cause in the log), and the server goes on.
        .layer(CatchPanicLayer::custom(|payload| {
            AppError::Internal(format!(
                "a handler panicked: {}",
                crate::supervise::panic_message(payload)
            ))
            .into_response()
        }))
        // Outermost, so that it also sees the bare answers of the layers above (a timeout, a 405).
        .layer(middleware::from_fn(envelope_for_bare_errors))
        .with_state(state);

    let index = config.static_dir.join("index.html");
    let client = ServeDir::new(&config.static_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(index));

    // The admin bundle (its own WebAssembly, so staff never download it): the admin pages under /admin/
    // the set-password page a new user's link opens, the Register page and Manage account > Password &
    // sessions.
    let admin_dir = config.static_dir.join("admin");
    let admin_index = admin_dir.join("index.html");
    let admin_client = ServeDir::new(&admin_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(&admin_index));

    let app = api
        .nest_service("/admin", admin_client)
        .route_service("/set-password", ServeFile::new(&admin_index))
        .route_service("/register", ServeFile::new(&admin_index))
        .route_service("/account/security", ServeFile::new(&admin_index))
        .fallback_service(client)
        .layer(
            ServiceBuilder::new()
                .layer(SetSensitiveHeadersLayer::new([
                    header::AUTHORIZATION,
                    header::COOKIE,
                    header::SET_COOKIE,
                ]))
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                .layer(
                    TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                        let id = request
                            .headers()
                            .get(REQUEST_ID)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        tracing::info_span!("request", id, method = %request.method(), path = %request.uri().path())
                    }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    HeaderName::from_static("x-frame-options"),
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CONTENT_SECURITY_POLICY,
                    crate::csp::header(&config.static_dir),
                ))
                // No page of ours uses a device or payment feature: none may, nor anything framed.
                .layer(SetResponseHeaderLayer::if_not_present(
                    HeaderName::from_static("permissions-policy"),
                    HeaderValue::from_static(PERMISSIONS_POLICY),
                ))
                // Behind https only (a plain-http demo must not be pinned to https for a year).
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::STRICT_TRANSPORT_SECURITY,
                    config
                        .public_url
                        .is_https()
                        .then(|| HeaderValue::from_static(STRICT_TRANSPORT_SECURITY)),
                )),
        );
    Ok(app)
}

async fn api_not_found() -> Response {
    envelope(StatusCode::NOT_FOUND, &not_found())
}

/// Gives every bodiless API error (a timeout, an unknown method, a rejected layer) the envelope, so the
/// client always decodes one shape.
async fn envelope_for_bare_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let body = match status {
        StatusCode::NOT_FOUND => not_found(),
        StatusCode::PAYLOAD_TOO_LARGE => payload_too_large(),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
            ErrorCode::MethodNotAllowed,
            "This address does not accept that kind of request.",
        ),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => ApiError::new(
            ErrorCode::Timeout,
            "The server took too long to answer. Nothing may have been saved; check and try again.",
        ),
        s if s.is_server_error() => {
            ApiError::new(ErrorCode::Internal, crate::error::INTERNAL_MESSAGE)
        }
        _ => ApiError::new(ErrorCode::BadRequest, "The request could not be handled."),
    };
    let mut replaced = envelope(status, &body);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().insert(name.clone(), value.clone());
        }
    }
    replaced.into_response()
}

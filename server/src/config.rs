//! Typed configuration, read once from the environment at start-up.
//!
//! Every variable is documented in `.env.example` at the repository root. Reading goes through a lookup
//! function rather than `std::env` directly, so tests can build a configuration without touching the
//! process environment.

use crate::crypto::{CredentialKeys, CredentialKeysError};
use shared::StateCode;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything the server needs to know about its surroundings. Its `Debug` shows the database's kind,
/// never its URL (which may hold a password); the METRC settings and the credential keys redact their
/// secrets themselves.
#[derive(Clone)]
pub struct Config {
    /// Where the server listens (`BIND_ADDR`).
    pub bind_addr: SocketAddr,
    /// The origin users reach, e.g. `https://pos.example.com` (`PUBLIC_URL`). It decides whether the
    /// session cookie is `Secure`, and is the trusted origin of the CSRF check.
    pub public_url: PublicUrl,
    /// The database (`DATABASE_URL`): a `sqlite:` or a `postgres://` URL.
    pub database_url: String,
    /// Local state: the default SQLite database and, in demo mode, the generated encryption key (`DATA_DIR`).
    pub data_dir: PathBuf,
    /// The built client (`STATIC_DIR`).
    pub static_dir: PathBuf,
    /// How to reach METRC in each state.
    pub metrc: metrc::Settings,
    /// The keys that encrypt stored METRC user keys (`CREDENTIAL_KEYS`).
    pub credential_keys: CredentialKeys,
    /// Seed the demo organization and users (`--demo`).
    pub demo: bool,
    pub sessions: SessionConfig,
    pub sign_in_limits: SignInLimits,
    /// Verify & Save attempts allowed per user per minute (`VERIFY_ATTEMPTS_PER_MINUTE`, default 10).
    pub verify_attempts_per_minute: u32,
    /// How long one API request may take before it is answered with a timeout (`REQUEST_TIMEOUT_SECS`).
    pub request_timeout: Duration,
    /// The header a reverse proxy puts the client's address in (`CLIENT_IP_HEADER`, e.g. `X-Real-IP`).
    /// Unset, the peer address counts; behind a proxy that would be the proxy's, and one address's
    /// sign-in limit would then lock out everyone.
    pub client_ip_header: Option<axum::http::HeaderName>,
    /// Log lines as JSON objects (`LOG_FORMAT=json`) or as readable text (the default).
    pub log_json: bool,
    /// How the outbox sends reports to METRC.
    pub outbox: OutboxConfig,
    /// The background re-check of stored keys.
    pub health: HealthConfig,
    /// How late a background worker's heartbeat may be before `/readyz` answers 503
    /// (`READY_HEARTBEAT_SLACK_SECS`, default 120): each worker says when it will beat next.
    pub heartbeat_slack: Duration,
    /// Where Prometheus scrapes `GET /metrics` (`METRICS_ADDR`, e.g. `127.0.0.1:9100`); no metrics
    /// listener when unset. A port of its own, so the metrics are never on the public one.
    pub metrics_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let database = self
            .database_url
            .split_once(':')
            .map_or("[redacted]", |(scheme, _)| scheme);
        f.debug_struct("Config")
            .field("bind_addr", &self.bind_addr)
            .field("public_url", &self.public_url)
            .field("database_url", &format_args!("{database}:[redacted]"))
            .field("data_dir", &self.data_dir)
            .field("static_dir", &self.static_dir)
            .field("metrc", &self.metrc)
            .field("credential_keys", &self.credential_keys)
            .field("demo", &self.demo)
            .field("sessions", &self.sessions)
            .field("sign_in_limits", &self.sign_in_limits)
            .field(
                "verify_attempts_per_minute",
                &self.verify_attempts_per_minute,
            )
            .field("request_timeout", &self.request_timeout)
            .field("client_ip_header", &self.client_ip_header)
            .field("log_json", &self.log_json)
            .field("outbox", &self.outbox)
            .field("health", &self.health)
            .field("heartbeat_slack", &self.heartbeat_slack)
            .field("metrics_addr", &self.metrics_addr)
            .finish()
    }
}

/// The longest timeout or deadline a `…_SECS` variable may set.
const MAX_WAIT_SECS: u64 = 86_400;
/// The longest period an `…_HOURS` variable may set.
const MAX_HOURS: u64 = 8_760;

/// The background re-check of stored METRC keys (`KEY_RECHECK_*`).
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// A stored key is checked again once its last check is this old (`KEY_RECHECK_HOURS`, default 6).
    pub interval: Duration,
    /// The pause between two checks, so that METRC sees a trickle, not a burst
    /// (`KEY_RECHECK_PACE_MS`, default 1000).
    pub pace: Duration,
    /// At sign-in, each of the user's credentials last checked longer ago than this is checked again
    /// in the background (`KEY_CHECK_AT_SIGN_IN_MINUTES`, default 60; 0: every one).
    pub at_sign_in: Duration,
}

/// The reporting outbox (`OUTBOX_*`).
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// How often the worker looks for reports due, besides being woken by each new one
    /// (`OUTBOX_POLL_MS`, default 1000).
    pub poll: Duration,
    /// How long a worker's claim on reports lasts; a crashed worker's reports are taken up after it
    /// (`OUTBOX_LEASE_SECS`, default 120).
    pub lease: Duration,
    /// The first pause before a report METRC could not take is sent again; it doubles, jittered, up to
    /// `retry_max` (`OUTBOX_RETRY_SECS`, default 5).
    pub retry: Duration,
    /// The longest pause between two attempts (`OUTBOX_RETRY_MAX_SECS`, default 600).
    pub retry_max: Duration,
    /// How long a receipt whose answer was lost is looked up again before it becomes "outcome unknown"
    /// (`OUTBOX_LOOKUP_GIVE_UP_HOURS`, default 24).
    pub lookup_give_up: Duration,
    /// How long after a POST a lookup that finds nothing is believed: METRC may still be applying a batch
    /// whose answer was lost (`OUTBOX_SETTLE_SECS`, default 60).
    pub settle: Duration,
    /// The most POSTs this process has in flight to METRC for one license (`OUTBOX_POSTS_PER_LICENSE`,
    /// default 2, at least 1). METRC publishes limits for GETs only; this keeps a backlog from hammering it.
    pub posts_per_license: usize,
}

/// The origin users reach the server at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
}

impl PublicUrl {
    fn parse(raw: &str) -> Result<Self, ConfigError> {
        let origin = raw.trim().trim_end_matches('/');
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains('/') => Ok(PublicUrl {
                origin: origin.to_owned(),
            }),
            _ => Err(ConfigError::Invalid {
                name: "PUBLIC_URL",
                reason:
                    "must be an origin such as https://pos.example.com (scheme and host, no path)"
                        .into(),
            }),
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Cookies are `Secure` when users reach us over https.
    pub fn is_https(&self) -> bool {
        self.origin.starts_with("https://")
    }
}

#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// A session ends after this long without a request (`SESSION_IDLE_MINUTES`, default 30).
    pub idle: Duration,
    /// A session ends this long after sign-in, however active (`SESSION_ABSOLUTE_HOURS`, default 12).
    pub absolute: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct SignInLimits {
    /// Failed sign-ins allowed per account within the window (`SIGN_IN_FAILURES_PER_ACCOUNT`, default 5).
    pub per_account: u32,
    /// Failed sign-ins allowed per client address within the window (`SIGN_IN_FAILURES_PER_ADDRESS`, default 20).
    pub per_address: u32,
    /// The window (`SIGN_IN_WINDOW_MINUTES`, default 15).
    pub window: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(
        "CREDENTIAL_KEYS is not set. It holds the keys that encrypt stored METRC keys, as \
         `id:base64-of-32-bytes` (generate one with `openssl rand -base64 32`). Only --demo makes one up."
    )]
    MissingCredentialKeys,
    #[error("CREDENTIAL_KEYS is not valid: {0}")]
    CredentialKeys(#[from] CredentialKeysError),
    #[error("could not read or write the demo encryption key at {path}: {source}")]
    DemoKeyFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Where demo mode finds METRC: the simulator (`metrc-sim --seed demo`) on its default address.
pub const DEMO_METRC_URL_TEMPLATE: &str = "http://127.0.0.1:3001/{state}";
/// The vendor key of the simulator's demo world.
pub const DEMO_METRC_VENDOR_KEY: &str = "demo-vendor-key";

/// The file, inside the data folder, where demo mode keeps the encryption key it generated.
const DEMO_KEY_FILE: &str = "demo-credential-keys";

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env(demo: bool) -> Result<Config, ConfigError> {
        Config::from_lookup(demo, |name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which returns a variable's value if it is set.
    pub fn from_lookup(
        demo: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let bind_addr: SocketAddr = parse_or(&get, "BIND_ADDR", "127.0.0.1:3000".parse().ok())?;
        let public_url = match get("PUBLIC_URL") {
            Some(raw) => PublicUrl::parse(&raw)?,
            None => PublicUrl::parse(&format!("http://{bind_addr}"))?,
        };
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = get("DATABASE_URL").unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("traceability.db").display()
            )
        });
        let static_dir = PathBuf::from(get("STATIC_DIR").unwrap_or_else(|| "dist".into()));

        let per_state = |prefix: &str| -> BTreeMap<StateCode, String> {
            StateCode::all()
                .filter_map(|st| get(&format!("{prefix}_{}", st.code())).map(|v| (st, v)))
                .collect()
        };
        // A wait longer than a day is a typo; bounded, no deadline computed from it can overflow the clock.
        let seconds = |name: &'static str, default| -> Result<Duration, ConfigError> {
            let secs: u64 = parse_or(&get, name, Some(default))?;
            if secs > MAX_WAIT_SECS {
                return Err(ConfigError::Invalid {
                    name,
                    reason: format!("at most {MAX_WAIT_SECS} seconds (a day)"),
                });
            }
            Ok(Duration::from_secs(secs))
        };
        // Hours, at most a year.
        let hours = |name: &'static str, default| -> Result<Duration, ConfigError> {
            let hours: u64 = parse_or(&get, name, Some(default))?;
            if hours > MAX_HOURS {
                return Err(ConfigError::Invalid {
                    name,
                    reason: format!("at most {MAX_HOURS} hours (a year)"),
                });
            }
            Ok(Duration::from_secs(hours * 3600))
        };
        // Demo mode talks to the simulator unless told otherwise: it never reaches the real METRC by
        // default, and the simulator's demo world knows the demo vendor key.
        let (default_metrc_url, default_vendor_key) = if demo {
            (
                DEMO_METRC_URL_TEMPLATE,
                Some(DEMO_METRC_VENDOR_KEY.to_owned()),
            )
        } else {
            ("https://api-{state}.metrc.com", None)
        };
        let metrc = metrc::Settings {
            url_template: get("METRC_URL_TEMPLATE").unwrap_or_else(|| default_metrc_url.into()),
            url_overrides: per_state("METRC_URL"),
            vendor_key: get("METRC_VENDOR_KEY").or(default_vendor_key),
            vendor_key_overrides: per_state("METRC_VENDOR_KEY"),
            connect_timeout: seconds("METRC_CONNECT_TIMEOUT_SECS", 5)?,
            request_timeout: seconds("METRC_REQUEST_TIMEOUT_SECS", 15)?,
            deadline: seconds("METRC_DEADLINE_SECS", 20)?,
            get_limits: metrc::pacing::GetLimits::default(),
        };
        if !metrc.url_template.contains("{state}") {
            return Err(ConfigError::Invalid {
                name: "METRC_URL_TEMPLATE",
                reason: "must contain {state}, e.g. https://api-{state}.metrc.com".into(),
            });
        }

        let credential_keys = match get("CREDENTIAL_KEYS") {
            Some(raw) => CredentialKeys::parse(&raw)?,
            None if demo => demo_credential_keys(&data_dir)?,
            None => return Err(ConfigError::MissingCredentialKeys),
        };

        let minutes = |name: &'static str, default| -> Result<Duration, ConfigError> {
            let n: u64 = parse_or(&get, name, Some(default))?;
            n.checked_mul(60)
                .map(Duration::from_secs)
                .ok_or_else(|| ConfigError::Invalid {
                    name,
                    reason: "is too large".into(),
                })
        };
        let sessions = SessionConfig {
            idle: minutes("SESSION_IDLE_MINUTES", 30)?,
            absolute: minutes("SESSION_ABSOLUTE_HOURS", 12)? * 60,
        };
        let sign_in_limits = SignInLimits {
            per_account: parse_or(&get, "SIGN_IN_FAILURES_PER_ACCOUNT", Some(5))?,
            per_address: parse_or(&get, "SIGN_IN_FAILURES_PER_ADDRESS", Some(20))?,
            window: minutes("SIGN_IN_WINDOW_MINUTES", 15)?,
        };
        let verify_attempts_per_minute = parse_or(&get, "VERIFY_ATTEMPTS_PER_MINUTE", Some(10))?;
        let request_timeout = seconds("REQUEST_TIMEOUT_SECS", 30)?;
        let client_ip_header = get("CLIENT_IP_HEADER")
            .map(|name| {
                axum::http::HeaderName::try_from(name.trim()).map_err(|_| ConfigError::Invalid {
                    name: "CLIENT_IP_HEADER",
                    reason: "must be a header name, e.g. X-Real-IP".into(),
                })
            })
            .transpose()?;
        let log_json = match get("LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "LOG_FORMAT",
                    reason: "must be `text` or `json`".into(),
                });
            }
        };

        let outbox = OutboxConfig {
            poll: Duration::from_millis(parse_or(&get, "OUTBOX_POLL_MS", Some(1000))?),
            lease: seconds("OUTBOX_LEASE_SECS", 120)?,
            retry: seconds("OUTBOX_RETRY_SECS", 5)?,
            retry_max: seconds("OUTBOX_RETRY_MAX_SECS", 600)?,
            lookup_give_up: hours("OUTBOX_LOOKUP_GIVE_UP_HOURS", 24)?,
            settle: seconds("OUTBOX_SETTLE_SECS", 60)?,
            posts_per_license: parse_or::<usize>(&get, "OUTBOX_POSTS_PER_LICENSE", Some(2))?.max(1),
        };

        let health = HealthConfig {
            interval: hours("KEY_RECHECK_HOURS", 6)?,
            pace: Duration::from_millis(parse_or(&get, "KEY_RECHECK_PACE_MS", Some(1000))?),
            at_sign_in: minutes("KEY_CHECK_AT_SIGN_IN_MINUTES", 60)?,
        };

        let heartbeat_slack = seconds("READY_HEARTBEAT_SLACK_SECS", 120)?;
        let metrics_addr = match get("METRICS_ADDR") {
            Some(_) => Some(parse_or::<SocketAddr>(&get, "METRICS_ADDR", None)?),
            None => None,
        };

        Ok(Config {
            bind_addr,
            public_url,
            database_url,
            data_dir,
            static_dir,
            metrc,
            credential_keys,
            demo,
            sessions,
            sign_in_limits,
            verify_attempts_per_minute,
            request_timeout,
            client_ip_header,
            log_json,
            outbox,
            health,
            heartbeat_slack,
            metrics_addr,
        })
    }
}

/// Parses a variable with `FromStr`, or takes the default when it is unset.
fn parse_or<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Option<T>,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid {
                name,
                reason: e.to_string(),
            }),
        None => default.ok_or(ConfigError::Invalid {
            name,
            reason: "is required".into(),
        }),
    }
}

/// Demo mode keeps one generated key in the data folder, so demo data stays readable across restarts.
fn demo_credential_keys(data_dir: &std::path::Path) -> Result<CredentialKeys, ConfigError> {
    let path = data_dir.join(DEMO_KEY_FILE);
    let io_error = |source| ConfigError::DemoKeyFile {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(raw) => Ok(CredentialKeys::parse(&raw)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir).map_err(io_error)?;
            let generated = CredentialKeys::generate("demo1");
            write_private(&path, &generated.to_config_string()).map_err(io_error)?;
            Ok(generated)
        }
        Err(e) => Err(io_error(e)),
    }
}

/// Writes a file only its owner can read.
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const KEY: &str = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(false, |name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_serve_locally_on_sqlite_under_data() {
        let c = config(&[("CREDENTIAL_KEYS", KEY)]).expect("valid");
        assert_eq!(c.bind_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url.origin(), "http://127.0.0.1:3000");
        assert!(!c.public_url.is_https());
        assert_eq!(c.database_url, "sqlite://data/traceability.db?mode=rwc");
        assert_eq!(c.sessions.idle, Duration::from_secs(30 * 60));
        assert_eq!(c.sessions.absolute, Duration::from_secs(12 * 3600));
        assert_eq!(c.sign_in_limits.per_account, 5);
        assert_eq!(c.sign_in_limits.per_address, 20);
    }

    #[test]
    fn a_start_without_encryption_keys_is_refused_outside_demo_mode() {
        let err = config(&[]).expect_err("refused");
        assert!(matches!(err, ConfigError::MissingCredentialKeys));
        assert!(err.to_string().contains("CREDENTIAL_KEYS is not set"));
    }

    #[test]
    fn metrc_urls_follow_the_template_with_per_state_overrides() {
        let c = config(&[
            ("CREDENTIAL_KEYS", KEY),
            ("METRC_URL_TEMPLATE", "http://127.0.0.1:3001/{state}/"),
            ("METRC_URL_MA", "https://sandbox-api-ma.metrc.com"),
            ("METRC_VENDOR_KEY_MA", "vendor-ma"),
        ])
        .expect("valid");
        let co = StateCode::parse("CO").expect("served");
        let ma = StateCode::parse("MA").expect("served");
        assert_eq!(c.metrc.base_url(co), "http://127.0.0.1:3001/co");
        assert_eq!(c.metrc.base_url(ma), "https://sandbox-api-ma.metrc.com");
        assert_eq!(c.metrc.vendor_key(ma), Some("vendor-ma"));
        assert_eq!(c.metrc.vendor_key(co), None);
        assert_eq!(c.metrc.deadline, Duration::from_secs(20));
        assert!(!format!("{:?}", c.metrc).contains("vendor-ma"));
    }

    #[test]
    fn demo_mode_points_at_the_simulator_unless_told_otherwise() {
        let dir = std::env::temp_dir().join(format!("tc-config-{}", uuid::Uuid::new_v4()));
        let dir_str = dir.display().to_string();
        let demo = Config::from_lookup(true, |name| (name == "DATA_DIR").then(|| dir_str.clone()))
            .expect("demo config");
        let co = StateCode::parse("CO").expect("served");
        assert_eq!(demo.metrc.base_url(co), "http://127.0.0.1:3001/co");
        assert_eq!(demo.metrc.vendor_key(co), Some(DEMO_METRC_VENDOR_KEY));
        let explicit = Config::from_lookup(true, |name| match name {
            "DATA_DIR" => Some(dir_str.clone()),
            "METRC_URL_TEMPLATE" => Some("https://sandbox-api-{state}.metrc.com".into()),
            _ => None,
        })
        .expect("demo config");
        assert_eq!(
            explicit.metrc.base_url(co),
            "https://sandbox-api-co.metrc.com"
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
        // Outside demo mode there is no default vendor key, and the real METRC is the default.
        let real = config(&[("CREDENTIAL_KEYS", KEY)]).expect("valid");
        assert_eq!(real.metrc.base_url(co), "https://api-co.metrc.com");
        assert_eq!(real.metrc.vendor_key(co), None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("CREDENTIAL_KEYS", KEY), ("BIND_ADDR", "nowhere")]).expect_err("bad");
        assert!(err.to_string().starts_with("BIND_ADDR is not valid"));
        let err = config(&[("CREDENTIAL_KEYS", KEY), ("PUBLIC_URL", "pos.example.com")])
            .expect_err("bad");
        assert!(err.to_string().starts_with("PUBLIC_URL is not valid"));
        let err = config(&[
            ("CREDENTIAL_KEYS", KEY),
            ("METRC_URL_TEMPLATE", "https://x"),
        ])
        .expect_err("bad");
        assert!(
            err.to_string()
                .starts_with("METRC_URL_TEMPLATE is not valid")
        );
    }

    #[test]
    fn an_https_public_url_makes_cookies_secure() {
        let c = config(&[
            ("CREDENTIAL_KEYS", KEY),
            ("PUBLIC_URL", "https://pos.example.com/"),
        ])
        .expect("valid");
        assert_eq!(c.public_url.origin(), "https://pos.example.com");
        assert!(c.public_url.is_https());
    }

    #[test]
    fn demo_mode_generates_one_key_and_reuses_it() {
        let dir = std::env::temp_dir().join(format!("tc-config-{}", uuid::Uuid::new_v4()));
        let dir_str = dir.display().to_string();
        let vars = |_: &str| None::<String>;
        let lookup = |name: &str| {
            (name == "DATA_DIR")
                .then(|| dir_str.clone())
                .or_else(|| vars(name))
        };
        let first = Config::from_lookup(true, lookup).expect("demo config");
        let second = Config::from_lookup(true, lookup).expect("demo config again");
        assert_eq!(
            first.credential_keys.to_config_string(),
            second.credential_keys.to_config_string()
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}

//! The organization a campaign runs: its licenses, its people and their METRC keys, the default key, and
//! the log of every key change the harness makes (what the checks hold the product's choices against).

use crate::cluster::Live;
use metrc_sim::Simulator;
use metrc_sim::demo::{CO_MANAGER, COLFAX, NEWBURY, PEARL};
use reqwest::{Client, StatusCode};
use serde_json::json;
use shared::admin::IntegrationPage;
use shared::credential::{CredentialStatus, CredentialsPage};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The password of every person of a campaign.
const PASSWORD: &str = "chaos campaign password";
/// The package every report of a campaign is about: plenty of stock, so METRC refuses none for want of it.
pub const PACKAGE: &str = "0009";

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct License {
    pub id: i64,
    pub number: &'static str,
    /// Lower-case, as the simulator names states.
    pub state: &'static str,
}

/// Someone at a register: records sales and adjustments under their own name.
#[derive(Debug)]
pub struct Person {
    pub index: usize,
    pub id: i64,
    /// Signed in (the session is in the database, so any server takes it).
    pub client: Client,
    pub state: &'static str,
    pub licenses: Vec<License>,
    /// Whether they keep a credential of their own (the others always report under the default key).
    pub keeps_credential: bool,
}

/// The last four characters of a key: all a campaign ever prints of one.
pub fn last_four(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("••••{tail}")
}

/// A key change the harness made, between two instants (unix ms): when it asked and when it knew.
#[derive(Debug, Clone)]
pub struct KeyChange {
    pub from_ms: i64,
    pub to_ms: i64,
    pub person: Option<usize>,
    pub what: Change,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Change {
    /// A credential with this key was stored (added or edited).
    Saved(String),
    /// METRC revoked the person's key (the product still stores it).
    Revoked(String),
    /// The person's credential was deleted.
    Deleted,
    /// The state's default key was removed / set.
    DefaultRemoved(&'static str),
    DefaultSet(&'static str),
}

impl std::fmt::Debug for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Saved(key) => write!(f, "Saved({})", last_four(key)),
            Change::Revoked(key) => write!(f, "Revoked({})", last_four(key)),
            Change::Deleted => write!(f, "Deleted"),
            Change::DefaultRemoved(state) => write!(f, "DefaultRemoved({state})"),
            Change::DefaultSet(state) => write!(f, "DefaultSet({state})"),
        }
    }
}

/// The organization of a campaign. (Its `Debug` leaves out the people's keys.)
pub struct World {
    pub admin: Client,
    pub people: Vec<Person>,
    pub licenses: Vec<License>,
    log: Mutex<Vec<KeyChange>>,
    /// Each person's current METRC key, if they have a credential.
    current: Mutex<HashMap<usize, String>>,
    fresh: AtomicU64,
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("people", &self.people)
            .field("licenses", &self.licenses)
            .finish_non_exhaustive()
    }
}

impl World {
    /// Creates the organization (with the demo licenses), an admin, `co_people` people in Colorado and one in
    /// Massachusetts who keep credentials, and `default_only` Colorado people who never have one; saves
    /// everyone's credential and the Colorado default key through the API. Adds the campaign's package to
    /// the simulator.
    pub async fn set_up(
        db: &server::db::Db,
        sim: &Simulator,
        live: &Live,
        co_people: usize,
        default_only: usize,
    ) -> Result<World, String> {
        let failed = |what: &str| {
            let what = what.to_owned();
            move |e: sqlx::Error| format!("{what}: {e}")
        };
        let unlicensed = |e: server::licenses::LicenseError| format!("a license: {e}");
        let mut conn = db.pool.acquire().await.map_err(failed("a connection"))?;
        let organization_id =
            server::accounts::create_organization(&mut conn, "Chaos Dispensary Inc.")
                .await
                .map_err(failed("the organization"))?;
        let mut licenses = Vec::new();
        for (number, state, name) in [
            (COLFAX, "co", "Denver – Colfax Ave"),
            (PEARL, "co", "Boulder – Pearl St"),
            (NEWBURY, "ma", "Boston – Newbury St"),
        ] {
            let id = server::licenses::create(
                &mut conn,
                server::licenses::NewLicense {
                    organization_id,
                    number: &shared::LicenseNumber::parse(number).map_err(|e| e.to_string())?,
                    state: shared::StateCode::parse(state).map_err(|e| e.to_string())?,
                    display_name: name,
                    license_type: "Retail Marijuana Store",
                    provider: shared::Provider::Metrc,
                    time_zone: None,
                },
            )
            .await
            .map_err(unlicensed)?;
            licenses.push(License { id, number, state });
            sim.add_package(
                state,
                metrc_sim::reports::Package {
                    license_number: number.into(),
                    label: metrc_sim::demo::package_label(number, PACKAGE),
                    unit: "Grams".into(),
                    quantity: 1e12,
                    active: true,
                },
            );
        }
        let hash = server::passwords::hash(PASSWORD.to_owned())
            .await
            .map_err(|e| format!("hashing: {e}"))?;
        let mut add_user = async |email: String, role: shared::Role| {
            let email = shared::Email::parse(&email).map_err(|e| e.to_string())?;
            server::accounts::create_user(
                &mut conn,
                server::accounts::NewUser {
                    organization_id,
                    email: &email,
                    display_name: "Chaos Person",
                    role,
                    password_hash: Some(&hash),
                },
            )
            .await
            .map_err(failed("a user"))
            .map(|id| (id, email))
        };
        let (_, admin_email) = add_user("admin@chaos.test".into(), shared::Role::Admin).await?;
        let mut people = Vec::new();
        let co: Vec<License> = licenses
            .iter()
            .copied()
            .filter(|l| l.state == "co")
            .collect();
        let ma: Vec<License> = licenses
            .iter()
            .copied()
            .filter(|l| l.state == "ma")
            .collect();
        let plan = (0..co_people)
            .map(|_| ("co", co.clone(), true))
            .chain([("ma", ma.clone(), true)])
            .chain((0..default_only).map(|_| ("co", co.clone(), false)));
        let mut emails = Vec::new();
        for (index, (state, licenses, keeps_credential)) in plan.enumerate() {
            let (id, email) =
                add_user(format!("person{index}@chaos.test"), shared::Role::Staff).await?;
            emails.push(email);
            people.push(Person {
                index,
                id,
                client: new_client(),
                state,
                licenses,
                keeps_credential,
            });
        }
        drop(conn);
        let admin = new_client();
        sign_in(live, &admin, admin_email.as_str()).await?;
        for (person, email) in people.iter().zip(&emails) {
            sign_in(live, &person.client, email.as_str()).await?;
        }
        let world = World {
            admin,
            people,
            licenses,
            log: Mutex::new(Vec::new()),
            current: Mutex::new(HashMap::new()),
            fresh: AtomicU64::new(0),
        };
        for person in world.people.iter().filter(|p| p.keeps_credential) {
            world.save_new_key(sim, live, person.index).await?;
        }
        world.set_default(live, "co").await?;
        Ok(world)
    }

    /// Every key change so far.
    pub fn log(&self) -> Vec<KeyChange> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn note(&self, from_ms: i64, person: Option<usize>, what: Change) {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(KeyChange {
                from_ms,
                to_ms: now_ms(),
                person,
                what,
            });
    }

    /// The person's current key, if they have a credential.
    pub fn current_key(&self, person: usize) -> Option<String> {
        self.current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&person)
            .cloned()
    }

    fn set_current(&self, person: usize, key: Option<String>) {
        let mut current = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match key {
            Some(key) => current.insert(person, key),
            None => current.remove(&person),
        };
    }

    /// Gives the person a new METRC key and stores it as their credential (editing the one they have, or
    /// adding one), through whichever server is up, until the product has it verified.
    pub async fn save_new_key(
        &self,
        sim: &Simulator,
        live: &Live,
        person: usize,
    ) -> Result<(), String> {
        let who = &self.people[person];
        let n = self.fresh.fetch_add(1, Ordering::Relaxed);
        let key = format!("chaos-{}-person{person}-key{n:0>6}", who.state);
        let numbers: Vec<&str> = who.licenses.iter().map(|l| l.number).collect();
        sim.add_user_key(who.state, &key, &numbers);
        let license_ids: Vec<i64> = who.licenses.iter().map(|l| l.id).collect();
        let last_four: String = key[key.len() - 4..].to_owned();
        let started = now_ms();
        let (key, license_ids, last_four) = (&key, &license_ids, &last_four);
        self.until_done("saving a credential", live, |base| async move {
            let page: CredentialsPage = read(&who.client, &format!("{base}/api/credentials")).await?;
            let mine = page
                .credentials
                .iter()
                .find(|c| c.state.code().eq_ignore_ascii_case(who.state));
            let body = |version: Option<i64>| {
                json!({ "provider": "metrc", "state": who.state.to_uppercase(), "license_ids": license_ids,
                        "key": key, "version": version })
            };
            let response = match mine {
                Some(c) if &c.key_last_four == last_four && c.status == CredentialStatus::Verified => {
                    return Ok(true);
                }
                Some(c) => who
                    .client
                    .put(format!("{base}/api/credentials/{}", c.id))
                    .json(&body(Some(c.version))),
                None => who
                    .client
                    .post(format!("{base}/api/credentials"))
                    .json(&body(None)),
            }
            .send()
            .await
            .map_err(|e| e.to_string())?;
            Ok(response.status().is_success())
        })
        .await?;
        self.set_current(person, Some(key.clone()));
        self.note(started, Some(person), Change::Saved(key.clone()));
        Ok(())
    }

    /// METRC revokes the person's current key (the product keeps it until it finds out).
    pub fn revoke(&self, sim: &Simulator, person: usize) {
        let state = self.people[person].state;
        if let Some(key) = self.current_key(person) {
            let started = now_ms();
            sim.revoke_user_key(state, &key);
            self.note(started, Some(person), Change::Revoked(key));
        }
    }

    /// Deletes the person's credential through the API.
    pub async fn delete_credential(&self, live: &Live, person: usize) -> Result<(), String> {
        let who = &self.people[person];
        let started = now_ms();
        self.until_done("deleting a credential", live, |base| async move {
            let page: CredentialsPage =
                read(&who.client, &format!("{base}/api/credentials")).await?;
            let Some(mine) = page.credentials.first() else {
                return Ok(true);
            };
            let response = who
                .client
                .delete(format!("{base}/api/credentials/{}", mine.id))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok(response.status().is_success())
        })
        .await?;
        self.set_current(person, None);
        self.note(started, Some(person), Change::Deleted);
        Ok(())
    }

    /// Removes a state's default key through the admin API.
    pub async fn remove_default(&self, live: &Live, state: &'static str) -> Result<(), String> {
        let started = now_ms();
        self.until_done("removing the default key", live, |base| async move {
            let response = self
                .admin
                .delete(format!(
                    "{base}/api/admin/integration/{}/default-key",
                    state.to_uppercase()
                ))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok(response.status().is_success() || response.status() == StatusCode::NOT_FOUND)
        })
        .await?;
        self.note(started, None, Change::DefaultRemoved(state));
        Ok(())
    }

    /// Sets a state's default key (the demo manager's) through the admin API, until it is verified.
    pub async fn set_default(&self, live: &Live, state: &'static str) -> Result<(), String> {
        let started = now_ms();
        self.until_done("setting the default key", live, |base| async move {
            let page: IntegrationPage =
                read(&self.admin, &format!("{base}/api/admin/integration")).await?;
            let current = page
                .states
                .iter()
                .find(|s| s.state.code().eq_ignore_ascii_case(state))
                .and_then(|s| s.default_key.as_ref());
            if current.is_some_and(|k| k.status == CredentialStatus::Verified) {
                return Ok(true);
            }
            let response = self
                .admin
                .put(format!(
                    "{base}/api/admin/integration/{}/default-key",
                    state.to_uppercase()
                ))
                .json(&json!({ "key": CO_MANAGER, "version": current.map(|k| k.version) }))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            Ok(response.status().is_success())
        })
        .await?;
        self.note(started, None, Change::DefaultSet(state));
        Ok(())
    }

    /// Tries `attempt` on a server that is up until it says done: servers die, METRC fails, a save races
    /// a report's re-check. Gives up after 300 tries, 200 ms apart.
    async fn until_done<F>(
        &self,
        what: &str,
        live: &Live,
        mut attempt: impl FnMut(String) -> F,
    ) -> Result<(), String>
    where
        F: std::future::Future<Output = Result<bool, String>>,
    {
        let mut last = String::from("no server was up");
        for n in 0..300_usize {
            if n > 0 {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            let Some(base) = live.pick(n) else {
                continue;
            };
            match attempt(base).await {
                Ok(true) => return Ok(()),
                Ok(false) => last = "the product did not take it".into(),
                Err(e) => last = e,
            }
        }
        Err(format!("{what} never succeeded: {last}"))
    }
}

/// A client that keeps its cookies, like a browser tab; cookies do not depend on the port, so one
/// session serves on every server.
pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

async fn sign_in(live: &Live, client: &Client, email: &str) -> Result<(), String> {
    let base = live.pick(0).ok_or("no server is up")?;
    let response = client
        .post(format!("{base}/api/session"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.status() == StatusCode::OK {
        Ok(())
    } else {
        Err(format!("signing in answered {}", response.status()))
    }
}

/// `GET` a page as JSON.
pub async fn read<T: serde::de::DeserializeOwned>(client: &Client, url: &str) -> Result<T, String> {
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

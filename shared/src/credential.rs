//! Traceability credentials: what the page shows, what "Verify & Save" sends, the input rules both
//! sides run, and the sentences users read.
//!
//! The rules need context the form has and the server has too: the organization's licenses and the
//! user's other credentials. [`CredentialRequest::parse`] takes that context, so the browser checks a
//! draft against the page it shows and the server checks it again against the database.

use crate::LicenseNumber;
use crate::api::FieldError;
use crate::metrc_key::MetrcUserKey;
use crate::provider::Provider;
use crate::state::StateCode;
use serde::{Deserialize, Serialize};

/// The status of a stored credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    /// METRC accepted the key for all of its licenses at the last check.
    Verified,
    /// METRC now rejects the key.
    Invalid,
    /// The key no longer reaches one of the credential's licenses.
    LicenseLost,
    /// Not checked yet.
    Unverified,
}

impl CredentialStatus {
    pub fn code(self) -> &'static str {
        match self {
            CredentialStatus::Verified => "verified",
            CredentialStatus::Invalid => "invalid",
            CredentialStatus::LicenseLost => "license_lost",
            CredentialStatus::Unverified => "unverified",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            CredentialStatus::Verified,
            CredentialStatus::Invalid,
            CredentialStatus::LicenseLost,
            CredentialStatus::Unverified,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }

    /// What the page says.
    pub fn label(self) -> &'static str {
        match self {
            CredentialStatus::Verified => "Verified",
            // What METRC answers a report sent with it, as Compliance Management shows it too.
            CredentialStatus::Invalid => "Invalid key — 401 Unauthorized",
            CredentialStatus::LicenseLost => "License lost",
            CredentialStatus::Unverified => "Not verified",
        }
    }
}

/// A license of the organization as the credentials page needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseOption {
    pub id: i64,
    pub number: LicenseNumber,
    pub name: String,
    pub state: StateCode,
    pub provider: Provider,
    /// Active and tracked: it can be put on a credential. Others are shown on credentials that hold them.
    pub offered: bool,
}

impl LicenseOption {
    /// "402R-00101 — Denver – Colfax Ave", as the license dropdown reads.
    pub fn label(&self) -> String {
        format!("{} — {}", self.number, self.name)
    }
}

/// A stored credential as the page shows it. Never the key: only its last four characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialView {
    pub id: i64,
    pub provider: Provider,
    pub state: StateCode,
    /// Ids into [`CredentialsPage::licenses`].
    pub license_ids: Vec<i64>,
    pub key_last_four: String,
    pub status: CredentialStatus,
    /// Unix seconds of the last successful check.
    pub verified_at: Option<i64>,
    /// Sent back with an update: a save based on an older version is refused, never merged.
    pub version: i64,
    /// The user's reports held for want of a usable key at this credential's licenses.
    #[serde(default)]
    pub waiting: i64,
}

impl CredentialView {
    /// "METRC · Colorado · ••••wxyz": the credential's group label.
    pub fn label(&self) -> String {
        format!(
            "{} · {} · ••••{}",
            self.provider.label(),
            self.state.name(),
            self.key_last_four
        )
    }
}

/// `GET /api/credentials`: the user's credentials and every license of the organization they may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsPage {
    pub credentials: Vec<CredentialView>,
    pub licenses: Vec<LicenseOption>,
}

impl CredentialsPage {
    pub fn license(&self, id: i64) -> Option<&LicenseOption> {
        self.licenses.iter().find(|l| l.id == id)
    }

    pub fn credential(&self, id: i64) -> Option<&CredentialView> {
        self.credentials.iter().find(|c| c.id == id)
    }

    /// The states offered in "Select State" for a provider: those with an offered license, in the
    /// order of their codes.
    pub fn states(&self, provider: Provider) -> Vec<StateCode> {
        StateCode::all()
            .filter(|s| {
                self.licenses
                    .iter()
                    .any(|l| l.offered && l.provider == provider && l.state == *s)
            })
            .collect()
    }

    /// The licenses offered in the dropdown of a credential (`editing`) or of the new-credential form:
    /// offered licenses of the state and provider, minus those on the user's *other* credentials for the
    /// provider. Licenses the edited credential already holds stay listed even if no longer offered, so
    /// they can be unchecked.
    pub fn offered_licenses(
        &self,
        provider: Provider,
        state: StateCode,
        editing: Option<i64>,
    ) -> Vec<&LicenseOption> {
        let held = editing.and_then(|id| self.credential(id));
        self.licenses
            .iter()
            .filter(|l| l.provider == provider && l.state == state)
            .filter(|l| {
                held.is_some_and(|c| c.license_ids.contains(&l.id))
                    || (l.offered && self.holder_of(provider, l.id, editing).is_none())
            })
            .collect()
    }

    /// Another credential of the user (not `except`) that holds a license for the provider.
    pub fn holder_of(
        &self,
        provider: Provider,
        license_id: i64,
        except: Option<i64>,
    ) -> Option<&CredentialView> {
        self.credentials.iter().find(|c| {
            Some(c.id) != except && c.provider == provider && c.license_ids.contains(&license_id)
        })
    }
}

/// `POST /api/credentials` (new) and `PUT /api/credentials/{id}` (edit): raw, as typed. Its `Debug`
/// never shows the key.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRequest {
    pub provider: String,
    pub state: String,
    pub license_ids: Vec<i64>,
    /// The METRC user API key. On an edit, empty keeps the stored key.
    #[serde(default)]
    pub key: String,
    /// On an edit, the version the user saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

impl std::fmt::Debug for CredentialRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRequest")
            .field("provider", &self.provider)
            .field("state", &self.state)
            .field("license_ids", &self.license_ids)
            .field("key", &crate::redacted(&self.key))
            .field("version", &self.version)
            .finish()
    }
}

/// The most licenses one credential may name (bounds the work of one request).
pub const MAX_LICENSES_PER_CREDENTIAL: usize = 200;

/// A request that passed the shared rules.
#[derive(Debug)]
pub struct CredentialDraft {
    pub provider: Provider,
    pub state: StateCode,
    /// Distinct, in the order chosen.
    pub license_ids: Vec<i64>,
    /// `None` on an edit that keeps the stored key.
    pub key: Option<MetrcUserKey>,
}

impl CredentialRequest {
    /// Checks every field against the page's context and returns all problems at once. `editing` is the
    /// id of the credential being edited (`None` for a new one, whose key is then required).
    pub fn parse(
        &self,
        page: &CredentialsPage,
        editing: Option<i64>,
    ) -> Result<CredentialDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let provider = Provider::parse(&self.provider)
            .map_err(|e| errors.push(FieldError::new("provider", e)))
            .ok();
        let state = StateCode::parse(&self.state)
            .map_err(|e| errors.push(FieldError::new("state", e)))
            .ok();
        let key = if self.key.trim().is_empty() && editing.is_some() {
            None
        } else {
            MetrcUserKey::parse(&self.key)
                .map_err(|e| errors.push(FieldError::new("key", e)))
                .ok()
        };
        let mut license_ids: Vec<i64> = Vec::new();
        for id in &self.license_ids {
            if !license_ids.contains(id) {
                license_ids.push(*id);
            }
        }
        if let Some(message) = license_problem(page, provider, state, &license_ids, editing) {
            errors.push(FieldError::new("license_ids", message));
        }
        match (provider, state, errors.is_empty()) {
            (Some(provider), Some(state), true) => Ok(CredentialDraft {
                provider,
                state,
                license_ids,
                key,
            }),
            _ => Err(errors),
        }
    }
}

fn license_problem(
    page: &CredentialsPage,
    provider: Option<Provider>,
    state: Option<StateCode>,
    ids: &[i64],
    editing: Option<i64>,
) -> Option<String> {
    if ids.is_empty() {
        return Some("Select at least one license.".to_owned());
    }
    if ids.len() > MAX_LICENSES_PER_CREDENTIAL {
        return Some(format!(
            "A credential holds at most {MAX_LICENSES_PER_CREDENTIAL} licenses."
        ));
    }
    let (provider, state) = (provider?, state?);
    let offered = page.offered_licenses(provider, state, editing);
    for id in ids {
        if offered.iter().any(|l| l.id == *id) {
            continue;
        }
        let Some(license) = page.license(*id) else {
            return Some(
                "One of the selected licenses is not one of your organization's. Reload the page and choose again."
                    .to_owned(),
            );
        };
        let number = &license.number;
        return Some(if license.state != state {
            format!("License {number} is not in {}.", state.name())
        } else if license.provider != provider {
            format!("License {number} does not report to {}.", provider.label())
        } else if let Some(holder) = page.holder_of(provider, *id, editing) {
            format!(
                "License {number} is already on your credential {}. Each license can be on only one of your credentials per traceability provider.",
                holder.label()
            )
        } else {
            format!(
                "License {number} is inactive or not tracked. Ask your administrator to check it in Organization Management."
            )
        });
    }
    None
}

/// `POST`/`PUT` answer: the saved credential and what else the key reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCredential {
    pub credential: CredentialView,
    /// Facilities the key reaches that are not on the credential ("This key also reaches: …").
    pub also_reaches: Vec<ReachedLicense>,
}

/// A facility METRC says the key reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachedLicense {
    pub number: String,
    pub name: String,
    /// The organization's license with this number, when it could be added to the credential.
    pub license_id: Option<i64>,
}

/// The sentences of the page, written once (the server sends them; the client shows them).
/// What is wrong with the user's keys in one state, for the banner on every page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    /// METRC refuses the credential's key.
    Invalid,
    /// The key no longer reaches one of the credential's licenses.
    LicenseLost,
    /// Reports wait at licenses none of the user's credentials covers (and no default key reaches).
    NoCredential,
}

/// One banner: a problem with the user's key in a state, and what waits for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub state: StateCode,
    pub problem: Problem,
    /// The credential to fix; `None` when there is none to fix (a key is to be added).
    pub credential_id: Option<i64>,
    /// The credential's version: a problem with a key saved again since is a new problem.
    pub version: i64,
    /// The user's sales and adjustments held for want of a working key there.
    pub sales: i64,
    pub adjustments: i64,
}

impl Alert {
    /// Names this problem, for remembering it was dismissed or announced in this browser session.
    pub fn key(&self) -> String {
        let problem = match self.problem {
            Problem::Invalid => "invalid",
            Problem::LicenseLost => "license-lost",
            Problem::NoCredential => "no-credential",
        };
        match self.credential_id {
            Some(id) => format!("tc-alert:{problem}:{id}:{}", self.version),
            None => format!("tc-alert:{problem}:{}", self.state.code()),
        }
    }

    /// "3 sales are waiting", "1 sale and 2 adjustments are waiting"; empty when nothing waits.
    fn waiting(&self) -> String {
        let count = |n: i64, one: &str, many: &str| match n {
            0 => None,
            1 => Some(format!("1 {one}")),
            n => Some(format!("{n} {many}")),
        };
        let parts: Vec<String> = [
            count(self.sales, "sale", "sales"),
            count(self.adjustments, "adjustment", "adjustments"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let verb = if self.sales + self.adjustments == 1 {
            "is"
        } else {
            "are"
        };
        match parts.as_slice() {
            [] => String::new(),
            parts => format!("{} {verb} waiting", parts.join(" and ")),
        }
    }

    /// The banner's sentence, before its link.
    pub fn sentence(&self) -> String {
        let state = self.state.name();
        let waiting = self.waiting();
        let waiting_after = if waiting.is_empty() {
            String::new()
        } else {
            format!(" — {waiting}")
        };
        match self.problem {
            Problem::Invalid => {
                format!("Your METRC key for {state} stopped working{waiting_after}.")
            }
            Problem::LicenseLost => format!(
                "Your METRC key for {state} no longer reaches all of its licenses{waiting_after}."
            ),
            Problem::NoCredential => format!("{waiting} for your METRC key for {state}."),
        }
    }

    /// The link's text.
    pub fn action(&self) -> &'static str {
        match self.problem {
            Problem::NoCredential => "Add your key.",
            Problem::Invalid | Problem::LicenseLost => "Update your key.",
        }
    }
}

/// `GET /api/me/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alerts {
    pub alerts: Vec<Alert>,
    /// The keys are being checked with METRC since this sign-in: ask again in a moment.
    pub checking: bool,
}

pub mod messages {
    use crate::state::StateCode;

    pub const SAVED: &str = "Credential verified and saved.";
    pub const DELETED: &str = "Credential deleted.";
    pub const UNREACHABLE: &str =
        "METRC could not be reached. Nothing was saved; please try again.";
    pub const BELONGS_TO_ANOTHER: &str = "This key belongs to another METRC account holder in your organization. Use your own METRC user API key.";
    pub const DELETE_TITLE: &str = "Delete this credential?";

    /// "{N} reports waiting for this key" on a credential with held reports.
    pub fn waiting(n: i64) -> String {
        if n == 1 {
            "1 report waiting for this key".to_owned()
        } else {
            format!("{n} reports waiting for this key")
        }
    }

    pub fn key_invalid(state: StateCode) -> String {
        format!(
            "This METRC API key is not valid for {}. Nothing was saved.",
            state.name()
        )
    }

    pub fn not_associated(numbers: &[&str]) -> String {
        format!(
            "This METRC API key is not associated with {}. Nothing was saved.",
            numbers.join(", ")
        )
    }

    pub fn delete_body(numbers: &[&str]) -> String {
        format!(
            "Sales and adjustments you make at {} will be reported with your organization's default METRC key, if one is set.",
            numbers.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_alert_says_what_broke_and_what_waits() {
        use super::{Alert, Problem};
        let co = crate::StateCode::parse("CO").expect("served");
        let mut alert = Alert {
            state: co,
            problem: Problem::Invalid,
            credential_id: Some(7),
            version: 3,
            sales: 3,
            adjustments: 0,
        };
        assert_eq!(
            format!("{} {}", alert.sentence(), alert.action()),
            "Your METRC key for Colorado stopped working — 3 sales are waiting. Update your key."
        );
        alert.sales = 1;
        alert.adjustments = 2;
        assert!(
            alert
                .sentence()
                .ends_with("— 1 sale and 2 adjustments are waiting.")
        );
        alert.sales = 0;
        alert.adjustments = 1;
        assert!(alert.sentence().ends_with("— 1 adjustment is waiting."));
        alert.adjustments = 0;
        assert_eq!(
            alert.sentence(),
            "Your METRC key for Colorado stopped working."
        );
        alert.problem = Problem::LicenseLost;
        assert_eq!(
            alert.sentence(),
            "Your METRC key for Colorado no longer reaches all of its licenses."
        );
        let other = Alert {
            version: 4,
            ..alert.clone()
        };
        assert_ne!(
            alert.key(),
            other.key(),
            "a key saved again is a new problem"
        );
        let missing = Alert {
            problem: Problem::NoCredential,
            credential_id: None,
            sales: 2,
            ..alert
        };
        assert_eq!(
            format!("{} {}", missing.sentence(), missing.action()),
            "2 sales are waiting for your METRC key for Colorado. Add your key."
        );
    }

    use super::*;

    fn license(id: i64, number: &str, state: &str) -> LicenseOption {
        LicenseOption {
            id,
            number: LicenseNumber::parse(number).expect("valid number"),
            name: format!("Store {id}"),
            state: StateCode::parse(state).expect("state"),
            provider: Provider::Metrc,
            offered: true,
        }
    }

    fn page() -> CredentialsPage {
        CredentialsPage {
            credentials: vec![CredentialView {
                id: 10,
                provider: Provider::Metrc,
                state: StateCode::parse("CO").expect("state"),
                license_ids: vec![1],
                key_last_four: "0001".into(),
                status: CredentialStatus::Verified,
                verified_at: Some(0),
                version: 1,
                waiting: 0,
            }],
            licenses: vec![
                license(1, "402R-00101", "CO"),
                license(2, "402R-00102", "CO"),
                license(3, "MR281001", "MA"),
                LicenseOption {
                    offered: false,
                    ..license(4, "402R-00199", "CO")
                },
            ],
        }
    }

    fn request(state: &str, ids: &[i64], key: &str) -> CredentialRequest {
        CredentialRequest {
            provider: "metrc".into(),
            state: state.into(),
            license_ids: ids.to_vec(),
            key: key.into(),
            version: None,
        }
    }

    #[test]
    fn a_license_on_another_credential_is_not_offered_again_but_stays_on_its_own() {
        let page = page();
        let co = StateCode::parse("CO").expect("state");
        let new: Vec<i64> = page
            .offered_licenses(Provider::Metrc, co, None)
            .iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(new, [2]);
        let editing: Vec<i64> = page
            .offered_licenses(Provider::Metrc, co, Some(10))
            .iter()
            .map(|l| l.id)
            .collect();
        assert_eq!(editing, [1, 2]);
    }

    #[test]
    fn states_are_those_with_offered_licenses() {
        let names: Vec<&str> = page()
            .states(Provider::Metrc)
            .iter()
            .map(|s| s.code())
            .collect();
        assert_eq!(names, ["CO", "MA"]);
    }

    #[test]
    fn a_good_request_parses_with_the_key_trimmed_and_licenses_deduplicated() {
        let draft = request("co", &[2, 2], "  abc\n")
            .parse(&page(), None)
            .expect("valid");
        assert_eq!(draft.license_ids, [2]);
        assert_eq!(
            draft.key.map(|k| k.expose_secret().to_owned()),
            Some("abc".into())
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let errors = request("AK", &[], "a b")
            .parse(&page(), None)
            .expect_err("bad");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["state", "key", "license_ids"]);
    }

    #[test]
    fn licenses_are_refused_with_the_reason() {
        let message = |ids: &[i64]| {
            request("CO", ids, "k")
                .parse(&page(), None)
                .expect_err("bad")
                .remove(0)
                .message
        };
        assert!(message(&[1]).contains("already on your credential METRC · Colorado · ••••0001"));
        assert_eq!(message(&[3]), "License MR281001 is not in Colorado.");
        assert!(message(&[4]).contains("inactive or not tracked"));
        assert!(message(&[99]).contains("not one of your organization's"));
    }

    #[test]
    fn an_edit_may_keep_the_stored_key_but_a_new_credential_needs_one() {
        let edit = request("CO", &[1, 2], " ").parse(&page(), Some(10));
        assert!(edit.expect("valid").key.is_none());
        let new = request("CO", &[2], " ").parse(&page(), None);
        assert_eq!(new.expect_err("key required")[0].field, "key");
    }

    #[test]
    fn the_sentences_read_as_the_product_says() {
        let co = StateCode::parse("CO").expect("state");
        assert_eq!(
            messages::key_invalid(co),
            "This METRC API key is not valid for Colorado. Nothing was saved."
        );
        assert_eq!(
            messages::not_associated(&["402R-00102", "402R-00103"]),
            "This METRC API key is not associated with 402R-00102, 402R-00103. Nothing was saved."
        );
        assert_eq!(page().credentials[0].label(), "METRC · Colorado · ••••0001");
        assert_eq!(page().licenses[0].label(), "402R-00101 — Store 1");
    }
}

//! The admin side: Organization Management (licenses, users, coverage, audit log) and Config Page >
//! Integration (the default METRC key per state). The types both sides exchange, every input rule, and
//! the sentences admins read.

use crate::api::FieldError;
use crate::credential::CredentialStatus;
use crate::email::Email;
use crate::license::LicenseNumber;
use crate::metrc_key::MetrcUserKey;
use crate::provider::Provider;
use crate::state::StateCode;
use crate::user::Role;
use serde::{Deserialize, Serialize};

/// The facility time zones a license may have: the zones of the places METRC serves. METRC wants sales
/// times as the facility's wall clock, so the zone is chosen from this list, never typed.
pub const TIME_ZONES: &[&str] = &[
    "America/New_York",
    "America/Detroit",
    "America/Kentucky/Louisville",
    "America/Chicago",
    "America/Menominee",
    "America/Denver",
    "America/Boise",
    "America/Los_Angeles",
    "America/St_Thomas",
    "Pacific/Guam",
];

/// The longest license name or type we keep.
pub const MAX_NAME_LEN: usize = 120;

/// The shortest password a new user may choose.
pub const MIN_PASSWORD_LEN: usize = 12;

/// How many users one coverage page shows.
pub const COVERAGE_PAGE_SIZE: usize = 50;

/// How many audit records one page of the log shows.
pub const AUDIT_PAGE_SIZE: usize = 100;

fn name_field(field: &str, raw: &str, what: &str, errors: &mut Vec<FieldError>) -> String {
    let value = raw.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, format!("Enter the {what}.")));
    } else if value.chars().count() > MAX_NAME_LEN {
        errors.push(FieldError::new(
            field,
            format!("The {what} has at most {MAX_NAME_LEN} characters."),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            format!("The {what} cannot contain control characters."),
        ));
    }
    value.to_owned()
}

fn time_zone_field(raw: &str, errors: &mut Vec<FieldError>) -> Option<&'static str> {
    let found = TIME_ZONES.iter().copied().find(|z| *z == raw.trim());
    if found.is_none() {
        errors.push(FieldError::new(
            "time_zone",
            "Choose the facility's time zone from the list.",
        ));
    }
    found
}

/// A license as Organization Management shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseAdminView {
    pub id: i64,
    pub number: LicenseNumber,
    pub state: StateCode,
    pub name: String,
    pub license_type: String,
    pub provider: Provider,
    pub tracked: bool,
    pub active: bool,
    pub time_zone: String,
    pub version: i64,
    /// How many credentials list this license (each belongs to a different user).
    pub credentials: i64,
}

impl LicenseAdminView {
    /// Can be put on a credential and reported to: active and tracked.
    pub fn offered(&self) -> bool {
        self.active && self.tracked
    }
}

/// `GET /api/admin/licenses`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensesAdminPage {
    pub licenses: Vec<LicenseAdminView>,
}

/// `POST /api/admin/licenses`: a new license. Raw strings, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLicenseRequest {
    pub number: String,
    pub state: String,
    pub name: String,
    pub license_type: String,
    /// Empty means the state's default zone.
    pub time_zone: String,
}

/// A new license that passed the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLicenseDraft {
    pub number: LicenseNumber,
    pub state: StateCode,
    pub name: String,
    pub license_type: String,
    pub time_zone: &'static str,
}

impl NewLicenseRequest {
    pub fn parse(&self) -> Result<NewLicenseDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let number = LicenseNumber::parse(&self.number)
            .map_err(|e| errors.push(FieldError::new("number", e)))
            .ok();
        let state = StateCode::parse(&self.state)
            .map_err(|e| errors.push(FieldError::new("state", e)))
            .ok();
        let name = name_field("name", &self.name, "license name", &mut errors);
        let license_type = name_field(
            "license_type",
            &self.license_type,
            "license type",
            &mut errors,
        );
        let time_zone = if self.time_zone.trim().is_empty() {
            state.map(StateCode::default_time_zone)
        } else {
            time_zone_field(&self.time_zone, &mut errors)
        };
        match (number, state, time_zone, errors.is_empty()) {
            (Some(number), Some(state), Some(time_zone), true) => Ok(NewLicenseDraft {
                number,
                state,
                name,
                license_type,
                time_zone,
            }),
            _ => Err(errors),
        }
    }
}

/// `PUT /api/admin/licenses/{id}`: everything of a license that may change. Number and state never do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseChangeRequest {
    pub name: String,
    pub license_type: String,
    pub time_zone: String,
    pub tracked: bool,
    pub active: bool,
    /// The version the admin saw; an older one loses.
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseChange {
    pub name: String,
    pub license_type: String,
    pub time_zone: &'static str,
    pub tracked: bool,
    pub active: bool,
    pub version: i64,
}

impl LicenseChangeRequest {
    pub fn parse(&self) -> Result<LicenseChange, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = name_field("name", &self.name, "license name", &mut errors);
        let license_type = name_field(
            "license_type",
            &self.license_type,
            "license type",
            &mut errors,
        );
        let time_zone = time_zone_field(&self.time_zone, &mut errors);
        match (time_zone, errors.is_empty()) {
            (Some(time_zone), true) => Ok(LicenseChange {
                name,
                license_type,
                time_zone,
                tracked: self.tracked,
                active: self.active,
                version: self.version,
            }),
            _ => Err(errors),
        }
    }
}

/// A user as Organization Management shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAdminView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    /// False until the user has set a password through their link.
    pub has_password: bool,
    pub credentials: i64,
    pub version: i64,
}

/// `GET /api/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersAdminPage {
    pub users: Vec<UserAdminView>,
}

/// `POST /api/admin/users`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUserRequest {
    pub email: String,
    pub display_name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUserDraft {
    pub email: Email,
    pub display_name: String,
    pub role: Role,
}

fn role_field(raw: &str, errors: &mut Vec<FieldError>) -> Option<Role> {
    let role = Role::from_code(raw.trim());
    if role.is_none() {
        errors.push(FieldError::new("role", "Choose Admin or Staff."));
    }
    role
}

impl NewUserRequest {
    pub fn parse(&self) -> Result<NewUserDraft, Vec<FieldError>> {
        let mut errors = Vec::new();
        let email = Email::parse(&self.email)
            .map_err(|e| errors.push(FieldError::new("email", e)))
            .ok();
        let display_name = name_field("display_name", &self.display_name, "name", &mut errors);
        let role = role_field(&self.role, &mut errors);
        match (email, role, errors.is_empty()) {
            (Some(email), Some(role), true) => Ok(NewUserDraft {
                email,
                display_name,
                role,
            }),
            _ => Err(errors),
        }
    }
}

/// `PUT /api/admin/users/{id}`: the role and whether the user is active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserChangeRequest {
    pub role: String,
    pub active: bool,
    pub version: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserChange {
    pub role: Role,
    pub active: bool,
    pub version: i64,
}

impl UserChangeRequest {
    pub fn parse(&self) -> Result<UserChange, Vec<FieldError>> {
        let mut errors = Vec::new();
        match role_field(&self.role, &mut errors) {
            Some(role) => Ok(UserChange {
                role,
                active: self.active,
                version: self.version,
            }),
            None => Err(errors),
        }
    }
}

/// A one-time link with which a user sets their password (`/set-password#{token}`). Its `Debug` never
/// shows the link (it holds the token).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupLink {
    pub user: UserAdminView,
    pub url: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for SetupLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetupLink")
            .field("user", &self.user)
            .field("url", &crate::redacted(&self.url))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What is wrong with a new password and its confirmation, by field (`password`, `confirm`): the rules
/// every new password meets, however it is set. (The server also refuses common passwords, from a list
/// it alone holds: `server/src/passwords.rs`.)
pub fn new_password_errors(password: &str, confirm: &str) -> Vec<FieldError> {
    let length = password.chars().count();
    let problem = if length < MIN_PASSWORD_LEN {
        Some(format!(
            "Choose a password of at least {MIN_PASSWORD_LEN} characters."
        ))
    } else if length > crate::api::MAX_PASSWORD_LEN {
        Some(format!(
            "A password has at most {} characters.",
            crate::api::MAX_PASSWORD_LEN
        ))
    } else {
        None
    };
    let mut errors: Vec<FieldError> = problem
        .map(|p| FieldError::new("password", p))
        .into_iter()
        .collect();
    if confirm != password {
        errors.push(FieldError::new("confirm", "The two passwords differ."));
    }
    errors
}

/// `POST /api/password-setup`: the token of a set-up link and the chosen password. Its `Debug` shows
/// none of them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPasswordRequest {
    pub token: String,
    pub password: String,
    pub confirm: String,
}

impl std::fmt::Debug for SetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPasswordRequest")
            .field("token", &crate::redacted(&self.token))
            .field("password", &crate::redacted(&self.password))
            .field("confirm", &crate::redacted(&self.confirm))
            .finish()
    }
}

impl SetPasswordRequest {
    /// The password, if it is acceptable and both fields agree.
    pub fn parse(&self) -> Result<&str, Vec<FieldError>> {
        let errors = new_password_errors(&self.password, &self.confirm);
        if errors.is_empty() {
            Ok(&self.password)
        } else {
            Err(errors)
        }
    }
}

/// One cell of the coverage table: whose key a report of this user at this license would go out under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "status")]
pub enum Cover {
    /// The user's own credential, with its status.
    Own(CredentialStatus),
    /// The organization's default key for the state (verified, and it reaches the license).
    Default,
    /// Neither: reports would be held.
    NotCovered,
}

impl Cover {
    pub fn label(self) -> String {
        match self {
            Cover::Own(CredentialStatus::Verified) => "own key".to_owned(),
            Cover::Own(status) => format!("own key ({})", status.label()),
            Cover::Default => "default key".to_owned(),
            Cover::NotCovered => "not covered".to_owned(),
        }
    }
}

/// A tracked license as a coverage column, with its counts over every active user (not only this page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageLicense {
    pub id: i64,
    pub number: LicenseNumber,
    pub name: String,
    pub state: StateCode,
    pub own: i64,
    pub default: i64,
    pub not_covered: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoverageRow {
    pub user_id: i64,
    pub display_name: String,
    pub email: String,
    /// One per license of [`CoveragePage::licenses`], in that order.
    pub cells: Vec<Cover>,
}

/// `GET /api/admin/coverage?page=1&fallback=true`: active users × active, tracked licenses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CoveragePage {
    pub licenses: Vec<CoverageLicense>,
    pub rows: Vec<CoverageRow>,
    /// 1-based.
    pub page: i64,
    pub pages: i64,
    /// Users matching the filter, over all pages.
    pub users: i64,
    /// Only users who fall back to a default key somewhere.
    pub fallback_only: bool,
}

/// One audit record as the log shows it. Never a key: at most its last four characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub id: i64,
    /// Unix seconds.
    pub at: i64,
    pub actor: String,
    pub subject: String,
    pub action: String,
    pub result: String,
    pub detail: String,
    pub licenses: Vec<String>,
}

/// `GET /api/admin/audit?user=&license=&before=`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditView>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// The default key of a state as Config Page > Integration shows it. Never the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultKeyView {
    pub key_last_four: String,
    pub status: CredentialStatus,
    pub verified_at: Option<i64>,
    pub updated_by: String,
    pub version: i64,
}

/// A license of the state on the Integration page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationLicense {
    pub id: i64,
    pub number: LicenseNumber,
    pub name: String,
    pub tracked: bool,
    pub active: bool,
    /// The default key reached it at its last check.
    pub reached_by_default: bool,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateIntegration {
    pub state: StateCode,
    pub default_key: Option<DefaultKeyView>,
    pub licenses: Vec<IntegrationLicense>,
}

impl StateIntegration {
    /// Active, tracked licenses the default key does not cover ("not covered by the default key"): all
    /// of them when there is no verified default key.
    pub fn not_covered(&self) -> Vec<&IntegrationLicense> {
        let key_works = self
            .default_key
            .as_ref()
            .is_some_and(|k| k.status == CredentialStatus::Verified);
        self.licenses
            .iter()
            .filter(|l| l.active && l.tracked && !(key_works && l.reached_by_default))
            .collect()
    }
}

/// `GET /api/admin/integration`: every state the organization has licenses in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationPage {
    pub states: Vec<StateIntegration>,
}

/// `PUT /api/admin/integration/{state}/default-key`. Its `Debug` never shows the key.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultKeyRequest {
    pub key: String,
    /// The version replaced; `None` when the state has no default key yet.
    pub version: Option<i64>,
}

impl std::fmt::Debug for DefaultKeyRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefaultKeyRequest")
            .field("key", &crate::redacted(&self.key))
            .field("version", &self.version)
            .finish()
    }
}

impl DefaultKeyRequest {
    pub fn parse(&self) -> Result<MetrcUserKey, Vec<FieldError>> {
        MetrcUserKey::parse(&self.key).map_err(|e| vec![FieldError::new("key", e)])
    }
}

/// The sentences of the admin pages.
pub mod messages {
    use crate::state::StateCode;

    pub const ADMINS_ONLY: &str = "Only your organization's administrators can do this. Ask one of them if you need a change.";
    pub const DEFAULT_KEY_SAVED: &str = "Default key verified and saved.";
    pub const DEFAULT_KEY_REMOVED: &str = "Default key removed.";
    pub const DEFAULT_KEY_IS_PERSONAL: &str = "This key is a person's own METRC user API key, stored on their credential. The default key must be a key of the organization's own METRC account.";
    pub const LINK_EXPIRED: &str =
        "This link has expired or was already used. Ask your administrator for a new one.";
    pub const PASSWORD_SET: &str = "Your password is set. Sign in with your email and it.";
    /// What a password reset link does, asked before it is issued.
    pub fn reset_warning(name: &str) -> String {
        format!(
            "{name} is signed out everywhere at once. You get a one-time link to give them: with it they choose a new password, and their old one stops working then."
        )
    }
    pub const PASSWORD_CHANGED: &str =
        "Your password is changed. You were signed out everywhere else.";
    pub const COMMON_PASSWORD: &str = "This password is one of the most common passwords (or one with only digits or symbols added), so it is among the first an attacker tries. Choose another — a few unrelated words make a strong one.";
    pub const LAST_ADMIN: &str = "Your organization needs at least one active administrator. Make another user an administrator first.";

    pub fn default_key_invalid(state: StateCode) -> String {
        format!(
            "This METRC API key is not valid for {}. The default key was not changed.",
            state.name()
        )
    }

    pub fn license_exists(number: &str) -> String {
        format!("Your organization already has license {number}. A license number is entered once.")
    }

    /// What taking a license out of use means, said before it is done.
    pub fn withdraw_warning(number: &str, credentials: i64) -> String {
        let holders = match credentials {
            0 => "No credential lists it.".to_owned(),
            1 => "1 user's credential lists it and keeps it, shown as inactive.".to_owned(),
            n => format!("{n} users' credentials list it and keep it, shown as inactive."),
        };
        format!(
            "{number} will no longer be offered for credentials, and new sales and adjustments at it will be refused. {holders} Reports already recorded are still sent."
        )
    }

    pub fn deactivate_warning(name: &str) -> String {
        format!(
            "{name} will be signed out at once and unable to sign in, and their stored METRC keys will be destroyed. The audit log keeps their history."
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_license_reports_every_bad_field() {
        let errors = NewLicenseRequest {
            number: String::new(),
            state: "XX".into(),
            name: " ".into(),
            license_type: "x".repeat(MAX_NAME_LEN + 1),
            time_zone: "Europe/Paris".into(),
        }
        .parse()
        .expect_err("every field is bad");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["number", "state", "name", "license_type", "time_zone"]
        );
    }

    #[test]
    fn a_new_license_takes_the_states_zone_unless_one_is_chosen() {
        let mut request = NewLicenseRequest {
            number: " 402R-00999 ".into(),
            state: "co".into(),
            name: " Aurora ".into(),
            license_type: "Retail Marijuana Store".into(),
            time_zone: String::new(),
        };
        let draft = request.parse().expect("valid");
        assert_eq!(draft.number.as_str(), "402R-00999");
        assert_eq!(draft.name, "Aurora");
        assert_eq!(draft.time_zone, "America/Denver");
        request.time_zone = "America/Boise".into();
        assert_eq!(request.parse().expect("valid").time_zone, "America/Boise");
    }

    #[test]
    fn every_states_default_zone_can_be_chosen() {
        for state in StateCode::all() {
            assert!(
                TIME_ZONES.contains(&state.default_time_zone()),
                "{}",
                state.code()
            );
        }
    }

    #[test]
    fn a_new_user_needs_an_email_a_name_and_a_role() {
        let errors = NewUserRequest {
            email: "nope".into(),
            display_name: String::new(),
            role: "owner".into(),
        }
        .parse()
        .expect_err("bad");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "display_name", "role"]);
        let ok = NewUserRequest {
            email: "New@Demo.test ".into(),
            display_name: "Nia New".into(),
            role: "staff".into(),
        }
        .parse()
        .expect("valid");
        assert_eq!(ok.email.as_str(), "new@demo.test");
        assert_eq!(ok.role, Role::Staff);
    }

    #[test]
    fn a_password_must_be_long_enough_and_typed_twice_alike() {
        let request = |password: &str, confirm: &str| SetPasswordRequest {
            token: "t".into(),
            password: password.into(),
            confirm: confirm.into(),
        };
        assert_eq!(
            request("short", "short").parse().map_err(|e| e.len()),
            Err(1)
        );
        assert_eq!(
            request("long enough password", "other")
                .parse()
                .map_err(|e| e[0].field.clone()),
            Err("confirm".to_owned())
        );
        assert_eq!(
            request("long enough password", "long enough password").parse(),
            Ok("long enough password")
        );
    }

    #[test]
    fn licenses_without_a_working_default_key_are_not_covered() {
        let license = |id, tracked, active, reached| IntegrationLicense {
            id,
            number: LicenseNumber::parse(&format!("L{id}")).expect("valid"),
            name: String::new(),
            tracked,
            active,
            reached_by_default: reached,
            version: 1,
        };
        let mut state = StateIntegration {
            state: StateCode::parse("CO").expect("CO"),
            default_key: None,
            licenses: vec![
                license(1, true, true, true),
                license(2, true, true, false),
                license(3, false, true, false),
                license(4, true, false, false),
            ],
        };
        let ids = |s: &StateIntegration| s.not_covered().iter().map(|l| l.id).collect::<Vec<_>>();
        assert_eq!(ids(&state), [1, 2]);
        state.default_key = Some(DefaultKeyView {
            key_last_four: "0005".into(),
            status: CredentialStatus::Verified,
            verified_at: Some(1),
            updated_by: "Avery Admin".into(),
            version: 1,
        });
        assert_eq!(ids(&state), [2]);
        if let Some(key) = state.default_key.as_mut() {
            key.status = CredentialStatus::Invalid;
        }
        assert_eq!(ids(&state), [1, 2]);
    }

    #[test]
    fn cover_reads_as_the_coverage_table_says() {
        assert_eq!(Cover::Own(CredentialStatus::Verified).label(), "own key");
        assert_eq!(
            Cover::Own(CredentialStatus::Invalid).label(),
            "own key (Invalid key — 401 Unauthorized)"
        );
        assert_eq!(Cover::Default.label(), "default key");
        assert_eq!(Cover::NotCovered.label(), "not covered");
        let json = serde_json::to_string(&Cover::Own(CredentialStatus::Verified)).expect("json");
        assert_eq!(json, r#"{"kind":"own","status":"verified"}"#);
    }
}

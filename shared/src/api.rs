//! The JSON the client and the server exchange: request bodies, responses and the one error envelope.
//!
//! Request bodies carry raw strings, exactly as typed. Each has a `parse` into checked domain types that
//! collects *every* field error, so the client can mark all bad fields at once and the server answers a
//! bad body with all of them in one [`ApiError`].

use crate::email::Email;
use crate::user::Role;
use serde::{Deserialize, Serialize};

/// The paths of the API, so the client and the server cannot disagree on one.
pub mod paths {
    pub const SESSION: &str = "/api/session";
    pub const ME: &str = "/api/me";
    /// `GET` the page, `POST` a new credential.
    pub const CREDENTIALS: &str = "/api/credentials";

    /// `PUT` (edit) or `DELETE` one credential.
    pub fn credential(id: i64) -> String {
        format!("{CREDENTIALS}/{id}")
    }

    /// `POST` a sale / an adjustment recorded by the signed-in user; `GET` their reports.
    pub const SALES: &str = "/api/sales";
    pub const ADJUSTMENTS: &str = "/api/adjustments";
    pub const REPORTS: &str = "/api/reports";

    /// `POST` the password chosen through a one-time set-up or reset link.
    pub const PASSWORD_SETUP: &str = "/api/password-setup";
    /// `PUT`: the signed-in user changes their password (every other session of theirs ends).
    pub const MY_PASSWORD: &str = "/api/me/password";
    /// `DELETE`: "Sign out everywhere" — every session of the signed-in user, this one included.
    pub const MY_SESSIONS: &str = "/api/me/sessions";

    /// Admins only: `GET` the organization's licenses, `POST` a new one; `PUT /{id}` changes one.
    pub const ADMIN_LICENSES: &str = "/api/admin/licenses";
    /// Admins only: `GET` the users, `POST` a new one; `PUT /{id}` changes one, `POST /{id}/setup-link`.
    pub const ADMIN_USERS: &str = "/api/admin/users";
    /// Admins only: `GET ?page=&fallback=`.
    pub const ADMIN_COVERAGE: &str = "/api/admin/coverage";
    /// Admins only: `GET ?user=&license=&before=`.
    pub const ADMIN_AUDIT: &str = "/api/admin/audit";
    /// Admins only: `GET`; `PUT`/`DELETE /{state}/default-key`.
    pub const ADMIN_INTEGRATION: &str = "/api/admin/integration";

    /// Admins only: `GET` the reports not sent; `POST /{id}/resend`, `/{id}/resend-default`, `/{id}/dismiss`.
    pub const ADMIN_COMPLIANCE: &str = "/api/admin/compliance";
    /// Admins only: the CSV downloads (`?license=&status=` and `?user=&license=`, the pages' filters).
    pub const ADMIN_COMPLIANCE_CSV: &str = "/api/admin/compliance.csv";
    pub const ADMIN_AUDIT_CSV: &str = "/api/admin/audit.csv";
    pub const ADMIN_COVERAGE_CSV: &str = "/api/admin/coverage.csv";
    /// The accountability rate, its chart and who falls back (`?days=7|30|90&license=`).
    pub const ADMIN_ACCOUNTABILITY: &str = "/api/admin/accountability";
    /// The signed-in user's problems with their keys (the banner).
    pub const MY_ALERTS: &str = "/api/me/alerts";

    pub fn compliance_action(id: i64, action: &str) -> String {
        format!("{ADMIN_COMPLIANCE}/{id}/{action}")
    }

    pub fn admin_license(id: i64) -> String {
        format!("{ADMIN_LICENSES}/{id}")
    }

    pub fn admin_user(id: i64) -> String {
        format!("{ADMIN_USERS}/{id}")
    }

    pub fn admin_setup_link(id: i64) -> String {
        format!("{ADMIN_USERS}/{id}/setup-link")
    }

    /// `POST`: a one-time password reset link for a user who has a password.
    pub fn admin_reset_link(id: i64) -> String {
        format!("{ADMIN_USERS}/{id}/reset-link")
    }

    pub fn default_key(state: crate::StateCode) -> String {
        format!("{ADMIN_INTEGRATION}/{}/default-key", state.code())
    }
}

/// Every API error has this shape, whatever went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    /// A sentence for the user that says what happened and what to do next.
    pub message: String,
    /// Per-field problems of a request body, keyed by the field's JSON name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// A validation error carrying every field error found.
    pub fn invalid_fields(fields: Vec<FieldError>) -> Self {
        ApiError {
            code: ErrorCode::Validation,
            message: "Some fields need attention.".to_owned(),
            fields,
        }
    }

    /// The message for one field, if the server rejected it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == name)
            .map(|f| f.message.as_str())
    }
}

/// What kind of error it is; stable, for programs (the message is for people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON of the expected shape.
    BadRequest,
    /// The body is well-formed but some fields are not acceptable; see `fields`.
    Validation,
    /// No session, or it expired.
    Unauthenticated,
    /// Sign-in failed: wrong email or password (never says which), or the account is not active.
    InvalidCredentials,
    /// Signed in, but not allowed to do this.
    Forbidden,
    /// A cross-site request to change something was refused.
    CsrfRejected,
    NotFound,
    MethodNotAllowed,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// Too many attempts; try again later.
    RateLimited,
    /// The server took too long.
    Timeout,
    /// Something failed on our side; details are in the server's log, not here.
    Internal,
    /// METRC refused the METRC user API key.
    MetrcKeyInvalid,
    /// The METRC key does not reach some of the selected licenses (named in the message).
    LicensesNotAssociated,
    /// METRC could not be reached, timed out, rate-limited us or answered nonsense.
    MetrcUnavailable,
    /// The METRC key is another person's (or the organization's default key).
    KeyBelongsToAnother,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl ToString) -> Self {
        FieldError {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }
}

/// The most a password may be: bounds the hashing work one request can cause.
pub const MAX_PASSWORD_LEN: usize = 1024;

/// `POST /api/session`: sign in.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
}

impl std::fmt::Debug for SignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInRequest")
            .field("email", &self.email)
            .field("password", &crate::redacted(&self.password))
            .finish()
    }
}

/// A sign-in request whose fields passed the shared rules. Its `Debug` never shows the password.
pub struct SignIn {
    pub email: Email,
    pub password: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("email", &self.email)
            .field("password", &crate::redacted(&self.password))
            .finish()
    }
}

impl SignInRequest {
    pub fn parse(&self) -> Result<SignIn, Vec<FieldError>> {
        let email = Email::parse(&self.email).map_err(|e| FieldError::new("email", e));
        let password = if self.password.is_empty() {
            Err(FieldError::new("password", "Enter your password."))
        } else if self.password.chars().count() > MAX_PASSWORD_LEN {
            Err(FieldError::new(
                "password",
                format!("A password has at most {MAX_PASSWORD_LEN} characters."),
            ))
        } else {
            Ok(self.password.clone())
        };
        match (email, password) {
            (Ok(email), Ok(password)) => Ok(SignIn { email, password }),
            (email, password) => Err([email.err(), password.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }
}

/// `PUT /api/me/password`: the current password and the new one, twice. Its `Debug` shows none of them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangePasswordRequest {
    pub current: String,
    pub password: String,
    pub confirm: String,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePasswordRequest")
            .field("current", &crate::redacted(&self.current))
            .field("password", &crate::redacted(&self.password))
            .field("confirm", &crate::redacted(&self.confirm))
            .finish()
    }
}

impl ChangePasswordRequest {
    /// The new password, if the current one is given and the new one meets the rules and differs from it.
    pub fn parse(&self) -> Result<&str, Vec<FieldError>> {
        let mut errors = Vec::new();
        if self.current.is_empty() {
            errors.push(FieldError::new("current", "Enter your current password."));
        } else if self.current.chars().count() > MAX_PASSWORD_LEN {
            errors.push(FieldError::new(
                "current",
                format!("A password has at most {MAX_PASSWORD_LEN} characters."),
            ));
        }
        errors.extend(crate::admin::new_password_errors(
            &self.password,
            &self.confirm,
        ));
        if errors.is_empty() && self.password == self.current {
            errors.push(FieldError::new(
                "password",
                "Choose a password different from your current one.",
            ));
        }
        if errors.is_empty() {
            Ok(&self.password)
        } else {
            Err(errors)
        }
    }
}

/// `GET /api/me` (and the answer to a successful sign-in): who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: UserView,
    pub organization: OrganizationView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub initials: String,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationView {
    pub id: i64,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sign_in_with_two_bad_fields_reports_both() {
        let errors = SignInRequest {
            email: "nope".into(),
            password: String::new(),
        }
        .parse()
        .expect_err("both fields are bad");
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password"]);
    }

    #[test]
    fn a_good_sign_in_keeps_the_password_exactly() {
        let ok = SignInRequest {
            email: " Staff@Demo.test".into(),
            password: " spaced password ".into(),
        }
        .parse()
        .expect("valid");
        assert_eq!(ok.email.as_str(), "staff@demo.test");
        assert_eq!(ok.password, " spaced password ");
    }

    #[test]
    fn a_password_change_names_each_problem_and_never_shows_a_password() {
        let request = |current: &str, password: &str, confirm: &str| ChangePasswordRequest {
            current: current.into(),
            password: password.into(),
            confirm: confirm.into(),
        };
        let fields = |r: ChangePasswordRequest| -> Vec<String> {
            r.parse()
                .expect_err("refused")
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(request("", "short", "other")),
            ["current", "password", "confirm"]
        );
        assert_eq!(
            fields(request(
                "same password 1",
                "same password 1",
                "same password 1"
            )),
            ["password"]
        );
        let good = request("old password 1", "new password 22", "new password 22");
        assert_eq!(good.parse(), Ok("new password 22"));
        let shown = format!("{good:?}");
        assert!(
            !shown.contains("password 1") && !shown.contains("password 22"),
            "{shown}"
        );
    }

    #[test]
    fn the_envelope_leaves_out_empty_fields_and_reads_back() {
        let e = ApiError::new(ErrorCode::NotFound, "No such page.");
        let json = serde_json::to_string(&e).expect("serialises");
        assert_eq!(json, r#"{"code":"not_found","message":"No such page."}"#);
        assert_eq!(serde_json::from_str::<ApiError>(&json).ok(), Some(e));
    }
}

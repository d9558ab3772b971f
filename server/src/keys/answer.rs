//! What the person who offered a key is told: METRC's verdict on it, or why it cannot be stored. One
//! mapping for a person's credential and for the organization's default key; only the closing words
//! differ ("Nothing was saved." / "The default key was not changed.").

use super::KeyClass;
use crate::error::AppError;
use axum::http::StatusCode;
use metrc::{KeyCheck, MetrcError};
use shared::api::ErrorCode;
use shared::credential::messages;
use shared::{LicenseNumber, StateCode};

/// The kind of key being saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// A person's own key, on their credential.
    Credential,
    /// The organization's default key for a state.
    DefaultKey,
}

/// A refusal: what the audit record's result says, and the answer.
#[derive(Debug)]
pub struct Refusal {
    pub result: &'static str,
    /// For a key someone else holds: whose kind of key it is (for the audit record, never whose key).
    pub class: Option<KeyClass>,
    pub error: AppError,
}

impl Refusal {
    /// What the audit record adds to its detail: whose kind of key it was, when that was the reason.
    pub fn detail(&self) -> String {
        self.class
            .map(|c| format!("; it is {}", c.said()))
            .unwrap_or_default()
    }
}

/// METRC's answer about an offered key: the check when the key is valid and reaches every license asked
/// about, otherwise the refusal. An outage is never reported as a bad key.
pub fn verdict(
    offered: Offered,
    state: StateCode,
    outcome: Result<KeyCheck, MetrcError>,
) -> Result<KeyCheck, Refusal> {
    match outcome {
        Ok(check) if check.missing.is_empty() => Ok(check),
        Ok(check) => {
            let missing: Vec<&str> = check.missing.iter().map(LicenseNumber::as_str).collect();
            Err(Refusal {
                class: None,
                result: "licenses_not_associated",
                error: AppError::Rejected(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::LicensesNotAssociated,
                    messages::not_associated(&missing),
                ),
            })
        }
        Err(MetrcError::InvalidKey) => Err(Refusal {
            class: None,
            result: "key_invalid",
            error: AppError::Rejected(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::MetrcKeyInvalid,
                match offered {
                    Offered::Credential => messages::key_invalid(state),
                    Offered::DefaultKey => shared::admin::messages::default_key_invalid(state),
                },
            ),
        }),
        Err(MetrcError::NotConfigured(state)) => {
            tracing::error!(state = state.code(), "no METRC vendor key configured");
            Err(Refusal {
                class: None,
                result: "metrc_not_configured",
                error: AppError::Rejected(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::MetrcUnavailable,
                    format!(
                        "This server is not set up to reach METRC in {}: its operator must add a METRC vendor key for the state. {}",
                        state.name(),
                        unchanged(offered)
                    ),
                ),
            })
        }
        Err(other) => {
            tracing::warn!(error = %other, ?offered, "METRC could not be reached for a key check");
            Err(Refusal {
                class: None,
                result: "metrc_unavailable",
                error: AppError::Rejected(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::MetrcUnavailable,
                    match offered {
                        Offered::Credential => messages::UNREACHABLE.to_owned(),
                        Offered::DefaultKey => format!(
                            "METRC could not be reached. {} Please try again.",
                            unchanged(offered)
                        ),
                    },
                ),
            })
        }
    }
}

fn unchanged(offered: Offered) -> &'static str {
    match offered {
        Offered::Credential => "Nothing was saved.",
        Offered::DefaultKey => "The default key was not changed.",
    }
}

/// The offered key is already held by someone else (`class`): a person may not store another person's
/// key or the default key, and a person's key cannot become the default key.
pub fn someone_elses(offered: Offered, class: KeyClass) -> Refusal {
    let (result, message) = match offered {
        Offered::Credential => (
            match class {
                KeyClass::Person => "key_of_another_person",
                KeyClass::Organization => "key_is_default_key",
            },
            messages::BELONGS_TO_ANOTHER,
        ),
        Offered::DefaultKey => (
            "key_of_a_person",
            shared::admin::messages::DEFAULT_KEY_IS_PERSONAL,
        ),
    };
    Refusal {
        result,
        class: Some(class),
        error: AppError::Rejected(
            StatusCode::CONFLICT,
            ErrorCode::KeyBelongsToAnother,
            message.to_owned(),
        ),
    }
}

/// The user was deactivated before their save could be written (while METRC was checking the key).
pub fn deactivated() -> Refusal {
    Refusal {
        result: "account_deactivated",
        class: None,
        error: AppError::Rejected(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "Your account was deactivated while METRC was checking the key, so the key was not stored. Nothing was saved; ask your administrator if this is a mistake.".to_owned(),
        ),
    }
}

/// A stored key the server cannot open was needed (an edit that keeps it): the operator must act, and the
/// user can paste their key again meanwhile.
pub fn unreadable() -> AppError {
    AppError::Rejected(
        StatusCode::CONFLICT,
        ErrorCode::Conflict,
        "This server cannot read your stored key right now (an operator must act; it is not your mistake). Paste your METRC user API key again to save it anew. Nothing was saved.".to_owned(),
    )
}

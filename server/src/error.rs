//! The server's one error type for API handlers, and the one place errors become HTTP responses.
//!
//! Every API error leaves as a [`shared::api::ApiError`] envelope. Internal failures are logged here with
//! their cause and answered with a fixed sentence: nothing about our insides reaches the browser.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use shared::api::{ApiError, ErrorCode, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("request body rejected: {0}")]
    BadRequest(String),
    #[error("fields rejected")]
    Validation(Vec<FieldError>),
    #[error("not signed in")]
    Unauthenticated,
    #[error("sign-in refused")]
    InvalidCredentials(&'static str),
    #[error("rate limited")]
    RateLimited(String),
    /// Signed in, but not allowed (a staff member on an admin page).
    #[error("forbidden")]
    Forbidden(&'static str),
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    /// A refusal with its own status and code, e.g. METRC rejected the key.
    #[error("refused: {2}")]
    Rejected(StatusCode, ErrorCode, String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal: {0}")]
    Internal(String),
}

impl AppError {
    /// A database error as the answer: a lost race (uniqueness, SQLite busy, a PostgreSQL serialization
    /// failure) is a conflict the user can retry, said with `message`; anything else is internal.
    pub fn from_race(error: sqlx::Error, message: &str) -> AppError {
        if crate::db::is_lost_race(&error) {
            AppError::Conflict(message.to_owned())
        } else {
            AppError::Database(error)
        }
    }
}

/// The sentence every internal failure answers with.
pub const INTERNAL_MESSAGE: &str =
    "Something went wrong on our side. Nothing was changed; please try again in a moment.";

impl AppError {
    fn status_and_body(&self) -> (StatusCode, ApiError) {
        use AppError::*;
        match self {
            BadRequest(detail) => (
                StatusCode::BAD_REQUEST,
                ApiError::new(ErrorCode::BadRequest, detail.clone()),
            ),
            Validation(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ApiError::invalid_fields(fields.clone()),
            ),
            Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                ApiError::new(
                    ErrorCode::Unauthenticated,
                    "You are signed out. Sign in to continue.",
                ),
            ),
            InvalidCredentials(message) => (
                StatusCode::UNAUTHORIZED,
                ApiError::new(ErrorCode::InvalidCredentials, *message),
            ),
            RateLimited(message) => (
                StatusCode::TOO_MANY_REQUESTS,
                ApiError::new(ErrorCode::RateLimited, message.clone()),
            ),
            Forbidden(message) => (
                StatusCode::FORBIDDEN,
                ApiError::new(ErrorCode::Forbidden, *message),
            ),
            NotFound => (StatusCode::NOT_FOUND, not_found()),
            Conflict(message) => (
                StatusCode::CONFLICT,
                ApiError::new(ErrorCode::Conflict, message.clone()),
            ),
            Rejected(status, code, message) => (*status, ApiError::new(*code, message.clone())),
            PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, payload_too_large()),
            UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "Send the request body as JSON with Content-Type: application/json.",
                ),
            ),
            Database(_) | Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ApiError::new(ErrorCode::Internal, INTERNAL_MESSAGE),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            // The cause goes to the log (with the request id from the surrounding span), never to the user.
            tracing::error!(error = %self, "request failed");
        }
        envelope(status, &body)
    }
}

/// An envelope response with `Cache-Control: no-store` (API answers are never cached).
pub fn envelope(status: StatusCode, body: &ApiError) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

pub fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "There is nothing at this address.")
}

pub fn payload_too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        "The request is too large. Shorten what you entered and try again.",
    )
}

/// `axum::Json`, but a body it cannot read is answered with the envelope.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match <axum::Json<T> as FromRequest<S>>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
                StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType,
                _ => AppError::BadRequest(describe_json_rejection(&rejection)),
            }),
        }
    }
}

/// An optional body: none when the request has no `Content-Type`; otherwise read like [`ApiJson`].
impl<T, S> OptionalFromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if !req.headers().contains_key(header::CONTENT_TYPE) {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// A sentence about a malformed body. Only serde's "missing field" text is passed on: its other
/// messages can quote the offending value, and a body may hold a password or a METRC key.
fn describe_json_rejection(rejection: &JsonRejection) -> String {
    match rejection {
        JsonRejection::JsonDataError(e) => {
            let detail = std::error::Error::source(e)
                .map(ToString::to_string)
                .unwrap_or_default();
            match detail.strip_prefix("missing field ") {
                Some(rest) => {
                    let field = rest.split(" at line").next().unwrap_or(rest);
                    format!("The request body lacks the field {field}.")
                }
                None => "The request body does not have the expected fields and types.".to_owned(),
            }
        }
        JsonRejection::JsonSyntaxError(_) => "The request body is not valid JSON.".to_owned(),
        _ => "The request body could not be read.".to_owned(),
    }
}

//! Calls to our server. Every failure comes back as the shared [`ApiError`] envelope, including the
//! ones that never reached the server, so the UI has one shape to show.
//!
//! JSON is parsed and written by the browser (`Response.json()`, `JSON.stringify`): the same serde types
//! as the server uses, without a JSON parser in the WebAssembly (serde_json's costs about 9 KB of the
//! compressed download). Answers are read by [`crate::js_json`], bodies written by serde-wasm-bindgen. The one asynchronous
//! function, [`call`], is not generic: only the conversions to and from Rust types are, so each API
//! type adds a conversion and not another copy of the request's state machine.

pub use gloo_net::http::Method;
use leptos::wasm_bindgen::JsValue;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::{ApiError, ErrorCode, Me, SignInRequest, paths};
use shared::credential::{CredentialRequest, CredentialsPage, SavedCredential};

fn unreachable_server() -> ApiError {
    ApiError::new(
        ErrorCode::Timeout,
        "The server could not be reached. Check the connection and try again.",
    )
}

pub(crate) fn unreadable_answer() -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        "The server's answer could not be read. Reload the page and try again.",
    )
}

fn unsendable() -> ApiError {
    ApiError::new(ErrorCode::BadRequest, "The form could not be sent.")
}

/// A request body as the browser's JSON text.
pub(crate) fn body(value: &impl Serialize) -> Result<String, ApiError> {
    let value = serde_wasm_bindgen::to_value(value).map_err(|_| unsendable())?;
    js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(unsendable)
}

/// Sends a request through gloo-net and returns the parsed JSON of a success (`undefined` when it has
/// no body), or the error envelope (or a stand-in when the answer is not one). The JSON is parsed by the
/// browser (`Response.json()` on the raw response), not by gloo-net's serde_json path.
pub(crate) async fn call(
    method: Method,
    url: &str,
    body: Option<String>,
) -> Result<JsValue, ApiError> {
    let builder = gloo_net::http::RequestBuilder::new(url).method(method);
    let request = match body {
        Some(text) => builder
            .header("content-type", "application/json")
            .body(text),
        None => builder.build(),
    }
    .map_err(|_| unsendable())?;
    let response = web_sys::Response::from(request.send().await.map_err(|_| unreachable_server())?);
    let status = response.status();
    let parsed = if status == 204 {
        Some(JsValue::UNDEFINED)
    } else {
        match response.json() {
            Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.ok(),
            Err(_) => None,
        }
    };
    if (200..300).contains(&status) {
        return parsed.ok_or_else(unreadable_answer);
    }
    Err(parsed
        .and_then(crate::js_json::from_js::<ApiError>)
        .unwrap_or_else(|| {
            ApiError::new(
                ErrorCode::Internal,
                format!("The server answered with an error ({status}). Try again in a moment."),
            )
        }))
}

/// A success body as `T`.
pub(crate) fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T, ApiError> {
    crate::js_json::from_js(value).ok_or_else(unreadable_answer)
}

/// Who is signed in (an `Unauthenticated` error when nobody is).
pub async fn me() -> Result<Me, ApiError> {
    decode(call(Method::GET, paths::ME, None).await?)
}

pub async fn sign_in(request: &SignInRequest) -> Result<Me, ApiError> {
    let body = body(request)?;
    decode(call(Method::POST, paths::SESSION, Some(body)).await?)
}

pub async fn sign_out() -> Result<(), ApiError> {
    call(Method::DELETE, paths::SESSION, None).await.map(drop)
}

/// The user's problems with their keys (the banner).
pub async fn alerts() -> Result<shared::credential::Alerts, ApiError> {
    decode(call(Method::GET, paths::MY_ALERTS, None).await?)
}

/// The user's credentials and the organization's licenses.
pub async fn credentials() -> Result<CredentialsPage, ApiError> {
    decode(call(Method::GET, paths::CREDENTIALS, None).await?)
}

/// Verify & Save: a new credential (`id = None`) or an edit.
pub async fn save_credential(
    id: Option<i64>,
    request: &CredentialRequest,
) -> Result<SavedCredential, ApiError> {
    let body = Some(body(request)?);
    decode(match id {
        None => call(Method::POST, paths::CREDENTIALS, body).await?,
        Some(id) => call(Method::PUT, &paths::credential(id), body).await?,
    })
}

pub async fn delete_credential(id: i64) -> Result<(), ApiError> {
    call(Method::DELETE, &paths::credential(id), None)
        .await
        .map(drop)
}

//! Calls to our server. Every failure comes back as the shared [`ApiError`] envelope, including the
//! ones that never reached the server, so the UI has one shape to show.
//!
//! JSON is parsed and written by the browser (`Response.json()`, `JSON.stringify`) and converted with
//! serde-wasm-bindgen: the same serde types as the server uses, without a JSON parser in the
//! WebAssembly (serde_json's costs about 9 KB of the compressed download). The one asynchronous
//! function, [`call`], is not generic: only the conversions to and from Rust types are, so each API
//! type adds a conversion and not another copy of the request's state machine.

use gloo_net::http::{Request, RequestBuilder};
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

fn unreadable_answer() -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        "The server's answer could not be read. Reload the page and try again.",
    )
}

fn unsendable() -> ApiError {
    ApiError::new(ErrorCode::BadRequest, "The form could not be sent.")
}

/// A request body as the browser's JSON text.
fn body(value: &impl Serialize) -> Result<String, ApiError> {
    let value = serde_wasm_bindgen::to_value(value).map_err(|_| unsendable())?;
    js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(unsendable)
}

/// Sends a request and returns the parsed JSON of a success (`undefined` when it has no body), or the
/// error envelope (or a stand-in when the answer is not one).
async fn call(request: RequestBuilder, body: Option<String>) -> Result<JsValue, ApiError> {
    let response = match body {
        Some(text) => {
            request
                .header("content-type", "application/json")
                .body(text)
                .map_err(|_| unsendable())?
                .send()
                .await
        }
        None => request.send().await,
    }
    .map_err(|_| unreachable_server())?;
    let status = response.status();
    let parsed = if status == 204 {
        Some(JsValue::UNDEFINED)
    } else {
        match web_sys::Response::from(response).json() {
            Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise).await.ok(),
            Err(_) => None,
        }
    };
    if (200..300).contains(&status) {
        return parsed.ok_or_else(unreadable_answer);
    }
    Err(parsed
        .and_then(|v| serde_wasm_bindgen::from_value::<ApiError>(v).ok())
        .unwrap_or_else(|| {
            ApiError::new(
                ErrorCode::Internal,
                format!("The server answered with an error ({status}). Try again in a moment."),
            )
        }))
}

/// A success body as `T`.
fn decode<T: DeserializeOwned>(value: JsValue) -> Result<T, ApiError> {
    serde_wasm_bindgen::from_value(value).map_err(|_| unreadable_answer())
}

/// Who is signed in (an `Unauthenticated` error when nobody is).
pub async fn me() -> Result<Me, ApiError> {
    decode(call(Request::get(paths::ME), None).await?)
}

pub async fn sign_in(request: &SignInRequest) -> Result<Me, ApiError> {
    let body = body(request)?;
    decode(call(Request::post(paths::SESSION), Some(body)).await?)
}

pub async fn sign_out() -> Result<(), ApiError> {
    call(Request::delete(paths::SESSION), None).await.map(drop)
}

/// The user's credentials and the organization's licenses.
pub async fn credentials() -> Result<CredentialsPage, ApiError> {
    decode(call(Request::get(paths::CREDENTIALS), None).await?)
}

/// Verify & Save: a new credential (`id = None`) or an edit.
pub async fn save_credential(
    id: Option<i64>,
    request: &CredentialRequest,
) -> Result<SavedCredential, ApiError> {
    let builder = match id {
        None => Request::post(paths::CREDENTIALS),
        Some(id) => Request::put(&paths::credential(id)),
    };
    decode(call(builder, Some(body(request)?)).await?)
}

pub async fn delete_credential(id: i64) -> Result<(), ApiError> {
    call(Request::delete(&paths::credential(id)), None)
        .await
        .map(drop)
}

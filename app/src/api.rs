//! Calls to our server. Every failure comes back as the shared [`ApiError`] envelope, including the
//! ones that never reached the server, so the UI has one shape to show.
//!
//! JSON is parsed and written by the browser (`Response.json()`, `JSON.stringify`) and converted with
//! serde-wasm-bindgen: the same serde types as the server uses, without a JSON parser in the
//! WebAssembly (serde_json's costs about 9 KB of the compressed download).

use gloo_net::http::{Request, RequestBuilder, Response};
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

async fn send(request: RequestBuilder) -> Result<Response, ApiError> {
    request.send().await.map_err(|_| unreachable_server())
}

async fn send_json(request: RequestBuilder, body: &impl Serialize) -> Result<Response, ApiError> {
    let unsendable = || ApiError::new(ErrorCode::BadRequest, "The form could not be sent.");
    let value = serde_wasm_bindgen::to_value(body).map_err(|_| unsendable())?;
    let text = js_sys::JSON::stringify(&value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(unsendable)?;
    request
        .header("content-type", "application/json")
        .body(text)
        .map_err(|_| unsendable())?
        .send()
        .await
        .map_err(|_| unreachable_server())
}

/// The body of a response as `T`.
async fn json<T: DeserializeOwned>(response: Response) -> Option<T> {
    let promise = web_sys::Response::from(response).json().ok()?;
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    serde_wasm_bindgen::from_value(value).ok()
}

/// A success body as `T`, or the error envelope (or a stand-in when the body is not one).
async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if response.ok() {
        return json(response).await.ok_or_else(unreadable_answer);
    }
    Err(error_of(response).await)
}

async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    json::<ApiError>(response).await.unwrap_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            format!("The server answered with an error ({status}). Try again in a moment."),
        )
    })
}

/// Who is signed in (an `Unauthenticated` error when nobody is).
pub async fn me() -> Result<Me, ApiError> {
    decode(send(Request::get(paths::ME)).await?).await
}

pub async fn sign_in(request: &SignInRequest) -> Result<Me, ApiError> {
    decode(send_json(Request::post(paths::SESSION), request).await?).await
}

pub async fn sign_out() -> Result<(), ApiError> {
    no_content(send(Request::delete(paths::SESSION)).await?).await
}

/// A success without a body, or the error envelope.
async fn no_content(response: Response) -> Result<(), ApiError> {
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

/// The user's credentials and the organization's licenses.
pub async fn credentials() -> Result<CredentialsPage, ApiError> {
    decode(send(Request::get(paths::CREDENTIALS)).await?).await
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
    decode(send_json(builder, request).await?).await
}

pub async fn delete_credential(id: i64) -> Result<(), ApiError> {
    no_content(send(Request::delete(&paths::credential(id))).await?).await
}

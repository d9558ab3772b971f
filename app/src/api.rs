//! Calls to our server. Every failure comes back as the shared [`ApiError`] envelope, including the
//! ones that never reached the server, so the UI has one shape to show.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::{ApiError, ErrorCode, Me, SignInRequest, paths};

fn unreachable_server() -> ApiError {
    ApiError::new(
        ErrorCode::Timeout,
        "The server could not be reached. Check the connection and try again.",
    )
}

async fn send(request: RequestBuilder) -> Result<Response, ApiError> {
    request.send().await.map_err(|_| unreachable_server())
}

async fn send_json(request: RequestBuilder, body: &impl Serialize) -> Result<Response, ApiError> {
    request
        .json(body)
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "The form could not be sent."))?
        .send()
        .await
        .map_err(|_| unreachable_server())
}

/// A success body as `T`, or the error envelope (or a stand-in when the body is not one).
async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if response.ok() {
        return response.json::<T>().await.map_err(|_| {
            ApiError::new(
                ErrorCode::Internal,
                "The server's answer could not be read. Reload the page and try again.",
            )
        });
    }
    Err(error_of(response).await)
}

async fn error_of(response: Response) -> ApiError {
    let status = response.status();
    response.json::<ApiError>().await.unwrap_or_else(|_| {
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
    let response = send(Request::delete(paths::SESSION)).await?;
    if response.ok() {
        Ok(())
    } else {
        Err(error_of(response).await)
    }
}

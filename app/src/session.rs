//! Who is signed in, shared with every component through context.

use leptos::prelude::*;
use shared::api::{ErrorCode, Me};

/// The client's view of the session.
#[derive(Debug, Clone, PartialEq)]
pub enum Session {
    /// The first `GET /api/me` has not answered yet.
    Checking,
    SignedOut,
    SignedIn(Me),
}

#[derive(Debug, Clone, Copy)]
pub struct SessionContext(pub RwSignal<Session>);

/// Provides the session and asks the server who is signed in.
pub fn provide_session() {
    let session = RwSignal::new(Session::Checking);
    provide_context(SessionContext(session));
    let toasts = crate::components::toasts::use_toasts();
    leptos::task::spawn_local(async move {
        let next = match crate::api::me().await {
            Ok(me) => Session::SignedIn(me),
            Err(e) => {
                if e.code != ErrorCode::Unauthenticated {
                    toasts.error(e.message);
                }
                Session::SignedOut
            }
        };
        session.set(next);
    });
}

pub fn use_session() -> RwSignal<Session> {
    expect_context::<SessionContext>().0
}

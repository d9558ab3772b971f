//! The Traceability Credentials client: a Leptos application rendered in the browser.
//!
//! DOM-free logic (where a sign-in returns to, the notification queue) lives in plain modules that
//! `cargo test` runs on the host; components hold only what needs the browser.

pub mod admin;
pub mod api;
pub mod components;
pub mod js_json;
pub mod nav;
pub mod pages;
pub mod router;
pub mod session;

use components::shell::Shell;
use components::toasts::{Toasts, provide_toasts};
use leptos::either::EitherOf3;
use leptos::prelude::*;
use pages::account::ManageAccount;
use pages::credentials::TraceabilityCredentials;
use pages::not_found::NotFound;
use pages::sign_in::SignInPage;

/// The whole application: router, session and notifications provided once, then the page for the
/// current address.
#[component]
pub fn App() -> impl IntoView {
    router::provide_router(|path| !nav::is_admin_path(path));
    provide_toasts();
    session::provide_session();
    let router = router::use_router();
    view! {
        {move || match router.path().as_str() {
            nav::SIGN_IN => EitherOf3::A(view! { <SignInPage/> }),
            nav::HOME => EitherOf3::B(view! {
                <Shell>
                    <ManageAccount>
                        <TraceabilityCredentials/>
                    </ManageAccount>
                </Shell>
            }),
            _ => EitherOf3::C(view! { <NotFound/> }),
        }}
        <Toasts/>
    }
}

/// Sends a panic's message and location to the browser console (std's default hook writes to a stderr
/// the browser does not have). Smaller than console_error_panic_hook, which adds a JS stack.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
}

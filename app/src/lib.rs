//! The Traceability Credentials client: a Leptos application rendered in the browser.
//!
//! DOM-free logic (where a sign-in returns to, the notification queue) lives in plain modules that
//! `cargo test` runs on the host; components hold only what needs the browser.

pub mod api;
pub mod components;
pub mod nav;
pub mod pages;
pub mod session;

use components::shell::Shell;
use components::toasts::{Toasts, provide_toasts};
use leptos::prelude::*;
use leptos_router::components::{FlatRoutes, Redirect, Route, Router};
use leptos_router::path;
use pages::account::{ManageAccount, TraceabilityCredentials};
use pages::not_found::NotFound;
use pages::sign_in::SignInPage;

/// The whole application: session and notifications provided once, then the routes.
#[component]
pub fn App() -> impl IntoView {
    provide_toasts();
    session::provide_session();
    view! {
        <Router>
            // Flat routes, each page composing its own frame: lighter in the WebAssembly than nested routes.
            <FlatRoutes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/sign-in") view=SignInPage/>
                <Route path=path!("/") view=|| view! { <Redirect path=nav::HOME/> }/>
                <Route path=path!("/account") view=|| view! { <Redirect path=nav::HOME/> }/>
                <Route
                    path=path!("/account/traceability-credentials")
                    view=|| view! {
                        <Shell>
                            <ManageAccount>
                                <TraceabilityCredentials/>
                            </ManageAccount>
                        </Shell>
                    }
                />
            </FlatRoutes>
        </Router>
        <Toasts/>
    }
}

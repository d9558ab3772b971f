//! The sign-in page: "Email", "Password", "Sign in".

use crate::components::field::{TextField, error_for};
use crate::components::toasts::use_toasts;
use crate::nav;
use crate::router::use_router;
use crate::session::{Session, use_session};
use leptos::prelude::*;
use shared::api::{FieldError, SignInRequest};

#[component]
pub fn SignInPage() -> impl IntoView {
    let session = use_session();
    let toasts = use_toasts();
    let router = use_router();
    let next = move || nav::safe_next(router.query("next").as_deref()).to_owned();

    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);

    // Someone already signed in goes straight on.
    Effect::new(move |_| {
        if matches!(session.get(), Session::SignedIn(_)) {
            // Untracked: navigating changes the query this reads.
            router.navigate(&untrack(next), true);
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let request = SignInRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
        };
        // The shared rules first: a bad field is marked at once, without a round trip.
        if let Err(found) = request.parse() {
            errors.set(found);
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        leptos::task::spawn_local(async move {
            match crate::api::sign_in(&request).await {
                Ok(me) => {
                    // A new sign-in shows again every problem that lasts.
                    crate::components::key_alerts::forget_dismissed();
                    session.set(Session::SignedIn(me));
                }
                Err(e) => {
                    errors.set(e.fields.clone());
                    toasts.error(e.message);
                }
            }
            busy.set(false);
        });
    };

    view! {
        <main class="sign-in">
            <form class="card" on:submit=submit novalidate>
                <h1>"Sign in"</h1>
                <p class="muted">"Traceability Credentials"</p>
                <TextField
                    id="email"
                    label="Email"
                    input_type="email"
                    autocomplete="username"
                    value=email
                    error=error_for(errors, "email")
                />
                <TextField
                    id="password"
                    label="Password"
                    input_type="password"
                    autocomplete="current-password"
                    value=password
                    error=error_for(errors, "password")
                />
                <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="hint">"Forgot your password? Ask your organization's administrator for a password reset link."</p>
            </form>
        </main>
    }
}

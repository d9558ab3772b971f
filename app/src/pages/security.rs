//! Manage account > "Password & sessions": change one's password (the current one required; every other
//! session ends) and "Sign out everywhere". A page of the admin bundle, so the credentials page's download
//! does not grow; the side menu links the two with page loads.

use crate::components::field::{TextField, error_for};
use crate::components::toasts::use_toasts;
use crate::nav;
use crate::router::use_router;
use crate::session::{Session, use_session};
use leptos::prelude::*;
use shared::admin::{MIN_PASSWORD_LEN, messages};
use shared::api::{ChangePasswordRequest, FieldError, paths};

#[component]
pub fn PasswordAndSessions() -> impl IntoView {
    view! {
        <h1>"Password & sessions"</h1>
        <ChangePassword/>
        <SignOutEverywhere/>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let toasts = use_toasts();
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = ChangePasswordRequest {
            current: current.get_untracked(),
            password: password.get_untracked(),
            confirm: confirm.get_untracked(),
        };
        let checked = request.parse().map(drop).map(|()| request);
        crate::admin::submit(busy, errors, toasts, checked, move |request| async move {
            let body = crate::api::body(&request)?;
            crate::api::call(crate::api::Method::PUT, paths::MY_PASSWORD, Some(body)).await?;
            for field in [current, password, confirm] {
                field.set(String::new());
            }
            toasts.success(messages::PASSWORD_CHANGED);
            Ok(())
        });
    };
    view! {
        <form class="card admin-form" on:submit=on_submit novalidate aria-labelledby="change-password-title">
            <h2 id="change-password-title">"Change password"</h2>
            <p class="muted">{format!("At least {MIN_PASSWORD_LEN} characters, and not a common one. You stay signed in here; everywhere else you are signed out. A wrong current password counts as a failed sign-in.")}</p>
            <TextField id="current" label="Current password" input_type="password" autocomplete="current-password" value=current error=error_for(errors, "current")/>
            <TextField id="password" label="New password" input_type="password" autocomplete="new-password" value=password error=error_for(errors, "password")/>
            <TextField id="confirm" label="Repeat the new password" input_type="password" autocomplete="new-password" value=confirm error=error_for(errors, "confirm")/>
            <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                {move || if busy.get() { "Saving…" } else { "Change password" }}
            </button>
        </form>
    }
}

#[component]
fn SignOutEverywhere() -> impl IntoView {
    let toasts = use_toasts();
    let session = use_session();
    let router = use_router();
    let busy = RwSignal::new(false);
    let on_click = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            match crate::api::call(crate::api::Method::DELETE, paths::MY_SESSIONS, None).await {
                Ok(_) => {
                    session.set(Session::SignedOut);
                    router.navigate(nav::SIGN_IN, true);
                }
                Err(e) => toasts.error(e.message),
            }
            busy.set(false);
        });
    };
    view! {
        <section class="card" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Sessions"</h2>
            <p class="muted">"Lost a device, or signed in on a shared register? This signs you out on every browser and device, this one included."</p>
            <button type="button" class="danger" on:click=on_click disabled=move || busy.get()>
                "Sign out everywhere"
            </button>
        </section>
    }
}

//! The page a new user's one-time link opens (`/set-password#{token}`): choose a password, then sign in.
//! The token stays in the fragment, which browsers never send to a server.

use crate::components::field::{TextField, error_for};
use crate::components::toasts::use_toasts;
use crate::nav;
use crate::router::use_router;
use leptos::prelude::*;
use shared::admin::{MIN_PASSWORD_LEN, SetPasswordRequest, messages};
use shared::api::{FieldError, paths};

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let toasts = use_toasts();
    let router = use_router();
    let token = window()
        .location()
        .hash()
        .unwrap_or_default()
        .trim_start_matches('#')
        .to_owned();
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let missing_token = token.is_empty();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = SetPasswordRequest {
            token: token.clone(),
            password: password.get_untracked(),
            confirm: confirm.get_untracked(),
        };
        let checked = request.parse().map(drop).map(|()| request);
        crate::admin::submit(busy, errors, toasts, checked, move |request| async move {
            let body = crate::api::body(&request)?;
            crate::api::call(crate::api::Method::POST, paths::PASSWORD_SETUP, Some(body)).await?;
            toasts.success(messages::PASSWORD_SET);
            router.navigate(nav::SIGN_IN, true);
            Ok(())
        });
    };
    view! {
        <main class="sign-in">
            <form class="card" on:submit=on_submit novalidate>
                <h1>"Choose your password"</h1>
                <p class="muted">{format!("At least {MIN_PASSWORD_LEN} characters. You sign in with your email and this password.")}</p>
                {missing_token.then(|| view! { <p class="load-error" role="alert">{messages::LINK_EXPIRED}</p> })}
                <TextField id="password" label="New password" input_type="password" autocomplete="new-password" value=password error=error_for(errors, "password")/>
                <TextField id="confirm" label="Repeat the password" input_type="password" autocomplete="new-password" value=confirm error=error_for(errors, "confirm")/>
                <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || if busy.get() { "Saving…" } else { "Set password" }}
                </button>
            </form>
        </main>
    }
}

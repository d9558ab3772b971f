//! Config Page > Integration > "Metrc API Key & State Tracking Licenses": per state, the organization's
//! default METRC key (masked; set or replace with "Verify & Save", remove with confirmation) and the
//! state's licenses, with those the default key does not cover listed.

use super::licenses::request_change;
use super::{Changes, Loaded, send, send_empty, submit};
use crate::components::confirm_dialog::ConfirmDialog;
use crate::components::field::error_for;
use crate::components::toasts::use_toasts;
use leptos::prelude::*;
use shared::admin::{
    DefaultKeyRequest, IntegrationPage, LicenseChangeRequest, LicensesAdminPage, StateIntegration,
    messages,
};
use shared::api::{FieldError, paths};

#[component]
pub fn ConfigPage() -> impl IntoView {
    let page = Loaded::<IntegrationPage>::fixed(paths::ADMIN_INTEGRATION);
    // The licenses as Organization Management has them: what a change of their tracked flag sends.
    let licenses = Loaded::<LicensesAdminPage>::fixed(paths::ADMIN_LICENSES);
    let reload = Callback::new(move |()| {
        page.reload();
        licenses.reload();
    });
    let changes = Changes::new(reload);
    view! {
        <h1>"Config Page"</h1>
        <nav class="tabs" aria-label="Config Page">
            <a href=crate::nav::CONFIG aria-current="page">"Integration"</a>
        </nav>
        <section aria-labelledby="integration-title">
            <h2 id="integration-title">"Metrc API Key & State Tracking Licenses"</h2>
            <p class="muted">"Sales and adjustments by users without their own credential for a license are reported with the state's default key: METRC then records them under the key holder's name."</p>
            {page.error_view()}
            <div class="state-cards">
                {move || page.data().map(|p| p.states.into_iter().map(|s| view! {
                    <StateCard state=s licenses changes on_change=reload/>
                }).collect_view())}
            </div>
            {changes.dialog("untrack-license", "Take this license out of use?", "Yes, continue")}
        </section>
    }
}

#[component]
fn StateCard(
    state: StateIntegration,
    licenses: Loaded<LicensesAdminPage>,
    changes: Changes<LicenseChangeRequest>,
    on_change: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let us = state.state;
    let label = format!("{} default key", us.name());
    let key = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let error = error_for(errors, "key");
    let busy = RwSignal::new(false);
    let confirm_open = RwSignal::new(false);
    let version = state.default_key.as_ref().map(|k| k.version);
    let input_id = format!("default-key-{}", us.code());
    let error_id = format!("{input_id}-error");
    let not_covered: Vec<String> = state
        .not_covered()
        .iter()
        .map(|l| format!("{} — {}", l.number, l.name))
        .collect();
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = DefaultKeyRequest {
            key: key.get_untracked(),
            version,
        };
        let checked = request.parse().map(|_| request);
        submit(busy, errors, toasts, checked, move |request| async move {
            let _: StateIntegration =
                send(crate::api::Method::PUT, &paths::default_key(us), &request).await?;
            toasts.success(messages::DEFAULT_KEY_SAVED);
            key.set(String::new());
            on_change.run(());
            Ok(())
        });
    };
    let remove = move |()| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            match send_empty(crate::api::Method::DELETE, &paths::default_key(us)).await {
                Ok(()) => {
                    toasts.success(messages::DEFAULT_KEY_REMOVED);
                    on_change.run(());
                }
                Err(e) => toasts.error(e.message),
            }
            busy.set(false);
            confirm_open.set(false);
        });
    };
    let has_key = state.default_key.is_some();
    view! {
        <section class="card state-card" aria-label=us.label()>
            <h3>{us.label()}</h3>
            <p>
                {match &state.default_key {
                    Some(k) => format!("Default key ••••{} — {}; set by {}", k.key_last_four, k.status.label(), k.updated_by),
                    None => "No default key.".to_owned(),
                }}
            </p>
            <form on:submit=save novalidate>
                <label for=input_id.clone()>{label}</label>
                <input id=input_id type="password" autocomplete="off" spellcheck="false"
                    on:input=move |e| key.set(event_target_value(&e).trim().to_owned())
                    prop:value=key
                    aria-invalid=move || error.read().is_some().to_string()
                    aria-describedby=error_id.clone()/>
                <p id=error_id class="field-error">{move || error.get()}</p>
                <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || if busy.get() { "Verifying with METRC…" } else { "Verify & Save" }}
                </button>
                {has_key.then(|| view! {
                    <button type="button" class="link danger" on:click=move |_| confirm_open.set(true)>"Remove default key"</button>
                })}
            </form>
            <h4>"Tracking licenses"</h4>
            <ul aria-label="Tracking licenses">
                {state.licenses.iter().map(|l| {
                    let id = l.id;
                    let text = format!("{} — {}{}{}", l.number, l.name,
                        if l.tracked { "" } else { " (not tracked)" },
                        if l.active { "" } else { " (inactive)" });
                    let tracked = l.tracked;
                    // The button is named by its text; the license it is next to describes it.
                    let item_id = format!("tracking-{}", l.id);
                    let toggle = move |_| {
                        let found = licenses
                            .data_untracked()
                            .and_then(|p| p.licenses.into_iter().find(|l| l.id == id));
                        if let Some(license) = found {
                            request_change(changes, &license, !tracked, license.active);
                        }
                    };
                    view! {
                        <li>
                            <span id=item_id.clone()>{text}</span>" "
                            <button type="button" class=if tracked { "link danger" } else { "link" } on:click=toggle aria-describedby=item_id.clone()>
                                {if tracked { "Stop tracking" } else { "Track" }}
                            </button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            {(!not_covered.is_empty()).then(|| view! {
                <div class="not-covered">
                    <h4>"Not covered by the default key"</h4>
                    <ul aria-label="Not covered by the default key">{not_covered.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                </div>
            })}
            <ConfirmDialog
                id=format!("remove-default-{}", us.code())
                open=confirm_open
                title="Remove the default key?"
                body=Signal::derive(move || format!("Sales and adjustments in {} by users without their own credential will be held until a credential or a new default key covers them.", us.name()))
                confirm_label="Yes, remove"
                busy=busy.into()
                on_confirm=Callback::new(remove)
            />
        </section>
    }
}

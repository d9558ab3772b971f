//! Manage account → "Traceability Credentials": the user's credentials, "+ Add Credential", and for
//! each credential its licenses, its key (masked), "Verify & Save" and a red "Delete".
//!
//! The form checks a draft with the shared rules against the page it shows before anything is sent;
//! the server checks again and asks METRC. On any failure the form keeps what the user typed.

use crate::components::confirm_dialog::ConfirmDialog;
use crate::components::field::error_for;
use crate::components::license_select::LicenseMultiSelect;
use crate::components::toasts::{ToastQueue, use_toasts};
use crate::router::focus_after_render;
use leptos::either::Either;
use leptos::prelude::*;
use shared::api::{ApiError, ErrorCode, FieldError};
use shared::credential::{
    CredentialRequest, CredentialView, CredentialsPage, LicenseOption, ReachedLicense,
    SavedCredential, messages,
};
use shared::{Provider, StateCode};

/// What the page's parts share: the data shown and the after-save facts.
#[derive(Debug, Clone, Copy)]
struct Credentials {
    data: RwSignal<Option<CredentialsPage>>,
    load_error: RwSignal<Option<String>>,
    adding: RwSignal<bool>,
    /// "This key also reaches: …" for the credential saved last.
    reached: RwSignal<Option<(i64, Vec<ReachedLicense>)>>,
    toasts: ToastQueue,
}

impl Credentials {
    fn reload(self) {
        leptos::task::spawn_local(async move {
            match crate::api::credentials().await {
                Ok(page) => {
                    let first = self.data.read_untracked().is_none();
                    self.data.set(Some(page));
                    self.load_error.set(None);
                    // Arrived by a link to one credential (the banner's "Update your key."): there.
                    if first
                        && let Ok(hash) = window().location().hash()
                        && let Some(id) = hash.strip_prefix('#').filter(|id| !id.is_empty())
                    {
                        focus_after_render(id.to_owned());
                    }
                }
                Err(e) => self.load_error.set(Some(e.message)),
            }
        });
    }

    /// Verify & Save; on success the page shows the saved credential. On failure nothing changes here
    /// but the notification, except that a conflict reloads the list (it is out of date).
    async fn save(self, editing: Option<i64>, request: CredentialRequest) -> Result<(), ApiError> {
        let outcome = crate::api::save_credential(editing, &request).await;
        self.saved(editing.is_none(), outcome)
    }

    /// Shows the outcome of a save (kept out of the `async fn`, whose state machine would copy it).
    fn saved(self, new: bool, outcome: Result<SavedCredential, ApiError>) -> Result<(), ApiError> {
        match outcome {
            Ok(saved) => {
                let credential = saved.credential;
                let id = credential.id;
                self.data.update(|page| {
                    if let Some(page) = page {
                        match page.credentials.iter_mut().find(|c| c.id == id) {
                            Some(existing) => *existing = credential,
                            None => page.credentials.push(credential),
                        }
                    }
                });
                self.reached
                    .set((!saved.also_reaches.is_empty()).then_some((id, saved.also_reaches)));
                if new {
                    self.adding.set(false);
                }
                self.toasts.success(messages::SAVED);
                focus_after_render(format!("credential-{id}-title"));
                Ok(())
            }
            Err(e) => {
                self.toasts.error(e.message.clone());
                if e.code == ErrorCode::Conflict {
                    self.reload();
                }
                Err(e)
            }
        }
    }

    fn page<T>(self, read: impl FnOnce(&CredentialsPage) -> T) -> Option<T> {
        self.data.with(|page| page.as_ref().map(read))
    }
}

#[component]
pub fn TraceabilityCredentials() -> impl IntoView {
    let ctx = Credentials {
        data: RwSignal::new(None),
        load_error: RwSignal::new(None),
        adding: RwSignal::new(false),
        reached: RwSignal::new(None),
        toasts: use_toasts(),
    };
    provide_context(ctx);
    ctx.reload();

    let credentials = move || ctx.page(|p| p.credentials.clone()).unwrap_or_default();
    let body = move || {
        if let Some(message) = ctx.load_error.get() {
            return Either::Left(view! {
                <div class="load-error" role="alert">
                    <p>{message}</p>
                    <button type="button" class="secondary" on:click=move |_| ctx.reload()>"Try again"</button>
                </div>
            });
        }
        Either::Right(ctx.data.with(Option::is_none).then(|| {
            view! { <p class="loading" aria-live="polite">"Loading your credentials…"</p> }
        }))
    };
    let empty = move || {
        ctx.data
            .with(|p| p.as_ref().is_some_and(|p| p.credentials.is_empty()))
    };

    view! {
        <div class="section-head">
            <h1>"Traceability Credentials"</h1>
            <button
                type="button"
                class="add-credential"
                disabled=move || ctx.adding.get() || ctx.data.with(Option::is_none)
                on:click=move |_| ctx.adding.set(true)
            >
                "+ Add Credential"
            </button>
        </div>
        {body}
        {move || (empty() && !ctx.adding.get()).then(|| view! {
            <div class="empty-state">
                <p class="empty-title">"You have no traceability credentials yet."</p>
                <p>
                    "A traceability credential holds your own METRC user API key for the licenses it covers, so that "
                    "the sales and adjustments you make are reported to METRC under your name. Without one, they are "
                    "reported with your organization's default METRC key, and METRC records them as someone else's."
                </p>
            </div>
        })}
        {move || ctx.adding.get().then(|| view! { <CredentialForm editing=None/> })}
        // Rebuilt whenever the list changes (a save, a deletion): far less code than a keyed list.
        {move || credentials().into_iter().map(|credential| view! { <CredentialCard credential/> }).collect_view()}
    }
}

/// One stored credential: its facts, its edit form, "Delete", and what else its key reaches.
#[component]
fn CredentialCard(credential: CredentialView) -> impl IntoView {
    let ctx = expect_context::<Credentials>();
    let id = credential.id;
    let title_id = format!("credential-{id}-title");
    let labelled_by = title_id.clone();
    let licenses: Vec<LicenseOption> = ctx
        .page(|p| {
            credential
                .license_ids
                .iter()
                .filter_map(|l| p.license(*l).cloned())
                .collect()
        })
        .unwrap_or_default();
    let numbers: Vec<String> = licenses.iter().map(|l| l.number.to_string()).collect();
    let confirming = RwSignal::new(false);
    let deleting = RwSignal::new(false);
    let delete = Callback::new(move |()| {
        deleting.set(true);
        leptos::task::spawn_local(async move {
            match crate::api::delete_credential(id).await {
                Ok(()) => {
                    confirming.try_set(false);
                    ctx.data.update(|page| {
                        if let Some(page) = page {
                            page.credentials.retain(|c| c.id != id);
                        }
                    });
                    ctx.toasts.success(messages::DELETED);
                }
                Err(e) => {
                    ctx.toasts.error(e.message);
                    if e.code == ErrorCode::NotFound {
                        ctx.reload();
                    }
                }
            }
            deleting.try_set(false);
        });
    });
    let delete_body = {
        let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
        messages::delete_body(&numbers)
    };
    let status = credential.status.label();
    // "Last verified …", and the reports held for want of a working key ("2 reports waiting for this key").
    let mut facts = credential
        .verified_at
        .map(|t| format!("Last verified {}", local_time(t)))
        .unwrap_or_default();
    if credential.waiting > 0 {
        facts = format!("{facts} · {}", messages::waiting(credential.waiting));
    }

    view! {
        <section class="credential" role="group" aria-labelledby=labelled_by>
            <div class="credential-head">
                // Focusable by script: a save moves the focus here (the cards are drawn anew).
                <h2 id=title_id tabindex="-1">{credential.label()}</h2>
                <span class="status" class:status-ok=credential.status == shared::credential::CredentialStatus::Verified>
                    {status}
                </span>
            </div>
            // The title already names the provider, the state and the key's last four.
            <p class="facts">{facts}</p>
            <ul class="license-list" aria-label="Licenses">
                {licenses.iter().map(|l| {
                    let inactive = !l.offered;
                    view! { <li>{l.label()}{inactive.then_some(" (inactive)")}</li> }
                }).collect_view()}
            </ul>
            <CredentialForm editing=Some(credential.clone())/>
            <AlsoReaches credential=credential.clone()/>
            <button type="button" class="delete-link" on:click=move |_| confirming.set(true)>"Delete"</button>
            <ConfirmDialog
                id=format!("credential-{id}-delete")
                open=confirming
                title=messages::DELETE_TITLE
                body=Signal::derive(move || delete_body.clone())
                confirm_label="Yes, delete"
                busy=deleting.into()
                on_confirm=delete
            />
        </section>
    }
}

/// "This key also reaches: …", after a save, with one click to add each license that can be added.
#[component]
fn AlsoReaches(credential: CredentialView) -> impl IntoView {
    let ctx = expect_context::<Credentials>();
    let id = credential.id;
    let busy = RwSignal::new(false);
    let credential = StoredValue::new(credential);
    let add = move |license_id: i64| {
        let request = credential.with_value(|c| {
            let mut license_ids = c.license_ids.clone();
            license_ids.push(license_id);
            CredentialRequest {
                provider: c.provider.code().to_owned(),
                state: c.state.code().to_owned(),
                license_ids,
                key: String::new(),
                version: Some(c.version),
            }
        });
        busy.set(true);
        leptos::task::spawn_local(async move {
            let _ = ctx.save(Some(id), request).await;
            busy.try_set(false);
        });
    };
    move || {
        let reached = ctx
            .reached
            .get()
            .filter(|(for_id, _)| *for_id == id)
            .map(|(_, reached)| reached)?;
        Some(view! {
            <div class="also-reaches" role="note">
                <p>"This key also reaches:"</p>
                <ul>
                    {reached.into_iter().map(|r| {
                        let label = format!("{} — {}", r.number, r.name);
                        match r.license_id {
                            Some(license_id) => Either::Left(view! {
                                <li>
                                    {label}" "
                                    <button type="button" class="secondary small" disabled=move || busy.get()
                                        on:click=move |_| add(license_id)>
                                        {format!("Add {}", r.number)}
                                    </button>
                                </li>
                            }),
                            None => Either::Right(view! {
                                <li>{label}<span class="muted">" (not one of your organization's licenses here, or on another of your credentials)"</span></li>
                            }),
                        }
                    }).collect_view()}
                </ul>
            </div>
        })
    }
}

/// The form of a new credential (`editing = None`: provider and state too) or of a stored one.
#[component]
fn CredentialForm(editing: Option<CredentialView>) -> impl IntoView {
    let ctx = expect_context::<Credentials>();
    let editing_id = editing.as_ref().map(|c| c.id);
    let version = editing.as_ref().map(|c| c.version);
    let prefix = editing_id.map_or_else(|| "new".to_owned(), |id| format!("credential-{id}"));
    let provider = RwSignal::new(
        editing
            .as_ref()
            .map_or(Provider::Metrc, |c| c.provider)
            .code()
            .to_owned(),
    );
    let initial_state = editing
        .as_ref()
        .map(|c| c.state.code().to_owned())
        .unwrap_or_else(|| {
            // With one state to choose from, it is chosen.
            let states = ctx.page(|p| p.states(Provider::Metrc)).unwrap_or_default();
            match states.as_slice() {
                [only] => only.code().to_owned(),
                _ => String::new(),
            }
        });
    let state = RwSignal::new(initial_state);
    let selected = RwSignal::new(
        editing
            .as_ref()
            .map(|c| c.license_ids.clone())
            .unwrap_or_default(),
    );
    let key = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);

    let chosen = move || {
        Provider::parse(&provider.get())
            .ok()
            .zip(StateCode::parse(&state.get()).ok())
    };
    let options = Signal::derive(move || {
        let Some((provider, state)) = chosen() else {
            return Vec::new();
        };
        ctx.page(|p| {
            p.offered_licenses(provider, state, editing_id)
                .into_iter()
                .cloned()
                .collect()
        })
        .unwrap_or_default()
    });
    let empty_note = Signal::derive(move || match chosen() {
        Some((_, state)) => format!(
            "No license in {} can be added: each is already on one of your credentials, or your organization has none there that reports to METRC. Ask your administrator if one is missing from Organization Management.",
            state.name()
        ),
        None => "Select a state first.".to_owned(),
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let request = CredentialRequest {
            provider: provider.get_untracked(),
            state: state.get_untracked(),
            license_ids: selected.get_untracked(),
            key: key.get_untracked(),
            version,
        };
        // The shared rules first, against the page shown: bad fields are marked at once.
        if let Some(Err(found)) = ctx.page(|p| request.parse(p, editing_id).map(|_| ())) {
            errors.set(found);
            return;
        }
        errors.set(Vec::new());
        busy.set(true);
        leptos::task::spawn_local(async move {
            if let Err(e) = ctx.save(editing_id, request).await {
                errors.try_set(e.fields);
            }
            busy.try_set(false);
        });
    };

    let is_new = editing.is_none();
    let label = if is_new {
        "New credential"
    } else {
        "Edit credential"
    };
    view! {
        <form class="credential-form" class:new-credential=is_new on:submit=submit novalidate aria-label=label>
            {is_new.then(|| view! {
                <NewCredentialFields
                    provider=provider
                    state=state
                    selected=selected
                    errors=errors
                />
            })}
            <LicenseMultiSelect
                id=prefix.clone()
                options=options
                selected=selected
                empty_note=empty_note
                disabled=Signal::derive(move || chosen().is_none())
                error=error_for(errors, "license_ids")
            />
            <KeyField
                id=format!("{prefix}-key")
                value=key
                keeps_stored=!is_new
                error=error_for(errors, "key")
            />
            <div class="form-actions">
                <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || if busy.get() { "Verifying with METRC…" } else { "Verify & Save" }}
                </button>
                {is_new.then(|| view! {
                    <button type="button" class="secondary" on:click=move |_| ctx.adding.set(false)>"Cancel"</button>
                })}
            </div>
        </form>
    }
}

/// "Traceability Provider" and "Select State", for a new credential only.
#[component]
fn NewCredentialFields(
    provider: RwSignal<String>,
    state: RwSignal<String>,
    selected: RwSignal<Vec<i64>>,
    errors: RwSignal<Vec<FieldError>>,
) -> impl IntoView {
    let ctx = expect_context::<Credentials>();
    let provider_select = NodeRef::<leptos::html::Select>::new();
    // The form opens with the focus on its first field.
    Effect::new(move |_| {
        if let Some(select) = provider_select.get() {
            let _ = select.focus();
        }
    });
    let states = move || {
        Provider::parse(&provider.get())
            .ok()
            .and_then(|p| ctx.page(|page| page.states(p)))
            .unwrap_or_default()
    };
    let provider_error = error_for(errors, "provider");
    let state_error = error_for(errors, "state");
    view! {
        <label for="new-provider">"Traceability Provider"</label>
        <select
            id="new-provider"
            node_ref=provider_select
            aria-invalid=move || provider_error.read().is_some().to_string()
            aria-describedby="new-provider-error"
            on:change=move |e| provider.set(event_target_value(&e))
        >
            {Provider::ALL.iter().map(|p| view! {
                <option value=p.code() selected=move || provider.get() == p.code()>{p.label()}</option>
            }).collect_view()}
        </select>
        <p id="new-provider-error" class="field-error">{move || provider_error.get()}</p>

        <label for="new-state">"Select State"</label>
        <select
            id="new-state"
            aria-invalid=move || state_error.read().is_some().to_string()
            aria-describedby="new-state-error"
            on:change=move |e| {
                state.set(event_target_value(&e));
                // Licenses belong to a state: a new state starts with none chosen.
                selected.set(Vec::new());
            }
        >
            <option value="" selected=move || state.get().is_empty()>"Choose a state"</option>
            {move || states().into_iter().map(|s| {
                let code = s.code();
                view! { <option value=code selected=move || state.get() == code>{s.label()}</option> }
            }).collect_view()}
        </select>
        <p id="new-state-error" class="field-error">
            {move || state_error.get().or_else(|| states().is_empty().then(|| {
                "Your organization has no active licenses that report to METRC yet. Ask your administrator to add them in Organization Management.".to_owned()
            }))}
        </p>
    }
}

/// "Metrc User API Key": masked, with show/hide; surrounding spaces of a paste are dropped at once.
#[component]
fn KeyField(
    id: String,
    value: RwSignal<String>,
    /// On a stored credential, an empty field keeps the stored key.
    keeps_stored: bool,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    view! {
        <label for=id.clone()>"Metrc User API Key"</label>
        <div class="key-input">
            <input
                id=id
                type=move || if shown.get() { "text" } else { "password" }
                autocomplete="off"
                spellcheck="false"
                autocapitalize="off"
                placeholder=if keeps_stored { "Leave empty to keep the stored key" } else { "Paste your key from METRC" }
                prop:value=move || value.get()
                on:input=move |e| value.set(event_target_value(&e).trim().to_owned())
                aria-invalid=move || error.read().is_some().to_string()
                aria-describedby=format!("{hint_id} {error_id}")
            />
            <button
                type="button"
                class="secondary small"
                aria-pressed=move || shown.get().to_string()
                on:click=move |_| shown.update(|s| *s = !*s)
            >
                {move || if shown.get() { "Hide key" } else { "Show key" }}
            </button>
        </div>
        <p id=hint_id class="hint">
            {if keeps_stored {
                "Paste a new key to replace the stored one; leave it empty to keep it."
            } else {
                "Copy it from your METRC profile (API Keys). It is checked with METRC before it is saved."
            }}
        </p>
        <p id=error_id class="field-error">{move || error.get()}</p>
    }
}

/// A Unix time as the browser's local date and time.
pub fn local_time(unix_seconds: i64) -> String {
    // Milliseconds since 1970 fit an f64 exactly for any date this century.
    #[allow(clippy::cast_precision_loss)]
    let millis = (unix_seconds as f64) * 1000.0;
    js_sys::Date::new(&millis.into())
        .to_locale_string("en-US", &leptos::wasm_bindgen::JsValue::UNDEFINED)
        .as_string()
        .unwrap_or_default()
}

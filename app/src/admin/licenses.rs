//! Organization Management > Licenses: the organization's licenses, "Add license", and for each one
//! "Deactivate"/"Reactivate" and "Stop tracking"/"Track", with a confirmation that says what withdrawing
//! a license means before it is done.

use super::{Changes, Loaded, OrganizationTabs, send, submit};
use crate::components::field::{TextField, error_for};
use crate::components::toasts::use_toasts;
use leptos::prelude::*;
use shared::admin::{
    LicenseAdminView, LicenseChangeRequest, LicensesAdminPage, NewLicenseRequest, TIME_ZONES,
    messages,
};
use shared::api::{FieldError, paths};
use shared::state::METRC_STATES;

#[component]
pub fn OrganizationManagement() -> impl IntoView {
    let page = Loaded::<LicensesAdminPage>::fixed(paths::ADMIN_LICENSES);
    let reload = move || page.reload();

    // The license whose name, type and time zone are being edited.
    let editing = RwSignal::new(None::<LicenseAdminView>);
    let changes = Changes::new(Callback::new(move |()| reload()));
    let change = move |license: &LicenseAdminView, tracked: bool, active: bool| {
        request_change(changes, license, tracked, active);
    };

    view! {
        <OrganizationTabs/>
        <section>
            <h2 id="licenses-title">"Licenses"</h2>
            {page.error_view()}
            <div class="table-scroll" role="region" aria-label="Licenses" tabindex="0">
            <table class="admin-table" aria-label="Licenses">
                <thead>
                    <tr>
                        <th scope="col">"License"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Type"</th>
                        <th scope="col">"Time zone"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Credentials"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || page.data().map(|p| p.licenses).unwrap_or_default().into_iter().map(|license| {
                        let (tracked, active) = (license.tracked, license.active);
                        let status = match (active, tracked) {
                            (false, _) => "Inactive",
                            (true, false) => "Active, not tracked",
                            (true, true) => "Active, tracked",
                        };
                        let (l1, l2, l3) = (license.clone(), license.clone(), license.clone());
                        // Each button is named by its text; the row's license describes it.
                        let row_id = format!("license-{}", license.id);
                        view! {
                            <tr>
                                <th scope="row" id=row_id.clone()>{license.number.to_string()}</th>
                                <td>{license.state.code()}</td>
                                <td>{license.name.clone()}</td>
                                <td>{license.license_type.clone()}</td>
                                <td>{license.time_zone.clone()}</td>
                                <td>{status}</td>
                                <td>{license.credentials}</td>
                                <td class="actions">
                                    <button type="button" class="link" on:click=move |_| editing.set(Some(l3.clone()))
                                        aria-describedby=row_id.clone()>"Edit"</button>
                                    <button type="button" class=if active { "link danger" } else { "link" } on:click=move |_| change(&l1, tracked, !active)
                                        aria-describedby=row_id.clone()>
                                        {if active { "Deactivate" } else { "Reactivate" }}
                                    </button>
                                    <button type="button" class=if tracked { "link danger" } else { "link" } on:click=move |_| change(&l2, !tracked, active)
                                        aria-describedby=row_id.clone()>
                                        {if tracked { "Stop tracking" } else { "Track" }}
                                    </button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
            {changes.dialog("withdraw-license", "Take this license out of use?", "Yes, continue")}
            {move || editing.get().map(|license| view! {
                <EditLicense license editing on_saved=Callback::new(move |()| reload())/>
            })}
            <AddLicense on_added=Callback::new(move |()| reload())/>
        </section>
    }
}

/// Asks for a new tracked/active pair (on the Licenses tab and on the Config page); taking an offered license out of use says first what that means.
pub fn request_change(
    changes: Changes<LicenseChangeRequest>,
    license: &LicenseAdminView,
    tracked: bool,
    active: bool,
) {
    let request = LicenseChangeRequest {
        name: license.name.clone(),
        license_type: license.license_type.clone(),
        time_zone: license.time_zone.clone(),
        tracked,
        active,
        version: license.version,
    };
    let warning = (license.offered() && !(tracked && active))
        .then(|| messages::withdraw_warning(license.number.as_str(), license.credentials));
    changes.request(
        paths::admin_license(license.id),
        request,
        format!("License {} saved.", license.number),
        warning,
    );
}

/// "Edit license {number}": name, type and time zone. Number and state never change.
#[component]
fn EditLicense(
    license: LicenseAdminView,
    editing: RwSignal<Option<LicenseAdminView>>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let name = RwSignal::new(license.name.clone());
    let license_type = RwSignal::new(license.license_type.clone());
    let time_zone = RwSignal::new(license.time_zone.clone());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let title = format!("Edit license {}", license.number);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = LicenseChangeRequest {
            name: name.get_untracked(),
            license_type: license_type.get_untracked(),
            time_zone: time_zone.get_untracked(),
            tracked: license.tracked,
            active: license.active,
            version: license.version,
        };
        let checked = request.parse().map(|_| request);
        let id = license.id;
        submit(busy, errors, toasts, checked, move |request| async move {
            let saved: LicenseAdminView =
                send(crate::api::Method::PUT, &paths::admin_license(id), &request).await?;
            toasts.success(format!("License {} saved.", saved.number));
            editing.set(None);
            on_saved.run(());
            Ok(())
        });
    };
    let zone_error = error_for(errors, "time_zone");
    let heading = title.clone();
    view! {
        <form class="card admin-form" on:submit=on_submit novalidate aria-label=title>
            <h3>{heading}</h3>
            <TextField id="edit-name" label="Name" value=name error=error_for(errors, "name")/>
            <TextField id="edit-license_type" label="License type" value=license_type error=error_for(errors, "license_type")/>
            <label for="edit-time-zone">"Time zone"</label>
            <select id="edit-time-zone" bind:value=time_zone aria-describedby="edit-time-zone-error">
                {TIME_ZONES.iter().map(|z| view! { <option value=*z>{*z}</option> }).collect_view()}
            </select>
            <p id="edit-time-zone-error" class="field-error">{move || zone_error.get()}</p>
            <div class="dialog-actions">
                <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                    {move || if busy.get() { "Saving…" } else { "Save" }}
                </button>
                <button type="button" class="secondary" on:click=move |_| editing.set(None)>"Cancel"</button>
            </div>
        </form>
    }
}

/// "Add license": number, state, name, type and time zone (the state's by default).
#[component]
fn AddLicense(on_added: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let number = RwSignal::new(String::new());
    let state = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let license_type = RwSignal::new(String::new());
    let time_zone = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = NewLicenseRequest {
            number: number.get_untracked(),
            state: state.get_untracked(),
            name: name.get_untracked(),
            license_type: license_type.get_untracked(),
            time_zone: time_zone.get_untracked(),
        };
        let checked = request.parse().map(|_| request);
        submit(busy, errors, toasts, checked, move |request| async move {
            let added: LicenseAdminView =
                send(crate::api::Method::POST, paths::ADMIN_LICENSES, &request).await?;
            toasts.success(format!("License {} added.", added.number));
            for field in [number, name, license_type, time_zone] {
                field.set(String::new());
            }
            on_added.run(());
            Ok(())
        });
    };
    let state_error = error_for(errors, "state");
    let zone_error = error_for(errors, "time_zone");
    view! {
        <form class="card admin-form" on:submit=submit novalidate aria-labelledby="add-license-title">
            <h3 id="add-license-title">"Add license"</h3>
            <TextField id="number" label="License number" value=number error=error_for(errors, "number")/>
            <label for="license-state">"State"</label>
            <select id="license-state" bind:value=state aria-invalid=move || state_error.read().is_some().to_string() aria-describedby="license-state-error">
                <option value="">"Choose a state"</option>
                {METRC_STATES.iter().map(|s| view! { <option value=s.code>{format!("{} ({})", s.name, s.code)}</option> }).collect_view()}
            </select>
            <p id="license-state-error" class="field-error">{move || state_error.get()}</p>
            <TextField id="name" label="Name" value=name error=error_for(errors, "name")/>
            <TextField id="license_type" label="License type" value=license_type error=error_for(errors, "license_type")/>
            <label for="time-zone">"Time zone"</label>
            <select id="time-zone" bind:value=time_zone aria-describedby="time-zone-error">
                <option value="">"The state's time zone"</option>
                {TIME_ZONES.iter().map(|z| view! { <option value=*z>{*z}</option> }).collect_view()}
            </select>
            <p id="time-zone-error" class="field-error">{move || zone_error.get()}</p>
            <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                {move || if busy.get() { "Adding…" } else { "Add license" }}
            </button>
        </form>
    }
}

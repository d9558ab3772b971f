//! Organization Management > Audit log: credential and configuration changes, newest first — who, when,
//! what, the result — filterable by user and by license. Never a key: at most its last four characters.

use super::{Loaded, OrganizationTabs, get};
use crate::components::toasts::use_toasts;
use crate::pages::credentials::local_time;
use leptos::prelude::*;
use shared::admin::{AuditPage, AuditView, LicensesAdminPage, UsersAdminPage};
use shared::api::paths;

#[component]
pub fn AuditTab() -> impl IntoView {
    let toasts = use_toasts();
    let users = Loaded::<UsersAdminPage>::new(paths::ADMIN_USERS);
    let licenses = Loaded::<LicensesAdminPage>::new(paths::ADMIN_LICENSES);
    let user = RwSignal::new(String::new());
    let license = RwSignal::new(String::new());
    let entries = RwSignal::new(Vec::<AuditView>::new());
    let next_before = RwSignal::new(None::<i64>);
    let filter = move || {
        let mut query = Vec::new();
        if !user.get_untracked().is_empty() {
            query.push(format!("user={}", user.get_untracked()));
        }
        if !license.get_untracked().is_empty() {
            query.push(format!("license={}", license.get_untracked()));
        }
        query
    };
    // Loads the first page for the filters (`before = None`) or the next older page.
    let load = move |before: Option<i64>| {
        let mut query = filter();
        if let Some(before) = before {
            query.push(format!("before={before}"));
        }
        let url = format!("{}?{}", paths::ADMIN_AUDIT, query.join("&"));
        leptos::task::spawn_local(async move {
            match get::<AuditPage>(&url).await {
                Ok(page) => {
                    if before.is_some() {
                        entries.update(|e| e.extend(page.entries));
                    } else {
                        entries.set(page.entries);
                    }
                    next_before.set(page.next_before);
                }
                Err(e) => toasts.error(e.message),
            }
        });
    };
    Effect::new(move |_| {
        user.track();
        license.track();
        load(None);
    });
    view! {
        <OrganizationTabs/>
        <section aria-labelledby="audit-title">
            <h2 id="audit-title">"Audit log"</h2>
            {users.error_view()}
            <div class="filters">
                <label for="audit-user">"User"</label>
                <select id="audit-user" bind:value=user>
                    <option value="">"Everyone"</option>
                    {move || users.data.get().map(|p| p.users.into_iter().map(|u| view! {
                        <option value=u.id.to_string()>{format!("{} <{}>", u.display_name, u.email)}</option>
                    }).collect_view())}
                </select>
                <label for="audit-license">"License"</label>
                <select id="audit-license" bind:value=license>
                    <option value="">"Every license"</option>
                    {move || licenses.data.get().map(|p| p.licenses.into_iter().map(|l| view! {
                        <option value=l.id.to_string()>{format!("{} — {}", l.number, l.name)}</option>
                    }).collect_view())}
                </select>
            </div>
            <table class="admin-table" aria-label="Audit log">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"For"</th>
                        <th scope="col">"What"</th>
                        <th scope="col">"Result"</th>
                        <th scope="col">"Licenses"</th>
                        <th scope="col">"Detail"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || entries.get().into_iter().map(|e| view! {
                        <tr>
                            <td>{local_time(e.at)}</td>
                            <td>{e.actor}</td>
                            <td>{e.subject}</td>
                            <td>{e.action.replace('_', " ")}</td>
                            <td>{e.result.replace('_', " ")}</td>
                            <td>{e.licenses.join(", ")}</td>
                            <td>{e.detail}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            {move || entries.read().is_empty().then(|| view! { <p class="muted">"Nothing recorded for these filters."</p> })}
            {move || next_before.get().map(|before| view! {
                <button type="button" class="secondary" on:click=move |_| load(Some(before))>"Older entries"</button>
            })}
        </section>
    }
}

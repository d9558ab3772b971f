//! Organization Management > Audit log: credential and configuration changes, newest first — who, when,
//! what, the result — filterable by user and by license. Never a key: at most its last four characters.

use super::{Loaded, OrganizationTabs};
use crate::api::{Method, call};
use crate::pages::credentials::local_time;
use js_sys::{Array, Reflect};
use leptos::prelude::*;
use leptos::wasm_bindgen::{JsCast, JsValue};
use shared::admin::{AuditPage, LicensesAdminPage, UsersAdminPage};
use shared::api::paths;

#[component]
pub fn AuditTab() -> impl IntoView {
    let users = Loaded::<UsersAdminPage>::fixed(paths::ADMIN_USERS);
    let licenses = Loaded::<LicensesAdminPage>::fixed(paths::ADMIN_LICENSES);
    let user = RwSignal::new(String::new());
    let license = RwSignal::new(String::new());
    let filter = move || {
        let mut query = Vec::new();
        if !user.read().is_empty() {
            query.push(format!("user={}", user.read()));
        }
        if !license.read().is_empty() {
            query.push(format!("license={}", license.read()));
        }
        query.join("&")
    };
    // The older pages shown below the first ("Older entries"): their cursors, with the filters they were
    // loaded under — other filters start again from the first page.
    let older = RwSignal::new((String::new(), Vec::<i64>::new()));
    let log = Loaded::<AuditPage>::by(move || {
        let filter = filter();
        let cursors = older.with(|(f, c)| if *f == filter { c.clone() } else { Vec::new() });
        async move {
            let url = |before: Option<i64>| match before {
                Some(before) => format!("{}?{filter}&before={before}", paths::ADMIN_AUDIT),
                None => format!("{}?{filter}", paths::ADMIN_AUDIT),
            };
            // The first page with each older page's entries added, and the last page's cursor.
            let log = call(Method::GET, &url(None), None).await?;
            for before in cursors {
                let page = call(Method::GET, &url(Some(before)), None).await?;
                let entries = |v: &JsValue| {
                    Reflect::get(v, &"entries".into())
                        .ok()
                        .and_then(|e| e.dyn_into::<Array>().ok())
                };
                let joined = entries(&log).zip(entries(&page)).map(|(a, b)| a.concat(&b));
                let next = Reflect::get(&page, &"next_before".into()).ok();
                let (Some(joined), Some(next)) = (joined, next) else {
                    return Err(crate::api::unreadable_answer());
                };
                let _ = Reflect::set(&log, &"entries".into(), &joined);
                let _ = Reflect::set(&log, &"next_before".into(), &next);
            }
            Ok(log)
        }
    });
    let show_older = move |before: i64| {
        let filter = untrack(filter);
        older.update(|(f, cursors)| {
            if *f != filter {
                *f = filter;
                cursors.clear();
            }
            cursors.push(before);
        });
    };
    let entries = move || log.data().map(|l| l.entries).unwrap_or_default();
    view! {
        <OrganizationTabs/>
        <section aria-labelledby="audit-title">
            <h2 id="audit-title">"Audit log"</h2>
            {users.error_view()}
            {log.error_view()}
            <div class="filters">
                <label for="audit-user">"User"</label>
                <select id="audit-user" bind:value=user>
                    <option value="">"Everyone"</option>
                    {move || users.data().map(|p| p.users.into_iter().map(|u| view! {
                        <option value=u.id.to_string()>{format!("{} <{}>", u.display_name, u.email)}</option>
                    }).collect_view())}
                </select>
                <label for="audit-license">"License"</label>
                <select id="audit-license" bind:value=license>
                    <option value="">"Every license"</option>
                    {move || licenses.data().map(|p| p.licenses.into_iter().map(|l| view! {
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
                    {move || entries().into_iter().map(|e| view! {
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
            {move || log.data().is_some_and(|l| l.entries.is_empty()).then(|| view! { <p class="muted">"Nothing recorded for these filters."</p> })}
            {move || log.data().and_then(|l| l.next_before).map(|before| view! {
                <button type="button" class="secondary" on:click=move |_| show_older(before)>"Older entries"</button>
            })}
        </section>
    }
}

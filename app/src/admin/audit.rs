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
    // How many older pages are shown below the first ("Older entries"), with the filters they were
    // loaded under — other filters start again from the first page. Each run loads the first page and
    // then each older one from the cursor of the page just loaded: one unbroken chain, whatever was
    // recorded meanwhile.
    let older = RwSignal::new((String::new(), 0_usize));
    let log = Loaded::<AuditPage>::by(move || {
        let filter = filter();
        let pages = older.with(|(f, n)| if *f == filter { *n } else { 0 });
        async move {
            let url = |before: Option<i64>| match before {
                Some(before) => format!("{}?{filter}&before={before}", paths::ADMIN_AUDIT),
                None => format!("{}?{filter}", paths::ADMIN_AUDIT),
            };
            let field = |v: &JsValue, name: &str| Reflect::get(v, &name.into()).ok();
            let entries =
                |v: &JsValue| field(v, "entries").and_then(|e| e.dyn_into::<Array>().ok());
            let log = call(Method::GET, &url(None), None).await?;
            for _ in 0..pages {
                // An id, written as an integer: formatting an `f64` would pull float formatting into the
                // download (≈ 6 KB).
                let Some(before) = field(&log, "next_before")
                    .and_then(|n| n.as_f64())
                    .map(|n| n as i64)
                else {
                    break;
                };
                let page = call(Method::GET, &url(Some(before)), None).await?;
                let joined = entries(&log).zip(entries(&page)).map(|(a, b)| a.concat(&b));
                let (Some(joined), Some(next)) = (joined, field(&page, "next_before")) else {
                    return Err(crate::api::unreadable_answer());
                };
                let _ = Reflect::set(&log, &"entries".into(), &joined);
                let _ = Reflect::set(&log, &"next_before".into(), &next);
            }
            Ok(log)
        }
    });
    let show_older = move || {
        let filter = untrack(filter);
        older.update(|(f, pages)| {
            if *f != filter {
                *f = filter;
                *pages = 0;
            }
            *pages += 1;
        });
    };
    let entries = move || log.data().map(|l| l.entries).unwrap_or_default();
    view! {
        <OrganizationTabs/>
        <section>
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
                <a href=move || format!("{}?{}", paths::ADMIN_AUDIT_CSV, filter()) download="">"Download CSV"</a>
            </div>
            <div class="table-scroll" role="region" aria-label="Audit log" tabindex="0">
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
            </div>
            {move || log.data().is_some_and(|l| l.entries.is_empty()).then(|| view! { <p class="muted">"Nothing recorded for these filters."</p> })}
            {move || log.data().and_then(|l| l.next_before).map(|_| view! {
                <button type="button" class="secondary" on:click=move |_| show_older()>"Older entries"</button>
            })}
        </section>
    }
}

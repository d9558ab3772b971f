//! Organization Management > Coverage: for every active user and every active, tracked license, whose key
//! their sales and adjustments there go out under — "own key" (with its status), "default key" or "not
//! covered" — with counts per license, a "falls back to default" filter and pages of 50 users.

use super::{Loaded, OrganizationTabs};
use crate::nav;
use crate::router::use_router;
use leptos::prelude::*;
use shared::admin::{Cover, CoveragePage};
use shared::api::paths;

#[component]
pub fn CoverageTab() -> impl IntoView {
    let page_number = RwSignal::new(1_i64);
    let fallback_only = RwSignal::new(false);
    // One user only, from the address (`?user=`: the ranking of who falls back links here).
    let router = use_router();
    let only_user = move || router.query("user").and_then(|u| u.parse::<i64>().ok());
    let coverage = Loaded::<CoveragePage>::new(move || {
        let user = only_user()
            .map(|u| format!("&user={u}"))
            .unwrap_or_default();
        format!(
            "{}?page={}&fallback={}{user}",
            paths::ADMIN_COVERAGE,
            page_number.get(),
            fallback_only.get()
        )
    });
    let pages = move || coverage.data().map_or(1, |c| c.pages);
    // Outside the view: a `>` in an attribute closure there would close the tag (the page then showed
    // this button's source as text).
    let on_first = move || page_number.get() <= 1;
    let on_last = move || page_number.get() >= pages();
    view! {
        <OrganizationTabs/>
        <section aria-labelledby="coverage-title">
            <h2 id="coverage-title">"Coverage"</h2>
            <p class="muted">"Whose METRC key each active user's sales and adjustments are reported under, per active, tracked license. A report under the default key names the key holder in METRC, not the user."</p>
            {coverage.error_view()}
            {move || only_user().map(|_| view! {
                <p>"Showing one user. "<a href=nav::ORGANIZATION_COVERAGE>"Show every user"</a></p>
            })}
            {move || coverage.data().map(|c| view! {
                <div class="table-scroll" role="region" aria-label="Coverage per license" tabindex="0">
                <table class="admin-table" aria-label="Coverage per license">
                    <thead>
                        <tr>
                            <th scope="col">"License"</th>
                            <th scope="col">"Own key"</th>
                            <th scope="col">"Default key"</th>
                            <th scope="col">"Not covered"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {c.licenses.iter().map(|l| view! {
                            <tr>
                                <th scope="row">{format!("{} — {}", l.number, l.name)}</th>
                                <td>{l.own}</td>
                                <td>{l.default}</td>
                                <td>{l.not_covered}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
            })}
            <p>
                <a download="" href=move || {
                    let user = only_user().map(|u| format!("&user={u}")).unwrap_or_default();
                    format!("{}?fallback={}{user}", paths::ADMIN_COVERAGE_CSV, fallback_only.get())
                }>"Download CSV"</a>
                " of every user's row (with the filters shown)"
            </p>
            <label class="checkbox">
                <input type="checkbox"
                    prop:checked=fallback_only
                    on:change=move |e| {
                        fallback_only.set(event_target_checked(&e));
                        page_number.set(1);
                    }/>
                "Only users who fall back to a default key"
            </label>
            {move || coverage.data().map(|c| view! {
                <div class="table-scroll" role="region" aria-label="Coverage per user" tabindex="0">
                <table class="admin-table coverage" aria-label="Coverage per user">
                    <thead>
                        <tr>
                            <th scope="col">"User"</th>
                            {c.licenses.iter().map(|l| view! { <th scope="col" title=l.name.clone()>{l.number.to_string()}</th> }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {c.rows.into_iter().map(|row| view! {
                            <tr>
                                <th scope="row">{row.display_name}</th>
                                {row.cells.into_iter().map(|cell| view! {
                                    <td class=match cell {
                                        Cover::Own(_) => "cover-own",
                                        Cover::Default => "cover-default",
                                        Cover::NotCovered => "cover-none",
                                    }>{cell.label()}</td>
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
                </div>
                <p class="muted">{format!("{} users", c.users)}</p>
            })}
            <nav class="pager" aria-label="Coverage pages">
                // aria-disabled, not disabled: a button that becomes disabled while focused drops the
                // focus to the page's top; this one keeps it and ignores the press.
                <button type="button" class="secondary"
                    aria-disabled=move || on_first().to_string()
                    on:click=move |_| if !on_first() { page_number.update(|p| *p -= 1) }>"Previous"</button>
                <span aria-live="polite">{move || format!("Page {} of {}", page_number.get(), pages())}</span>
                <button type="button" class="secondary"
                    aria-disabled=move || on_last().to_string()
                    on:click=move |_| if !on_last() { page_number.update(|p| *p += 1) }>"Next"</button>
            </nav>
        </section>
    }
}

//! Compliance Management (admins): the reports that have not reached METRC — with license, user, kind,
//! age, the key used (own or default, never the key), METRC's status and message — counts by reason, and
//! "Resend", "Resend with default key" (after a warning) and "Dismiss" (with a reason). Each is audited.
//! An adjustment whose outcome is unknown may already be in METRC, which cannot be asked: resending it
//! first asks the admin to confirm they checked METRC and it is not there.

use super::{Loaded, send_empty, submit};
use crate::components::confirm_dialog::ConfirmDialog;
use crate::components::field::error_for;
use crate::components::toasts::use_toasts;
use crate::pages::credentials::local_time;
use leptos::prelude::*;
use shared::api::{FieldError, paths};
use shared::report::{
    CompliancePage, ComplianceReport, DismissRequest, ReportKind, ReportStatus, ResendRequest,
    resend,
};

/// An adjustment whose outcome is unknown: resending it needs the admin's word that METRC lacks it.
fn needs_check(r: &ComplianceReport) -> bool {
    r.report.kind == ReportKind::Adjustment && r.report.status == ReportStatus::OutcomeUnknown
}

fn what(r: &ComplianceReport) -> String {
    let kind = match r.report.kind {
        ReportKind::Sale => "Sale",
        ReportKind::Adjustment => "Adjustment",
    };
    match &r.report.external_number {
        Some(number) => format!("{kind} {number}"),
        None => format!("{kind} #{}", r.report.id),
    }
}

/// How long ago, roughly: "4 min", "3 h", "2 d".
fn age(seconds: i64) -> String {
    match seconds.max(0) {
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

#[component]
pub fn CompliancePage() -> impl IntoView {
    let toasts = use_toasts();
    let page = Loaded::<CompliancePage>::fixed(paths::ADMIN_COMPLIANCE);
    let license_filter = RwSignal::new(String::new());
    let status_filter = RwSignal::new(String::new());
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let default_for = RwSignal::new(None::<ComplianceReport>);
    let default_open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let dismissing = RwSignal::new(None::<ComplianceReport>);
    // The adjustment being checked, and whether it is to go with the default key.
    let checking = RwSignal::new(None::<(ComplianceReport, bool)>);
    let check_open = RwSignal::new(false);
    let act = move |url: String, done: String, checked: bool| {
        busy.set(true);
        leptos::task::spawn_local(async move {
            let sent = if checked {
                match crate::api::body(&ResendRequest {
                    checked_not_in_metrc: true,
                }) {
                    Ok(body) => crate::api::call(crate::api::Method::POST, &url, Some(body))
                        .await
                        .map(drop),
                    Err(e) => Err(e),
                }
            } else {
                send_empty(crate::api::Method::POST, &url).await
            };
            match sent {
                Ok(()) => toasts.success(done),
                Err(e) => toasts.error(e.message),
            }
            busy.set(false);
            default_open.set(false);
            check_open.set(false);
            page.reload();
        });
    };
    let check_body = Signal::derive(move || {
        checking
            .read()
            .as_ref()
            .map(|(r, default)| {
                let mut text = resend::body(&what(r));
                if *default {
                    text.push_str(&format!(
                        " METRC will then record it under the default key's holder, not {}.",
                        r.user
                    ));
                }
                text
            })
            .unwrap_or_default()
    });
    let default_warning = Signal::derive(move || {
        default_for
            .read()
            .as_ref()
            .map(|r| format!("METRC will record {} under the default key's holder, not {}. The audit log keeps your decision.", what(r), r.user))
            .unwrap_or_default()
    });
    let licenses = move || {
        let mut numbers: Vec<String> = page
            .data()
            .iter()
            .flat_map(|p| {
                p.reports
                    .iter()
                    .map(|r| r.report.license_number.to_string())
            })
            .collect();
        numbers.sort();
        numbers.dedup();
        numbers
    };
    view! {
        <h1>"Compliance Management"</h1>
        <super::accountability::AccountabilityPanel/>
        <h2>"Reports not sent"</h2>
        <p class="muted">"Sales and adjustments that have not reached METRC yet, oldest first."</p>
        {page.error_view()}
        // The counts as a row of chips, shown only when something is waiting.
        {move || page.data().filter(|p| !p.counts.is_empty()).map(|p| view! {
            <ul class="chips" aria-label="Counts by reason">
                {p.counts.into_iter().map(|(reason, n)| view! {
                    <li class="chip">{format!("{reason}: {n}")}</li>
                }).collect_view()}
            </ul>
        })}
        <div class="filters">
            <label for="compliance-license">"License"</label>
            <select id="compliance-license" bind:value=license_filter>
                <option value="">"Every license"</option>
                {move || licenses().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
            </select>
            <label for="compliance-status">"Status"</label>
            <select id="compliance-status" bind:value=status_filter>
                <option value="">"Every status"</option>
                {[ReportStatus::Held, ReportStatus::Pending, ReportStatus::OutcomeUnknown].map(|s| view! {
                    <option value=s.code()>{s.label()}</option>
                }).collect_view()}
            </select>
            // Every row matching the filters, not only the ones on screen.
            <a download="" href=move || format!(
                "{}?license={}&status={}",
                paths::ADMIN_COMPLIANCE_CSV,
                crate::nav::encode_component(&license_filter.get()),
                status_filter.get()
            )>"Download CSV"</a>
        </div>
        <div class="table-scroll" role="region" aria-label="Reports not sent" tabindex="0">
        <table class="admin-table" aria-label="Reports not sent">
            <thead>
                <tr>
                    <th scope="col">"Report"</th>
                    <th scope="col">"License"</th>
                    <th scope="col">"User"</th>
                    <th scope="col">"Age"</th>
                    <th scope="col">"Key used"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"METRC"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {move || {
                    let only = license_filter.get();
                    let status = status_filter.get();
                    page.data().map(|p| p.reports.into_iter()
                        .filter(|r| only.is_empty() || r.report.license_number.as_str() == only)
                        .filter(|r| status.is_empty() || r.report.status.code() == status)
                        .map(|r| {
                            let id = r.report.id;
                            let title = what(&r);
                            let (r1, r2, r3) = (r.clone(), r.clone(), r.clone());
                            let check = needs_check(&r);
                            let t1 = title.clone();
                            // Each button is named by its text; the row's report describes it.
                            let row_id = format!("report-{id}");
                            view! {
                                <tr>
                                    <th scope="row" id=row_id.clone()>{title.clone()}</th>
                                    <td>{r.report.license_number.to_string()}</td>
                                    <td>{r.user.clone()}</td>
                                    <td title=local_time(r.report.recorded_at)>{age(now - r.report.recorded_at)}</td>
                                    <td>{r.report.key_label()}</td>
                                    <td>{r.report.status.label()}</td>
                                    <td>{r.report.reason.clone().unwrap_or_default()}</td>
                                    <td class="actions">
                                        <button type="button" class="link" aria-describedby=row_id.clone()
                                            on:click=move |_| if check {
                                                checking.set(Some((r3.clone(), false)));
                                                check_open.set(true);
                                            } else {
                                                act(paths::compliance_action(id, "resend"), format!("{t1} will be sent again."), false);
                                            }>
                                            "Resend"
                                        </button>
                                        <button type="button" class="link" aria-describedby=row_id.clone()
                                            on:click=move |_| if needs_check(&r1) {
                                                checking.set(Some((r1.clone(), true)));
                                                check_open.set(true);
                                            } else {
                                                default_for.set(Some(r1.clone()));
                                                default_open.set(true);
                                            }>
                                            "Resend with default key"
                                        </button>
                                        <button type="button" class="link danger" aria-describedby=row_id.clone()
                                            on:click=move |_| dismissing.set(Some(r2.clone()))>
                                            "Dismiss"
                                        </button>
                                    </td>
                                </tr>
                            }
                        }).collect_view())
                }}
            </tbody>
        </table>
        </div>
        {move || page.data().is_some_and(|p| p.reports.is_empty()).then(|| view! {
            <p class="muted">"Every report has reached METRC."</p>
        })}
        <ConfirmDialog
            id="resend-default".to_owned()
            open=default_open
            title="Resend with the default key?"
            body=default_warning
            confirm_label="Yes, resend with default key"
            busy=busy.into()
            on_confirm=Callback::new(move |()| {
                if let Some(r) = default_for.get_untracked() {
                    act(paths::compliance_action(r.report.id, "resend-default"), format!("{} will be sent with the default key.", what(&r)), false);
                }
            })
        />
        <ConfirmDialog
            id="resend-checked".to_owned()
            open=check_open
            title=resend::TITLE
            body=check_body
            confirm_label=resend::CONFIRM
            busy=busy.into()
            on_confirm=Callback::new(move |()| {
                if let Some((r, default)) = checking.get_untracked() {
                    let action = if default { "resend-default" } else { "resend" };
                    act(paths::compliance_action(r.report.id, action), format!("{} will be sent again.", what(&r)), true);
                }
            })
        />
        {move || dismissing.get().map(|r| view! { <DismissForm report=r dismissing on_done=Callback::new(move |()| page.reload())/> })}
    }
}

/// "Dismiss {report}": the reason is required and kept in the audit log.
#[component]
fn DismissForm(
    report: ComplianceReport,
    dismissing: RwSignal<Option<ComplianceReport>>,
    on_done: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let reason = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let title = format!("Dismiss {}", what(&report));
    let id = report.report.id;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = DismissRequest {
            reason: reason.get_untracked(),
        };
        let checked = request.parse().map(drop).map(|()| request);
        submit(busy, errors, toasts, checked, move |request| async move {
            let body = crate::api::body(&request)?;
            crate::api::call(
                crate::api::Method::POST,
                &paths::compliance_action(id, "dismiss"),
                Some(body),
            )
            .await?;
            toasts.success("Report dismissed.");
            dismissing.set(None);
            on_done.run(());
            Ok(())
        });
    };
    let error = error_for(errors, "reason");
    let heading = title.clone();
    view! {
        <form class="card admin-form" on:submit=on_submit novalidate aria-label=title>
            <h2>{heading}</h2>
            <label for="dismiss-reason">"Reason"</label>
            <textarea id="dismiss-reason" bind:value=reason aria-describedby="dismiss-reason-error"
                aria-invalid=move || error.read().is_some().to_string()></textarea>
            <p id="dismiss-reason-error" class="field-error">{move || error.get()}</p>
            <div class="dialog-actions">
                <button type="submit" class="danger" disabled=move || busy.get()>"Dismiss report"</button>
                <button type="button" class="secondary" on:click=move |_| dismissing.set(None)>"Cancel"</button>
            </div>
        </form>
    }
}

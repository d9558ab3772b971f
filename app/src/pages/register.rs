//! "Register": records a sale or an adjustment by hand as the signed-in user (for demos and browser
//! tests; a point-of-sale calls the same API), and lists the user's reports with where each one is on
//! its way to METRC and under which key it went.

use crate::admin::{Loaded, send, submit};
use crate::components::field::{TextField, error_for};
use crate::components::toasts::use_toasts;
use crate::pages::credentials::local_time;
use leptos::prelude::*;
use shared::api::{FieldError, paths};
use shared::credential::CredentialsPage;
use shared::report::{
    AdjustmentRequest, CUSTOMER_TYPES, ReportStatus, ReportView, SaleRequest, TransactionRequest,
    UNITS,
};

#[component]
pub fn RegisterPage() -> impl IntoView {
    let context = Loaded::<CredentialsPage>::fixed(paths::CREDENTIALS);
    let reports = Loaded::<Vec<ReportView>>::fixed(paths::REPORTS);
    // While a report is on its way, look again every two seconds; the interval ends with the page.
    if let Ok(polling) = set_interval_with_handle(
        move || {
            let waiting = reports
                .data_untracked()
                .is_some_and(|r| r.iter().any(|r| r.status == ReportStatus::Pending));
            if waiting {
                reports.reload();
            }
        },
        std::time::Duration::from_secs(2),
    ) {
        on_cleanup(move || polling.clear());
    }
    let licenses = Signal::derive(move || {
        context
            .data()
            .map(|p| {
                p.licenses
                    .into_iter()
                    .filter(|l| l.offered)
                    .map(|l| (l.id.to_string(), l.label()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let recorded = Callback::new(move |()| reports.reload());
    view! {
        <h1>"Register"</h1>
        <p class="muted">"Sales and adjustments you record here are reported to METRC under your own key when you have one for the license."</p>
        {context.error_view()}
        <div class="register">
            <SaleForm licenses recorded/>
            <AdjustmentForm licenses recorded/>
        </div>
        <section>
            <h2 id="my-reports-title">"My reports"</h2>
            <div class="table-scroll" role="region" aria-label="My reports" tabindex="0">
            <table class="admin-table" aria-label="My reports">
                <thead>
                    <tr>
                        <th scope="col">"Report"</th>
                        <th scope="col">"License"</th>
                        <th scope="col">"Recorded"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Key used"</th>
                        <th scope="col">"METRC"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || reports.data().unwrap_or_default().into_iter().map(|r| view! {
                        <tr>
                            <th scope="row">{r.external_number.clone().unwrap_or_else(|| format!("Adjustment #{}", r.id))}</th>
                            <td>{r.license_number.to_string()}</td>
                            <td>{local_time(r.recorded_at)}</td>
                            <td>{r.status.label()}</td>
                            <td>{r.key_label()}</td>
                            <td>{r.reason.clone().unwrap_or_default()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        </section>
    }
}

/// A labelled native select over `(value, label)` options, with its error line.
#[component]
fn Choice(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    #[prop(into)] options: Signal<Vec<(String, String)>>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <label for=id>{label}</label>
        <select id=id bind:value=value aria-describedby=error_id.clone()
            aria-invalid=move || error.read().is_some().to_string()>
            <option value="">"Choose…"</option>
            {move || options.get().into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
        </select>
        <p id=error_id class="field-error">{move || error.get()}</p>
    }
}

fn fixed(list: &'static [&'static str]) -> Signal<Vec<(String, String)>> {
    Signal::derive(move || {
        list.iter()
            .map(|v| ((*v).to_owned(), (*v).to_owned()))
            .collect()
    })
}

#[component]
fn SaleForm(licenses: Signal<Vec<(String, String)>>, recorded: Callback<()>) -> impl IntoView {
    let toasts = use_toasts();
    let license = RwSignal::new(String::new());
    let customer_type = RwSignal::new("Consumer".to_owned());
    let label = RwSignal::new(String::new());
    let quantity = RwSignal::new(String::new());
    let unit = RwSignal::new(String::new());
    let amount = RwSignal::new(String::new());
    let patient = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let license_id = license.get_untracked().parse().unwrap_or(0);
        let request = SaleRequest {
            license_id,
            customer_type: customer_type.get_untracked(),
            transactions: vec![TransactionRequest {
                package_label: label.get_untracked(),
                quantity: quantity.get_untracked(),
                unit: unit.get_untracked(),
                total_amount: amount.get_untracked(),
            }],
            patient_license_number: patient.get_untracked(),
        };
        let checked = match (license_id, request.parse()) {
            (0, _) => Err(vec![FieldError::new("license_id", "Choose the license.")]),
            (_, checked) => checked.map(|_| request),
        };
        submit(busy, errors, toasts, checked, move |request| async move {
            let report: ReportView = send(crate::api::Method::POST, paths::SALES, &request).await?;
            toasts.success(format!(
                "Sale {} recorded.",
                report.external_number.unwrap_or_default()
            ));
            recorded.run(());
            Ok(())
        });
    };
    view! {
        <form class="card admin-form" on:submit=on_submit novalidate aria-label="Record a sale">
            <h2>"Record a sale"</h2>
            <Choice id="sale-license" label="License" value=license options=licenses error=error_for(errors, "license_id")/>
            <Choice id="sale-customer" label="Customer type" value=customer_type options=fixed(&CUSTOMER_TYPES) error=error_for(errors, "customer_type")/>
            <TextField id="sale-label" label="Package label" value=label error=error_for(errors, "transactions[0].package_label")/>
            <TextField id="sale-quantity" label="Quantity" value=quantity error=error_for(errors, "transactions[0].quantity")/>
            <Choice id="sale-unit" label="Unit" value=unit options=fixed(&UNITS) error=error_for(errors, "transactions[0].unit")/>
            <TextField id="sale-amount" label="Total amount" value=amount error=error_for(errors, "transactions[0].total_amount")/>
            <TextField id="sale-patient" label="Patient license number (patients only)" value=patient error=error_for(errors, "patient_license_number")/>
            <button type="submit" class="primary" disabled=move || busy.get()>"Record sale"</button>
        </form>
    }
}

#[component]
fn AdjustmentForm(
    licenses: Signal<Vec<(String, String)>>,
    recorded: Callback<()>,
) -> impl IntoView {
    let toasts = use_toasts();
    let license = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let quantity = RwSignal::new(String::new());
    let unit = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let date = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let busy = RwSignal::new(false);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let license_id = license.get_untracked().parse().unwrap_or(0);
        let request = AdjustmentRequest {
            license_id,
            package_label: label.get_untracked(),
            quantity: quantity.get_untracked(),
            unit: unit.get_untracked(),
            reason: reason.get_untracked(),
            date: date.get_untracked(),
            note: note.get_untracked(),
        };
        let checked = match (license_id, request.parse()) {
            (0, _) => Err(vec![FieldError::new("license_id", "Choose the license.")]),
            (_, checked) => checked.map(|_| request),
        };
        submit(busy, errors, toasts, checked, move |request| async move {
            let report: ReportView =
                send(crate::api::Method::POST, paths::ADJUSTMENTS, &request).await?;
            toasts.success(format!("Adjustment #{} recorded.", report.id));
            recorded.run(());
            Ok(())
        });
    };
    view! {
        <form class="card admin-form" on:submit=on_submit novalidate aria-label="Record an adjustment">
            <h2>"Record an adjustment"</h2>
            <Choice id="adjust-license" label="License" value=license options=licenses error=error_for(errors, "license_id")/>
            <TextField id="adjust-label" label="Package label" value=label error=error_for(errors, "package_label")/>
            <TextField id="adjust-quantity" label="Quantity (minus for a loss)" value=quantity error=error_for(errors, "quantity")/>
            <Choice id="adjust-unit" label="Unit" value=unit options=fixed(&UNITS) error=error_for(errors, "unit")/>
            <TextField id="adjust-reason" label="Reason" value=reason error=error_for(errors, "reason")/>
            <TextField id="adjust-date" label="Date" input_type="date" value=date error=error_for(errors, "date")/>
            <TextField id="adjust-note" label="Note" value=note error=error_for(errors, "note")/>
            <button type="submit" class="primary" disabled=move || busy.get()>"Record adjustment"</button>
        </form>
    }
}

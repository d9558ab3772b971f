//! Compliance Management > Accountability: the organization's rate for the last 7 days (own key ÷ all
//! sent) with its change against the 7 days before, a stacked chart per day over 7, 30 or 90 days (own
//! key, default key, held, outcome unknown, pending) drawn as SVG with a summary sentence and a table
//! toggle as its text alternative, and who falls back to the default key most — each linking to their row
//! in Coverage. At every license or one. The numbers are whole (the rate in tenths of a percent), so the
//! client formats no floating point.

use super::Loaded;
use crate::nav;
use leptos::prelude::*;
use shared::accountability::{
    AccountabilityPage, Bucket, Day, PERIODS, RATE_DAYS, chart_summary, headline,
};
use shared::api::paths;

/// The chart's stacks, bottom up (dismissed reports are counted beside it, not drawn).
const STACKED: [Bucket; 5] = [
    Bucket::Own,
    Bucket::Default,
    Bucket::Held,
    Bucket::OutcomeUnknown,
    Bucket::Pending,
];

/// The chart's drawing area, in SVG units (it scales to the width it is given).
const WIDTH: i64 = 900;
const HEIGHT: i64 = 160;

fn bucket_class(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Own => "bar-own",
        Bucket::Default => "bar-default",
        Bucket::Held => "bar-held",
        Bucket::OutcomeUnknown => "bar-unknown",
        Bucket::Pending => "bar-pending",
        Bucket::Dismissed => "bar-dismissed",
    }
}

#[component]
pub fn AccountabilityPanel() -> impl IntoView {
    let days = RwSignal::new(RATE_DAYS);
    let license = RwSignal::new(String::new());
    let as_table = RwSignal::new(false);
    let data = Loaded::<AccountabilityPage>::new(move || {
        let only = license.get();
        let only = if only.is_empty() {
            String::new()
        } else {
            format!("&license={only}")
        };
        format!("{}?days={}{only}", paths::ADMIN_ACCOUNTABILITY, days.get())
    });
    view! {
        <section class="card accountability" aria-labelledby="accountability-title">
            <h2 id="accountability-title">"Accountability"</h2>
            <p class="muted">"Reports sent under the recorder's own METRC key, of all reports sent. Held, pending, outcome-unknown and dismissed reports are not in the rate; they are shown beside it."</p>
            {data.error_view()}
            <div class="filters">
                <label for="accountability-days">"Period"</label>
                <select id="accountability-days" on:change=move |e| {
                    if let Ok(n) = event_target_value(&e).parse::<u32>() {
                        days.set(n);
                    }
                }>
                    {PERIODS.map(|n| view! {
                        <option value=n.to_string() selected=move || days.get() == n>{format!("Last {n} days")}</option>
                    }).collect_view()}
                </select>
                <label for="accountability-license">"License"</label>
                <select id="accountability-license" bind:value=license>
                    <option value="">"Every license"</option>
                    {move || data.data().map(|p| p.licenses.into_iter().map(|l| view! {
                        <option value=l.id.to_string()>{format!("{} — {}", l.number, l.name)}</option>
                    }).collect_view())}
                </select>
            </div>
            {move || data.data().map(|p| {
                let figure = p.recent.rate().map_or_else(|| "—".to_owned(), |r| r.percent());
                let summary = chart_summary(&p);
                let drawn = chart(&p.days, "accountability-summary");
                // The first and last day under the bars, as text (inside the stretched SVG it would be squashed).
                let first = p.days.first().map(|d| d.day.clone()).unwrap_or_default();
                let last = p.days.last().map(|d| d.day.clone()).unwrap_or_default();
                let table = days_table(&p.days);
                view! {
                    <p class="rate">
                        <span class="rate-figure">{figure}</span>
                        " under the recorder's own key in the last 7 days"
                    </p>
                    <p>{headline(&p.recent, &p.before)}</p>
                    <ul class="legend" aria-label="Chart legend">
                        {STACKED.map(|b| view! {
                            <li><span class=format!("swatch {}", bucket_class(b)) aria-hidden="true"></span>{b.label()}</li>
                        }).collect_view()}
                    </ul>
                    <div inner_html=drawn></div>
                    <p class="chart-axis" aria-hidden="true"><span>{first}</span><span>{last}</span></p>
                    <p id="accountability-summary">{summary}</p>
                    <button type="button" class="secondary"
                        aria-expanded=move || as_table.get().to_string()
                        aria-controls="accountability-table"
                        on:click=move |_| as_table.update(|t| *t = !*t)>
                        {move || if as_table.get() { "Hide the table" } else { "Show as a table" }}
                    </button>
                    <div id="accountability-table" class="table-scroll" role="region" aria-label="Reports per day"
                        tabindex="0" hidden=move || !as_table.get() inner_html=table></div>
                    <h3>"Who falls back to the default key"</h3>
                    {if p.fallbacks.is_empty() {
                        view! { <p class="muted">"Nobody's reports went out under the default key in this period."</p> }.into_any()
                    } else {
                        view! {
                            <ol class="fallbacks">
                                {p.fallbacks.into_iter().map(|f| {
                                    let numbers: Vec<String> = f.licenses.iter().map(ToString::to_string).collect();
                                    let href = format!("{}?user={}", nav::ORGANIZATION_COVERAGE, f.user_id);
                                    let who = if f.active {
                                        view! { <a href=href>{f.name}</a> }.into_any()
                                    } else {
                                        view! { <span>{format!("{} (deactivated)", f.name)}</span> }.into_any()
                                    };
                                    view! {
                                        <li>
                                            {who}
                                            {format!(" — {} sent under the default key, at {}", f.count, numbers.join(", "))}
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }.into_any()
                    }}
                }
            })}
        </section>
    }
}

/// The stacked bars, one per day, oldest on the left, as SVG markup; named by the summary sentence beside
/// it (`aria-labelledby`). Written as text rather than a view per bar (450 bars at 90 days): it holds only
/// dates and whole numbers, never a name or anything typed by a user.
fn chart(days: &[Day], summary_id: &str) -> String {
    let count = i64::try_from(days.len()).unwrap_or(1).max(1);
    let tallest = days
        .iter()
        .map(|d| STACKED.iter().map(|b| d.counts.get(*b)).sum::<i64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let step = WIDTH / count;
    let bar = (step * 4 / 5).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"{summary_id}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" preserveAspectRatio=\"none\">\
         <line class=\"axis\" x1=\"0\" y1=\"{HEIGHT}\" x2=\"{WIDTH}\" y2=\"{HEIGHT}\"/>"
    );
    // Each segment spans the scaled heights of the counts below it and with it, so the stacks never pass the
    // top however the rounding falls.
    let scaled = |count: i64| HEIGHT - count * HEIGHT / tallest;
    let mut x = 0;
    for day in days {
        let mut below = 0;
        for bucket in STACKED {
            let n = day.counts.get(bucket);
            if n > 0 {
                let (bottom, top) = (scaled(below), scaled(below + n));
                below += n;
                let h = (bottom - top).max(1);
                svg.push_str(&format!(
                    "<rect class=\"{}\" x=\"{x}\" y=\"{top}\" width=\"{bar}\" height=\"{h}\"><title>{}: {n} — {}</title></rect>",
                    bucket_class(bucket),
                    day.day,
                    bucket.label()
                ));
            }
        }
        x += step;
    }
    svg.push_str("</svg>");
    svg
}

/// The chart's numbers as a table, a row per day (dates and whole numbers only, as the chart).
fn days_table(days: &[Day]) -> String {
    let mut html = String::from(
        "<table class=\"admin-table\" aria-label=\"Reports per day\"><thead><tr><th scope=\"col\">Day</th>",
    );
    for bucket in Bucket::ALL {
        html.push_str(&format!("<th scope=\"col\">{}</th>", bucket.label()));
    }
    html.push_str("<th scope=\"col\">Rate</th></tr></thead><tbody>");
    for day in days {
        html.push_str(&format!("<tr><th scope=\"row\">{}</th>", day.day));
        for bucket in Bucket::ALL {
            html.push_str(&format!("<td>{}</td>", day.counts.get(bucket)));
        }
        let rate = day
            .counts
            .rate()
            .map_or_else(|| "—".to_owned(), |r| r.percent());
        html.push_str(&format!("<td>{rate}</td></tr>"));
    }
    html.push_str("</tbody></table>");
    html
}

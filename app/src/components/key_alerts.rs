//! The banner on every page of both bundles while one of the user's keys is broken or reports wait for a
//! key: "Your METRC key for Colorado stopped working — 3 sales are waiting. Update your key."
//!
//! Asked for when the frame appears (a sign-in, every page load), when the tab regains focus, and every 60 s
//! while it is open; right after a sign-in, while the server is still checking the keys with METRC, again
//! every 2 s until it is done. A banner dismissed stays dismissed for the browser session (remembered in
//! `sessionStorage` under the problem's name) and is back after the next sign-in while the problem lasts.
//! Screen readers hear each problem once per browser session, through a polite live region, not on every
//! page.

use crate::nav;
use leptos::ev;
use leptos::prelude::*;
use shared::credential::Alert;
use std::time::Duration;

/// What marks a problem as dismissed and as announced, after its name.
const DISMISSED: &str = ":dismissed";
const ANNOUNCED: &str = ":announced";

fn storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

fn remembered(key: &str) -> bool {
    storage()
        .and_then(|s| s.get_item(key).ok().flatten())
        .is_some()
}

fn remember(key: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(key, "1");
    }
}

/// Forgets every dismissed and announced problem: called at sign-in, so what still lasts shows again.
pub fn forget_dismissed() {
    let Some(s) = storage() else { return };
    let keys: Vec<String> = (0..s.length().unwrap_or(0))
        .filter_map(|i| s.key(i).ok().flatten())
        .filter(|k| k.starts_with("tc-alert:"))
        .collect();
    for key in keys {
        let _ = s.remove_item(&key);
    }
}

#[component]
pub fn KeyAlerts() -> impl IntoView {
    let alerts = RwSignal::new(Vec::<Alert>::new());
    // Bumped to dismiss: the list is drawn again from `sessionStorage`.
    let dismissals = RwSignal::new(0_u32);
    let announcement = RwSignal::new(String::new());
    let asks = RwSignal::new(0_u32);
    // Whether a follow-up ask (the sign-in check under way) is already due: one chain of them at a time,
    // however often the tab regains focus meanwhile.
    let following = StoredValue::new(false);
    Effect::new(move |_| {
        asks.track();
        leptos::task::spawn_local(async move {
            // A failed ask keeps what was shown: the next one tries again.
            let Ok(answer) = crate::api::alerts().await else {
                return;
            };
            let new: Vec<&Alert> = answer
                .alerts
                .iter()
                .filter(|a| !remembered(&(a.key() + ANNOUNCED)))
                .collect();
            let said: Vec<String> = new
                .iter()
                .map(|a| format!("{} {}", a.sentence(), a.action()))
                .collect();
            // Remembered as announced only once it was (a page already gone announces nothing).
            if !said.is_empty() && announcement.try_set(said.join(" ")).is_none() {
                for alert in new {
                    remember(&(alert.key() + ANNOUNCED));
                }
            }
            alerts.try_set(answer.alerts);
            // The page may be gone by now (a new page in the admin bundle): `try_` never panics on that.
            if answer.checking && following.try_get_value() == Some(false) {
                following.try_set_value(true);
                set_timeout(
                    move || {
                        following.try_set_value(false);
                        asks.try_update(|n| *n += 1);
                    },
                    Duration::from_secs(2),
                );
            }
        });
    });
    if let Ok(every) =
        set_interval_with_handle(move || asks.update(|n| *n += 1), Duration::from_secs(60))
    {
        on_cleanup(move || every.clear());
    }
    let focus = window_event_listener(ev::focus, move |_| asks.update(|n| *n += 1));
    on_cleanup(move || focus.remove());

    let shown = move || {
        dismissals.track();
        alerts
            .get()
            .into_iter()
            .filter(|a| !remembered(&(a.key() + DISMISSED)))
            .collect::<Vec<_>>()
    };
    view! {
        <div class="visually-hidden" aria-live="polite">{announcement}</div>
        {move || {
            let shown = shown();
            (!shown.is_empty()).then(|| view! {
                <section class="key-alerts" aria-label="Problems with your METRC keys">
                    {shown.into_iter().enumerate().map(|(i, alert)| {
                        let id = format!("key-alert-{i}");
                        let href = match alert.credential_id {
                            Some(credential) => format!("{}#credential-{credential}-title", nav::HOME),
                            None => nav::HOME.to_owned(),
                        };
                        let key = alert.key();
                        view! {
                            <div class="key-alert">
                                <p id=id.clone()>{alert.sentence()}" "<a href=href>{alert.action()}</a></p>
                                <button type="button" class="link" aria-describedby=id on:click=move |_| {
                                    remember(&(key.clone() + DISMISSED));
                                    dismissals.update(|n| *n += 1);
                                    // The button is gone: the focus goes to the page, not the document's top.
                                    crate::router::focus_after_render("main".to_owned());
                                }>"Dismiss"</button>
                            </div>
                        }
                    }).collect_view()}
                </section>
            })
        }}
    }
}

//! "Select the license(s) of your credential": a button that opens a multi-select list of licenses.
//!
//! The list is a `listbox` with `aria-multiselectable="true"`; each license is an `option` whose
//! `aria-selected` says whether it is chosen, and a chosen one shows a green check mark. Keyboard: on
//! the button, Enter, Space or the arrow keys open the list and move focus into it; in the list the
//! arrow keys, Home and End move, Space or Enter checks or unchecks, Escape closes and returns to the
//! button, Tab closes and moves on. A click outside closes it.

use crate::components::popup::close_on_escape_or_outside_click;
use leptos::prelude::*;
use shared::credential::LicenseOption;

pub const LABEL: &str = "Select the license(s) of your credential";

#[component]
pub fn LicenseMultiSelect(
    /// A prefix for element ids, unique on the page.
    id: String,
    /// The licenses offered, in order.
    options: Signal<Vec<LicenseOption>>,
    selected: RwSignal<Vec<i64>>,
    /// Said in place of the list when nothing can be offered.
    empty_note: Signal<String>,
    disabled: Signal<bool>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let active = RwSignal::new(0usize);
    let container = NodeRef::<leptos::html::Div>::new();
    let button = NodeRef::<leptos::html::Button>::new();
    let listbox = NodeRef::<leptos::html::Div>::new();
    let focus_button = move || {
        if let Some(b) = button.get_untracked() {
            let _ = b.focus();
        }
    };
    close_on_escape_or_outside_click(container, open, focus_button);
    Effect::new(move |_| {
        if open.get()
            && let Some(list) = listbox.get()
        {
            let _ = list.focus();
        }
    });

    let toggle = move |license: i64| {
        selected.update(|s| match s.iter().position(|id| *id == license) {
            Some(i) => {
                s.remove(i);
            }
            None => s.push(license),
        });
    };
    let on_button_key = move |e: leptos::ev::KeyboardEvent| {
        if matches!(e.key().as_str(), "ArrowDown" | "ArrowUp") {
            e.prevent_default();
            open.set(true);
        }
    };
    let on_list_key = move |e: leptos::ev::KeyboardEvent| {
        let count = options.with_untracked(Vec::len);
        if count == 0 {
            return;
        }
        let last = count - 1;
        let key = e.key();
        let moved = match key.as_str() {
            "ArrowDown" => Some((active.get_untracked() + 1).min(last)),
            "ArrowUp" => Some(active.get_untracked().saturating_sub(1)),
            "Home" => Some(0),
            "End" => Some(last),
            _ => None,
        };
        if let Some(index) = moved {
            e.prevent_default();
            active.set(index);
        } else if key == " " || key == "Enter" {
            e.prevent_default();
            if let Some(license) =
                options.with_untracked(|o| o.get(active.get_untracked()).map(|l| l.id))
            {
                toggle(license);
            }
        } else if key == "Tab" {
            open.set(false);
        }
    };

    let option_id = {
        let id = id.clone();
        move |license: i64| format!("{id}-license-{license}")
    };
    let listbox_id = format!("{id}-licenses");
    let summary_id = format!("{id}-licenses-chosen");
    let error_id = format!("{id}-licenses-error");
    let summary = move || {
        let chosen = selected.get();
        let numbers: Vec<String> = options.with(|o| {
            o.iter()
                .filter(|l| chosen.contains(&l.id))
                .map(|l| l.number.to_string())
                .collect()
        });
        if numbers.is_empty() {
            "No license selected".to_owned()
        } else {
            format!("Selected: {}", numbers.join(", "))
        }
    };
    let active_id = {
        let option_id = option_id.clone();
        move || {
            options
                .with(|o| o.get(active.get()).map(|l| l.id))
                .map(&option_id)
        }
    };

    view! {
        <div class="multi-select" node_ref=container>
            <button
                type="button"
                class="multi-select-button"
                node_ref=button
                aria-haspopup="listbox"
                aria-expanded=move || open.get().to_string()
                aria-controls=listbox_id.clone()
                aria-describedby=format!("{summary_id} {error_id}")
                aria-invalid=move || error.read().is_some().to_string()
                disabled=move || disabled.get()
                on:click=move |_| open.update(|o| *o = !*o)
                on:keydown=on_button_key
            >
                {LABEL}
                <span class="chevron" aria-hidden="true">"▾"</span>
            </button>
            <p id=summary_id class="multi-select-summary">{summary}</p>
            {move || open.get().then(|| {
                let option_id = option_id.clone();
                if options.with(Vec::is_empty) {
                    return leptos::either::Either::Left(view! {
                        <p class="multi-select-empty" id=listbox_id.clone()>{empty_note.get()}</p>
                    });
                }
                leptos::either::Either::Right(view! {
                    <div
                        role="listbox"
                        class="multi-select-list"
                        id=listbox_id.clone()
                        tabindex="0"
                        node_ref=listbox
                        aria-multiselectable="true"
                        aria-label=LABEL
                        aria-activedescendant=active_id.clone()
                        on:keydown=on_list_key
                    >
                        {options.get().into_iter().enumerate().map(|(index, license)| {
                            let license_id = license.id;
                            let is_selected = move || selected.read().contains(&license_id);
                            view! {
                                <div
                                    role="option"
                                    id=option_id(license_id)
                                    class="multi-select-option"
                                    class:active=move || active.get() == index
                                    aria-selected=move || is_selected().to_string()
                                    on:click=move |_| {
                                        active.set(index);
                                        toggle(license_id);
                                    }
                                >
                                    <span class="check" aria-hidden="true">{move || if is_selected() { "✓" } else { "" }}</span>
                                    {license.label()}
                                </div>
                            }
                        }).collect_view()}
                    </div>
                })
            })}
            <p id=error_id class="field-error">{move || error.get()}</p>
        </div>
    }
}

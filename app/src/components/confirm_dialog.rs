//! A confirmation dialog: the browser's own modal `<dialog>`, which keeps focus inside it, closes on
//! Escape and makes the rest of the page inert. A click outside it (on the backdrop) cancels too.
//! "Cancel" has the focus when it opens, so a stray Enter never confirms a deletion.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

#[component]
pub fn ConfirmDialog(
    /// A prefix for element ids, unique on the page.
    id: String,
    open: RwSignal<bool>,
    title: &'static str,
    body: Signal<String>,
    confirm_label: &'static str,
    busy: Signal<bool>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let Some(element) = dialog.get() else { return };
        if open.get() {
            if !element.open() {
                let _ = element.show_modal();
            }
        } else if element.open() {
            element.close();
        }
    });
    let title_id = format!("{id}-title");
    let body_id = format!("{id}-body");
    let (title_ref, body_ref) = (title_id.clone(), body_id.clone());
    // A click whose target is the <dialog> itself landed on its backdrop: its content fills it.
    let on_click = move |e: leptos::ev::MouseEvent| {
        let on_backdrop = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlDialogElement>().ok())
            .is_some();
        if on_backdrop {
            open.set(false);
        }
    };
    view! {
        <dialog
            class="confirm-dialog"
            node_ref=dialog
            aria-labelledby=title_ref
            aria-describedby=body_ref
            on:close=move |_| open.set(false)
            on:click=on_click
        >
            <div class="confirm-dialog-content">
                <h2 id=title_id>{title}</h2>
                <p id=body_id>{move || body.get()}</p>
                <div class="dialog-actions">
                    <button
                        type="button"
                        class="danger"
                        disabled=move || busy.get()
                        aria-busy=move || busy.get().to_string()
                        on:click=move |_| on_confirm.run(())
                    >
                        {confirm_label}
                    </button>
                    <button type="button" class="secondary" autofocus on:click=move |_| open.set(false)>
                        "Cancel"
                    </button>
                </div>
            </div>
        </dialog>
    }
}

//! What every pop-up (the avatar menu, the license dropdown) does the same way: it closes on Escape
//! and on a click anywhere outside it.

use leptos::ev;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

/// Closes `open` on Escape and on a click outside `container`; `on_escape` runs after an Escape that
/// closed it (to give focus back to the control that opened it).
pub fn close_on_escape_or_outside_click(
    container: NodeRef<leptos::html::Div>,
    open: RwSignal<bool>,
    on_escape: impl Fn() + 'static,
) {
    let on_key = window_event_listener(ev::keydown, move |e| {
        if e.key() == "Escape" && open.get_untracked() {
            open.set(false);
            on_escape();
        }
    });
    let on_click = window_event_listener(ev::click, move |e| {
        let inside =
            container
                .get_untracked()
                .zip(e.target())
                .is_some_and(|(container, target)| {
                    target
                        .dyn_ref::<web_sys::Node>()
                        .is_some_and(|node| container.contains(Some(node)))
                });
        if !inside {
            open.set(false);
        }
    });
    on_cleanup(move || {
        on_key.remove();
        on_click.remove();
    });
}

//! The client's router: the current address as a signal, links and history handled in place.
//!
//! leptos_router would do this and more, but it costs about 20 KB of the compressed WebAssembly (a sixth
//! of the download) for what this application needs: a handful of fixed paths, one query parameter,
//! links, and the browser's back and forward buttons. So the address lives here: `path` and `search`
//! follow `history` (and `popstate`), clicks on same-site links navigate without a page load, and
//! [`Router::navigate`] pushes or replaces history entries.

use leptos::ev;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;

#[derive(Debug, Clone, Copy)]
pub struct Router {
    path: RwSignal<String>,
    search: RwSignal<String>,
    /// Whether a path is one of this bundle's pages; any other is a page load (the admin pages are a
    /// bundle of their own, so staff never download them).
    owns: fn(&str) -> bool,
}

impl Router {
    /// The current path, e.g. `/account/traceability-credentials` (tracked).
    pub fn path(&self) -> String {
        self.path.get()
    }

    /// A decoded query parameter of the current address (tracked).
    pub fn query(&self, name: &str) -> Option<String> {
        crate::nav::query_param(&self.search.read(), name)
    }

    /// The current path with its query, to come back to after signing in.
    pub fn here(&self) -> String {
        format!(
            "{}{}",
            self.path.get_untracked(),
            self.search.get_untracked()
        )
    }

    /// Goes to a path on this site: a new history entry, or in place of the current one.
    pub fn navigate(&self, to: &str, replace: bool) {
        if !(self.owns)(to.split(['?', '#']).next().unwrap_or_default()) {
            let _ = window().location().set_href(to);
            return;
        }
        let history = window().history();
        let done = history.and_then(|h| {
            if replace {
                h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
            } else {
                h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(to))
            }
        });
        if done.is_err() {
            // Without history (should not happen), a plain page load still gets there.
            let _ = window().location().set_href(to);
            return;
        }
        self.sync();
        match to.split_once('#') {
            // A link to a part of a page (a credential, from the banner): its element takes the focus.
            Some((_, id)) => focus_after_render(id.to_owned()),
            None => window().scroll_to_with_x_and_y(0.0, 0.0),
        }
    }

    /// Reads the address from the browser. Only a part that changed notifies, so an effect that
    /// navigates to where it already is does not run again.
    /// An address without a page of its own (`/`, `/account`) is replaced by the page it stands for.
    fn sync(&self) {
        let location = window().location();
        let path = location.pathname().unwrap_or_default();
        if let Some(page) = crate::nav::page_for_alias(&path) {
            let replaced = window().history().and_then(|h| {
                h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(page))
            });
            if replaced.is_ok() {
                set_if_changed(self.path, page.to_owned());
                set_if_changed(self.search, String::new());
                return;
            }
        }
        set_if_changed(self.path, path);
        set_if_changed(self.search, location.search().unwrap_or_default());
    }
}

/// Moves the keyboard focus to the element `id` once the page has been drawn again (scrolling it into
/// view), so that a keyboard user is not sent back to the top of the page when the list they were in is
/// re-rendered, and a link to a part of a page lands there.
pub fn focus_after_render(id: String) {
    request_animation_frame(move || {
        if let Some(element) = document()
            .get_element_by_id(&id)
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = element.focus();
        }
    });
}

fn set_if_changed(signal: RwSignal<String>, value: String) {
    signal.maybe_update(|current| {
        let changed = *current != value;
        if changed {
            *current = value;
        }
        changed
    });
}

/// Provides the router, following the browser's back and forward buttons and same-site link clicks to
/// the paths this bundle `owns`.
pub fn provide_router(owns: fn(&str) -> bool) {
    let router = Router {
        path: RwSignal::new(String::new()),
        search: RwSignal::new(String::new()),
        owns,
    };
    router.sync();
    provide_context(router);
    // The listeners live as long as the page: the router is provided once, at the root.
    let _ = window_event_listener(ev::popstate, move |_| router.sync());
    let _ = window_event_listener(ev::click, move |e| follow_link(router, &e));
}

pub fn use_router() -> Router {
    expect_context::<Router>()
}

/// Handles a click on a link to this site in place, as a browser would but without a page load.
/// Anything else (modifier keys, other buttons, `target`, `download`, other sites) is left to the browser.
fn follow_link(router: Router, e: &web_sys::MouseEvent) {
    if e.default_prevented()
        || e.button() != 0
        || e.meta_key()
        || e.ctrl_key()
        || e.shift_key()
        || e.alt_key()
    {
        return;
    }
    let anchor = e
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|el| el.closest("a[href]").ok().flatten())
        .and_then(|el| el.dyn_into::<web_sys::HtmlAnchorElement>().ok());
    let Some(anchor) = anchor else { return };
    if !anchor.target().is_empty() || anchor.has_attribute("download") {
        return;
    }
    let same_site = window()
        .location()
        .origin()
        .is_ok_and(|origin| anchor.origin() == origin);
    let path = anchor.pathname();
    if !same_site || !(router.owns)(&path) {
        return;
    }
    e.prevent_default();
    router.navigate(
        &format!("{path}{}{}", anchor.search(), anchor.hash()),
        false,
    );
}

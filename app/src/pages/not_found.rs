use crate::nav;
use leptos::prelude::*;

/// Any address the client does not know.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <main class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address."</p>
            <p><a href=nav::HOME>"Go to your traceability credentials"</a></p>
        </main>
    }
}

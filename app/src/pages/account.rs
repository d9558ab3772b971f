//! "Manage account": a left side menu and the section it opens.

use crate::nav;
use leptos::prelude::*;

/// The Manage account layout: the left side menu beside the chosen section.
#[component]
pub fn ManageAccount(children: Children) -> impl IntoView {
    view! {
        <div class="manage-account">
            <nav class="side-menu" aria-label="Manage account">
                <h2 class="side-menu-title">"Manage account"</h2>
                <ul>
                    <li><a href=nav::HOME aria-current="page">"Traceability Credentials"</a></li>
                </ul>
            </nav>
            <section class="account-section">{children()}</section>
        </div>
    }
}

/// The user's METRC credentials.
#[component]
pub fn TraceabilityCredentials() -> impl IntoView {
    view! {
        <h1>"Traceability Credentials"</h1>
        <div class="empty-state">
            <p class="empty-title">"You have no traceability credentials yet."</p>
            <p>
                "A traceability credential holds your own METRC user API key for the licenses it covers, so that "
                "the sales and adjustments you make are reported to METRC under your name. Without one, they are "
                "reported with your organization's default METRC key."
            </p>
            <p class="muted">"Adding credentials is not available yet in this version."</p>
        </div>
    }
}

//! "Manage account": a left side menu and the section it opens.

use crate::nav;
use crate::router::use_router;
use leptos::prelude::*;

/// The Manage account layout: the left side menu beside the chosen section.
#[component]
pub fn ManageAccount(children: Children) -> impl IntoView {
    let router = use_router();
    let current = move |path: &'static str| (router.path() == path).then_some("page");
    view! {
        <div class="manage-account">
            <nav class="side-menu" aria-label="Manage account">
                <h2 class="side-menu-title">"Manage account"</h2>
                <ul>
                    <li><a href=nav::HOME aria-current=move || current(nav::HOME)>"Traceability Credentials"</a></li>
                    <li><a href=nav::ACCOUNT_SECURITY aria-current=move || current(nav::ACCOUNT_SECURITY)>"Password & sessions"</a></li>
                </ul>
            </nav>
            <section class="account-section">{children()}</section>
        </div>
    }
}

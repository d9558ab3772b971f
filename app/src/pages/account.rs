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

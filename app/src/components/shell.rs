//! The signed-in frame: a top bar with the organization's name and the green avatar menu, around the
//! page. Visitors who are not signed in are sent to the sign-in page, and back here afterwards.

use crate::components::toasts::use_toasts;
use crate::nav;
use crate::router::use_router;
use crate::session::{Session, use_session};
use leptos::either::Either;
use leptos::prelude::*;

#[component]
pub fn Shell(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let router = use_router();
    Effect::new(move |_| {
        if session.get() == Session::SignedOut {
            router.navigate(&nav::sign_in_returning_to(&router.here()), true);
        }
    });
    view! {
        {move || match session.get() {
            Session::SignedIn(me) => Either::Left(view! {
                <header class="top-bar">
                    <span class="brand">"Traceability Credentials"</span>
                    <span class="organization">{me.organization.name.clone()}</span>
                    <AvatarMenu initials=me.user.initials.clone() name=me.user.display_name.clone() admin=me.user.role == shared::Role::Admin/>
                </header>
                <main class="page" id="main" tabindex="-1">
                    <crate::components::key_alerts::KeyAlerts/>
                    {children()}
                </main>
            }),
            _ => Either::Right(view! { <p class="loading" aria-live="polite">"Loading…"</p> }),
        }}
    }
}

/// The green avatar with the user's initials, opening the account menu.
#[component]
fn AvatarMenu(initials: String, name: String, admin: bool) -> impl IntoView {
    let open = RwSignal::new(false);
    let first_item = NodeRef::<leptos::html::A>::new();
    let menu = NodeRef::<leptos::html::Div>::new();
    let session = use_session();
    let toasts = use_toasts();
    let router = use_router();

    crate::components::popup::close_on_escape_or_outside_click(menu, open, || ());
    Effect::new(move |_| {
        if open.get()
            && let Some(item) = first_item.get()
        {
            let _ = item.focus();
        }
    });

    let sign_out = move |_| {
        open.set(false);
        leptos::task::spawn_local(async move {
            match crate::api::sign_out().await {
                Ok(()) => {
                    session.set(Session::SignedOut);
                    router.navigate(nav::SIGN_IN, true);
                }
                Err(e) => toasts.error(e.message),
            }
        });
    };

    // Its name starts with the initials it shows (WCAG 2.5.3, label in name).
    let label = format!("{initials}, account menu for {name}");
    view! {
        <div class="avatar-menu" node_ref=menu>
            <button
                type="button"
                class="avatar"
                aria-label=label
                aria-haspopup="menu"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {initials}
            </button>
            {move || open.get().then(|| view! {
                <div class="menu" role="menu" aria-label="Account">
                    <a href=nav::HOME role="menuitem" class="menu-item" node_ref=first_item on:click=move |_| open.set(false)>
                        "Manage account"
                    </a>
                    <a href=nav::REGISTER role="menuitem" class="menu-item">"Register"</a>
                    {admin.then(|| view! {
                        <a href=nav::ORGANIZATION role="menuitem" class="menu-item">"Organization Management"</a>
                        <a href=nav::CONFIG role="menuitem" class="menu-item">"Config Page"</a>
                        <a href=nav::COMPLIANCE role="menuitem" class="menu-item">"Compliance Management"</a>
                    })}
                    <button type="button" role="menuitem" class="menu-item" on:click=sign_out>
                        "Sign out"
                    </button>
                </div>
            })}
        </div>
    }
}

//! The admin bundle: Organization Management, Config Page > Integration, and the set-password page a
//! new user reaches through their one-time link. Built into `dist/admin/` from `admin.html`; the
//! credentials bundle links here with page loads and never contains this code.

pub mod integration;
pub mod licenses;
pub mod set_password;

use crate::components::shell::Shell;
use crate::components::toasts::{Toasts, provide_toasts};
use crate::session::{Session, use_session};
use crate::{nav, router, session};
use leptos::either::{Either, EitherOf4};
use leptos::prelude::*;
use serde::de::DeserializeOwned;
use shared::api::ApiError;

#[component]
pub fn AdminApp() -> impl IntoView {
    router::provide_router(nav::is_admin_path);
    provide_toasts();
    session::provide_session();
    let router = router::use_router();
    view! {
        {move || match router.path().as_str() {
            nav::SET_PASSWORD => EitherOf4::A(view! { <set_password::SetPasswordPage/> }),
            nav::ORGANIZATION => EitherOf4::B(view! {
                <AdminPage><licenses::OrganizationManagement/></AdminPage>
            }),
            nav::CONFIG => EitherOf4::C(view! {
                <AdminPage><integration::ConfigPage/></AdminPage>
            }),
            _ => EitherOf4::D(view! { <crate::pages::not_found::NotFound/> }),
        }}
        <Toasts/>
    }
}

/// The signed-in frame, for admins only: a staff member who opens an admin address is told so.
#[component]
fn AdminPage(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let children = StoredValue::new(children);
    view! {
        <Shell>
            {move || match session.get() {
                Session::SignedIn(me) if me.user.role == shared::Role::Admin => {
                    Either::Left(children.with_value(|c| c()))
                }
                _ => Either::Right(view! {
                    <p class="load-error" role="alert">{shared::admin::messages::ADMINS_ONLY}</p>
                }),
            }}
        </Shell>
    }
}

/// A form's submission: nothing while one is running; the shared rules' verdict first, so bad fields
/// are marked at once without a round trip; then `send`, whose refusal marks its fields and shows its
/// message. The form keeps what was typed either way.
pub fn submit<R: 'static, Fut>(
    busy: RwSignal<bool>,
    errors: RwSignal<Vec<shared::api::FieldError>>,
    toasts: crate::components::toasts::ToastQueue,
    checked: Result<R, Vec<shared::api::FieldError>>,
    send: impl FnOnce(R) -> Fut + 'static,
) where
    Fut: Future<Output = Result<(), ApiError>> + 'static,
{
    if busy.get_untracked() {
        return;
    }
    let request = match checked {
        Ok(request) => request,
        Err(found) => {
            errors.set(found);
            return;
        }
    };
    errors.set(Vec::new());
    busy.set(true);
    leptos::task::spawn_local(async move {
        if let Err(e) = send(request).await {
            errors.set(e.fields.clone());
            toasts.error(e.message);
        }
        busy.set(false);
    });
}

/// `GET` an admin API answer.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, ApiError> {
    crate::api::decode(crate::api::call("GET", url, None).await?)
}

/// `POST`/`PUT` a body and read the answer.
pub async fn send<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: &impl serde::Serialize,
) -> Result<T, ApiError> {
    let body = Some(crate::api::body(body)?);
    crate::api::decode(crate::api::call(method, url, body).await?)
}

/// A request whose answer has no body (`DELETE`, `204`).
pub async fn send_empty(method: &str, url: &str) -> Result<(), ApiError> {
    crate::api::call(method, url, None).await.map(drop)
}

/// "Organization Management" with its tabs.
#[component]
pub fn OrganizationTabs() -> impl IntoView {
    view! {
        <h1>"Organization Management"</h1>
        <nav class="tabs" aria-label="Organization Management">
            <a href=nav::ORGANIZATION aria-current="page">"Licenses"</a>
        </nav>
    }
}

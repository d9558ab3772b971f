//! The admin bundle: Organization Management, Config Page > Integration, and the set-password page a
//! new user reaches through their one-time link. Built into `dist/admin/` from `admin.html`; the
//! credentials bundle links here with page loads and never contains this code.

pub mod integration;
pub mod licenses;
pub mod set_password;
pub mod users;

use crate::components::shell::Shell;
use crate::components::toasts::{Toasts, provide_toasts};
use crate::session::{Session, use_session};
use crate::{nav, router, session};
use leptos::either::{Either, EitherOf5};
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
            nav::SET_PASSWORD => EitherOf5::A(view! { <set_password::SetPasswordPage/> }),
            nav::ORGANIZATION => EitherOf5::B(view! {
                <AdminPage><licenses::OrganizationManagement/></AdminPage>
            }),
            nav::ORGANIZATION_USERS => EitherOf5::C(view! {
                <AdminPage><users::UsersTab/></AdminPage>
            }),
            nav::CONFIG => EitherOf5::D(view! {
                <AdminPage><integration::ConfigPage/></AdminPage>
            }),
            _ => EitherOf5::E(view! { <crate::pages::not_found::NotFound/> }),
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

/// A page's data, loaded from `url` (and again on `reload`), or the reason it could not be.
#[derive(Debug)]
pub struct Loaded<T: Send + Sync + 'static> {
    pub data: RwSignal<Option<T>>,
    pub error: RwSignal<Option<String>>,
    url: &'static str,
}

impl<T: Send + Sync + 'static> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Loaded<T> {}

impl<T: DeserializeOwned + Send + Sync + 'static> Loaded<T> {
    /// Starts loading at once.
    pub fn new(url: &'static str) -> Self {
        let loaded = Loaded {
            data: RwSignal::new(None),
            error: RwSignal::new(None),
            url,
        };
        loaded.reload();
        loaded
    }

    pub fn reload(self) {
        leptos::task::spawn_local(async move {
            match get::<T>(self.url).await {
                Ok(value) => {
                    self.data.set(Some(value));
                    self.error.set(None);
                }
                Err(e) => self.error.set(Some(e.message)),
            }
        });
    }

    /// The load error, as an alert.
    pub fn error_view(self) -> impl IntoView {
        move || {
            self.error
                .get()
                .map(|m| view! { <p class="load-error" role="alert">{m}</p> })
        }
    }
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
    let router = router::use_router();
    let current = move |path: &'static str| (router.path() == path).then_some("page");
    view! {
        <h1>"Organization Management"</h1>
        <nav class="tabs" aria-label="Organization Management">
            <a href=nav::ORGANIZATION aria-current=move || current(nav::ORGANIZATION)>"Licenses"</a>
            <a href=nav::ORGANIZATION_USERS aria-current=move || current(nav::ORGANIZATION_USERS)>"Users"</a>
        </nav>
    }
}

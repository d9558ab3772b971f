//! The admin bundle: Organization Management, Config Page > Integration, and the set-password page a
//! new user reaches through their one-time link. Built into `dist/admin/` from `admin.html`; the
//! credentials bundle links here with page loads and never contains this code.

pub mod audit;
pub mod compliance;
pub mod coverage;
pub mod integration;
pub mod licenses;
pub mod register;
pub mod set_password;
pub mod users;

use crate::components::shell::Shell;
use crate::components::toasts::{Toasts, provide_toasts};
use crate::session::{Session, use_session};
use crate::{nav, router, session};
use leptos::either::{Either, EitherOf9};
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
            nav::SET_PASSWORD => EitherOf9::A(view! { <set_password::SetPasswordPage/> }),
            nav::REGISTER => EitherOf9::H(view! {
                <Shell><register::RegisterPage/></Shell>
            }),
            nav::COMPLIANCE => EitherOf9::I(view! {
                <AdminPage><compliance::CompliancePage/></AdminPage>
            }),
            nav::ORGANIZATION => EitherOf9::B(view! {
                <AdminPage><licenses::OrganizationManagement/></AdminPage>
            }),
            nav::ORGANIZATION_USERS => EitherOf9::C(view! {
                <AdminPage><users::UsersTab/></AdminPage>
            }),
            nav::ORGANIZATION_COVERAGE => EitherOf9::D(view! {
                <AdminPage><coverage::CoverageTab/></AdminPage>
            }),
            nav::ORGANIZATION_AUDIT => EitherOf9::E(view! {
                <AdminPage><audit::AuditTab/></AdminPage>
            }),
            nav::CONFIG => EitherOf9::F(view! {
                <AdminPage><integration::ConfigPage/></AdminPage>
            }),
            _ => EitherOf9::G(view! { <crate::pages::not_found::NotFound/> }),
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

/// A page's data, loaded from `url` (and again on `reload`, or from another address with `load`), or
/// the reason it could not be.
#[derive(Debug)]
pub struct Loaded<T: Send + Sync + 'static> {
    pub data: RwSignal<Option<T>>,
    pub error: RwSignal<Option<String>>,
    url: RwSignal<String>,
}

impl<T: Send + Sync + 'static> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Loaded<T> {}

impl<T: DeserializeOwned + Send + Sync + 'static> Loaded<T> {
    /// Starts loading at once.
    pub fn new(url: &str) -> Self {
        let loaded = Loaded::idle();
        loaded.load(url.to_owned());
        loaded
    }

    /// Nothing loaded yet: the first [`Loaded::load`] says from where.
    pub fn idle() -> Self {
        Loaded {
            data: RwSignal::new(None),
            error: RwSignal::new(None),
            url: RwSignal::new(String::new()),
        }
    }

    /// Loads from another address (a page, a filter), keeping the old data on screen meanwhile.
    pub fn load(self, url: String) {
        self.url.set(url);
        self.reload();
    }

    pub fn reload(self) {
        let url = self.url.get_untracked();
        leptos::task::spawn_local(async move {
            match get::<T>(&url).await {
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

/// A change to one row (`PUT url`), asked about first when it takes something away: the warning says
/// what, in a dialog, and only "Yes, continue" sends it. Afterwards `on_saved` reloads the page.
#[derive(Debug)]
pub struct Changes<R: Send + Sync + 'static> {
    /// The address, the change, its success message and its warning, while the dialog asks.
    pending: RwSignal<Option<(String, R, String, String)>>,
    open: RwSignal<bool>,
    busy: RwSignal<bool>,
    toasts: crate::components::toasts::ToastQueue,
    on_saved: Callback<()>,
}

impl<R: Send + Sync + 'static> Clone for Changes<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Send + Sync + 'static> Copy for Changes<R> {}

impl<R: serde::Serialize + Clone + Send + Sync + 'static> Changes<R> {
    pub fn new(on_saved: Callback<()>) -> Self {
        Changes {
            pending: RwSignal::new(None),
            open: RwSignal::new(false),
            busy: RwSignal::new(false),
            toasts: crate::components::toasts::use_toasts(),
            on_saved,
        }
    }

    /// Sends `request` at once, or after a confirmation when there is a `warning`.
    pub fn request(self, url: String, request: R, saved: String, warning: Option<String>) {
        match warning {
            Some(warning) => {
                self.pending.set(Some((url, request, saved, warning)));
                self.open.set(true);
            }
            None => self.apply(url, request, saved),
        }
    }

    fn apply(self, url: String, request: R, saved: String) {
        self.busy.set(true);
        leptos::task::spawn_local(async move {
            let outcome = match crate::api::body(&request) {
                Ok(body) => crate::api::call("PUT", &url, Some(body)).await.map(drop),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => self.toasts.success(saved),
                Err(e) => self.toasts.error(e.message),
            }
            // Saved or refused (a newer version, say), the page shows the rows as they are now.
            self.on_saved.run(());
            self.busy.set(false);
            self.open.set(false);
        });
    }

    /// The confirmation dialog ("Cancel", Escape or a click outside keeps everything as it is).
    pub fn dialog(
        self,
        id: &'static str,
        title: &'static str,
        confirm_label: &'static str,
    ) -> impl IntoView {
        let body = Signal::derive(move || {
            self.pending
                .read()
                .as_ref()
                .map(|(_, _, _, warning)| warning.clone())
                .unwrap_or_default()
        });
        view! {
            <crate::components::confirm_dialog::ConfirmDialog
                id=id.to_owned()
                open=self.open
                title
                body
                confirm_label
                busy=self.busy.into()
                on_confirm=Callback::new(move |()| {
                    if let Some((url, request, saved, _)) = self.pending.get_untracked() {
                        self.apply(url, request, saved);
                    }
                })
            />
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
            <a href=nav::ORGANIZATION_COVERAGE aria-current=move || current(nav::ORGANIZATION_COVERAGE)>"Coverage"</a>
            <a href=nav::ORGANIZATION_AUDIT aria-current=move || current(nav::ORGANIZATION_AUDIT)>"Audit log"</a>
        </nav>
    }
}

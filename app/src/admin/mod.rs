//! The admin bundle: Organization Management, Config Page > Integration, Compliance Management — and,
//! from `crate::pages`, Register and the set-password page a new user reaches through their one-time
//! link. Built into `dist/admin/` from `admin.html`; the credentials bundle links here with page loads
//! and never contains this code.

pub mod accountability;
pub mod audit;
pub mod compliance;
pub mod coverage;
pub mod integration;
pub mod licenses;
pub mod users;

use crate::components::shell::Shell;
use crate::components::toasts::{Toasts, provide_toasts};
use crate::session::{Session, use_session};
use crate::{nav, router, session};
use leptos::either::{Either, EitherOf10};
use leptos::prelude::*;
use leptos::wasm_bindgen::JsValue;
use serde::de::DeserializeOwned;
use shared::api::ApiError;
use std::marker::PhantomData;
use std::pin::Pin;

#[component]
pub fn AdminApp() -> impl IntoView {
    router::provide_router(nav::is_admin_path);
    provide_toasts();
    session::provide_session();
    let router = router::use_router();
    view! {
        {move || match router.path().as_str() {
            nav::SET_PASSWORD => EitherOf10::A(view! { <crate::pages::set_password::SetPasswordPage/> }),
            nav::REGISTER => EitherOf10::H(view! {
                <Shell><AdminNav/><crate::pages::register::RegisterPage/></Shell>
            }),
            nav::ACCOUNT_SECURITY => EitherOf10::J(view! {
                <Shell>
                    <crate::pages::account::ManageAccount>
                        <crate::pages::security::PasswordAndSessions/>
                    </crate::pages::account::ManageAccount>
                </Shell>
            }),
            nav::COMPLIANCE => EitherOf10::I(view! {
                <AdminPage><compliance::CompliancePage/></AdminPage>
            }),
            nav::ORGANIZATION => EitherOf10::B(view! {
                <AdminPage><licenses::OrganizationManagement/></AdminPage>
            }),
            nav::ORGANIZATION_USERS => EitherOf10::C(view! {
                <AdminPage><users::UsersTab/></AdminPage>
            }),
            nav::ORGANIZATION_COVERAGE => EitherOf10::D(view! {
                <AdminPage><coverage::CoverageTab/></AdminPage>
            }),
            nav::ORGANIZATION_AUDIT => EitherOf10::E(view! {
                <AdminPage><audit::AuditTab/></AdminPage>
            }),
            nav::CONFIG => EitherOf10::F(view! {
                <AdminPage><integration::ConfigPage/></AdminPage>
            }),
            _ => EitherOf10::G(view! { <crate::pages::not_found::NotFound/> }),
        }}
        <Toasts/>
    }
}

/// The admin pages' own navigation, on each of them and on Register for an admin: where you are is
/// marked (`aria-current="page"`).
#[component]
pub fn AdminNav() -> impl IntoView {
    let session = use_session();
    let router = router::use_router();
    let here = move |path: &'static str| {
        let now = router.path();
        let section = if path == nav::ORGANIZATION {
            "/admin/organization/"
        } else {
            path
        };
        // "page" on the page itself; "true" on the section a page is in (Organization Management's tabs).
        if now == path {
            Some("page")
        } else {
            now.starts_with(section).then_some("true")
        }
    };
    move || {
        matches!(session.get(), Session::SignedIn(me) if me.user.role == shared::Role::Admin).then(|| {
            view! {
                <nav class="admin-nav" aria-label="Administration">
                    <a href=nav::ORGANIZATION aria-current=move || here(nav::ORGANIZATION)>"Organization Management"</a>
                    <a href=nav::CONFIG aria-current=move || here(nav::CONFIG)>"Config Page"</a>
                    <a href=nav::COMPLIANCE aria-current=move || here(nav::COMPLIANCE)>"Compliance Management"</a>
                    <a href=nav::REGISTER aria-current=move || here(nav::REGISTER)>"Register"</a>
                </nav>
            }
        })
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
                    Either::Left(view! { <AdminNav/> {children.with_value(|c| c())} })
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

/// A page's data from the admin API: a Leptos [`LocalResource`] over `GET url()`. The address is tracked
/// (a change of page or filter loads again) and [`Loaded::reload`] loads it again. Leptos runs one load
/// at a time and keeps the newest run's answer, so an older answer arriving last never replaces a newer
/// one; while a load runs, the previous answer stays on screen, and after a failed load the last good
/// answer stays beside the error (a poll that fails once does not empty the page).
///
/// The resource holds the answer as the browser parsed it (a `JsValue`, checked to read as `T` when it
/// arrives) and [`Loaded::data`] reads it as `T`: one copy of Leptos's resource machinery for every page,
/// not one per type (that cost the admin bundle about 19 KB — docs/toolchain.md).
pub struct Loaded<T: 'static> {
    resource: LocalResource<Answer>,
    read_as: PhantomData<fn() -> T>,
}

/// An answer's JSON, or why there is none with the last good answer (if any).
type Answer = Result<JsValue, (String, Option<JsValue>)>;

/// An answer's JSON, fetched anew each time the resource runs.
type Fetch = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result<JsValue, String>>>>>;

/// The one resource every [`Loaded`] is: each run's answer, a failure carrying the last good one.
fn resource(fetch: Fetch) -> LocalResource<Answer> {
    let last_good = std::rc::Rc::new(std::cell::RefCell::new(None::<JsValue>));
    LocalResource::new(move || {
        let answer = fetch();
        let last_good = last_good.clone();
        async move {
            match answer.await {
                Ok(value) => {
                    *last_good.borrow_mut() = Some(value.clone());
                    Ok(value)
                }
                Err(message) => Err((message, last_good.borrow().clone())),
            }
        }
    })
}

/// The answer to show: this run's, or the last good one.
fn shown(answer: Answer) -> Option<JsValue> {
    match answer {
        Ok(value) | Err((_, Some(value))) => Some(value),
        Err((_, None)) => None,
    }
}

impl<T: 'static> std::fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Loaded")
    }
}

impl<T: 'static> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for Loaded<T> {}

impl<T: DeserializeOwned + 'static> Loaded<T> {
    /// Loads from `url()`, and again whenever what it reads changes.
    pub fn new(url: impl Fn() -> String + 'static) -> Self {
        Loaded::by(move || {
            let url = url();
            async move { crate::api::call(crate::api::Method::GET, &url, None).await }
        })
    }

    /// Loads with `fetch()` (several requests, say), and again whenever what it reads changes.
    pub fn by<Fut>(fetch: impl Fn() -> Fut + 'static) -> Self
    where
        Fut: Future<Output = Result<JsValue, ApiError>> + 'static,
    {
        Loaded {
            resource: resource(Box::new(move || {
                let answer = fetch();
                Box::pin(async move {
                    let value = answer.await.map_err(|e| e.message)?;
                    // An answer that does not read as `T` is an error now, not an empty page later.
                    match crate::js_json::from_js::<T>(value.clone()) {
                        Some(_) => Ok(value),
                        None => Err(crate::api::unreadable_answer().message),
                    }
                })
            })),
            read_as: PhantomData,
        }
    }

    /// Loads from one address.
    pub fn fixed(url: &'static str) -> Self {
        Loaded::new(move || url.to_owned())
    }

    pub fn reload(self) {
        self.resource.refetch();
    }

    /// The data (tracked): `None` until a load succeeds; the last good data after a failed one.
    pub fn data(self) -> Option<T> {
        self.resource
            .get()
            .and_then(shown)
            .and_then(crate::js_json::from_js)
    }

    /// The data, without subscribing to it.
    pub fn data_untracked(self) -> Option<T> {
        self.resource
            .get_untracked()
            .and_then(shown)
            .and_then(crate::js_json::from_js)
    }

    /// The load error, as an alert.
    pub fn error_view(self) -> impl IntoView {
        error_alert(self.resource)
    }
}

fn error_alert(resource: LocalResource<Answer>) -> impl IntoView {
    move || {
        resource
            .get()
            .and_then(Result::err)
            .map(|(m, _)| view! { <p class="load-error" role="alert">{m}</p> })
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
                Ok(body) => crate::api::call(crate::api::Method::PUT, &url, Some(body))
                    .await
                    .map(drop),
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
    crate::api::decode(crate::api::call(crate::api::Method::GET, url, None).await?)
}

/// `POST`/`PUT` a body and read the answer.
pub async fn send<T: DeserializeOwned>(
    method: crate::api::Method,
    url: &str,
    body: &impl serde::Serialize,
) -> Result<T, ApiError> {
    let body = Some(crate::api::body(body)?);
    crate::api::decode(crate::api::call(method, url, body).await?)
}

/// A request whose answer has no body (`DELETE`, `204`).
pub async fn send_empty(method: crate::api::Method, url: &str) -> Result<(), ApiError> {
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

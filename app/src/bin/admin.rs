//! The browser entry point Trunk builds from `admin.html`: the admin pages and the set-password page, a
//! bundle of their own so that the credentials page's download stays small.

fn main() {
    app::install_panic_hook();
    leptos::mount::mount_to_body(app::admin::AdminApp);
}

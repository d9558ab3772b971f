//! The browser entry point Trunk builds from `index.html`: the signed-in pages staff and admins use.

fn main() {
    app::install_panic_hook();
    leptos::mount::mount_to_body(app::App);
}

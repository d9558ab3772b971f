//! The browser entry point Trunk builds: mounts the application on the page.

fn main() {
    // A panic's message and location go to the browser console (std's default hook writes to a
    // stderr the browser does not have). Smaller than console_error_panic_hook, which adds a JS stack.
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&info.to_string().into());
    }));
    leptos::mount::mount_to_body(app::App);
}

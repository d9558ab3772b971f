//! Reusable pieces of the page, named after what the user sees.

pub mod confirm_dialog;
pub mod field;
pub mod key_alerts;
pub mod license_select;
pub mod popup;
pub mod shell;
pub mod toasts;

//! Reusable pieces of the page, named after what the user sees.

pub mod field;
pub mod shell;
pub mod toasts;

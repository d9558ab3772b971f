//! One module per page.

pub mod account;
pub mod credentials;
pub mod not_found;
pub mod sign_in;

//! One module per page. `register`, `security` and `set_password` are pages of the admin bundle
//! (`src/bin/admin.rs`) without being admin pages: anyone signed in records sales on Register and changes
//! their password, and a new user sets one; they sit in the second bundle so the credentials page's
//! download stays small.

pub mod account;
pub mod credentials;
pub mod not_found;
pub mod register;
pub mod security;
pub mod set_password;
pub mod sign_in;

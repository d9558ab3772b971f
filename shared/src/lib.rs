//! Types and rules shared by the Leptos client and the axum server.
//!
//! Everything here is pure: no I/O, no clocks, no randomness, so it compiles for `wasm32` and the host
//! alike. Each domain type has a private field and a `parse` that is the one place its rule is written;
//! the client runs it as the user types and the server runs it again before it decides anything.
//! Request bodies (in [`api`]) carry raw strings and are turned into these types with every field error
//! collected at once, so a form can mark all of its bad fields after one round trip.

pub mod api;
pub mod email;
pub mod license;
pub mod metrc_key;
pub mod provider;
pub mod state;
pub mod user;

pub use email::Email;
pub use license::LicenseNumber;
pub use metrc_key::MetrcUserKey;
pub use provider::Provider;
pub use state::StateCode;
pub use user::Role;

//! Types and rules shared by the Leptos client and the axum server.
//!
//! Everything here is pure: no I/O, no clocks, no randomness, so it compiles for `wasm32` and the host
//! alike. Each domain type has a private field and a `parse` that is the one place its rule is written;
//! the client runs it as the user types and the server runs it again before it decides anything.
//! Request bodies (in [`api`]) carry raw strings and are turned into these types with every field error
//! collected at once, so a form can mark all of its bad fields after one round trip.

/// The impls every checked string type shares: `Debug` and `Display` show the value, serde goes
/// through `parse` (`TryFrom<String>`) so a bad value cannot be deserialized, and `String::from` unwraps it.
macro_rules! string_newtype {
    ($name:ident, $error:ty) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = $error;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                $name::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

/// How a secret or personal field shows in `Debug`: whether it was given, never what it is.
pub(crate) fn redacted(value: &str) -> &'static str {
    if value.is_empty() { "" } else { "[redacted]" }
}

pub mod accountability;
pub mod admin;
pub mod api;
pub mod credential;
pub mod email;
pub mod license;
pub mod metrc_key;
pub mod provider;
pub mod report;
pub mod state;
pub mod user;

pub use email::Email;
pub use license::LicenseNumber;
pub use metrc_key::MetrcUserKey;
pub use provider::Provider;
pub use state::StateCode;
pub use user::Role;

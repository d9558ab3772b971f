//! Email addresses, the sign-in name of every user.

use serde::{Deserialize, Serialize};

/// The longest address SMTP allows.
pub const MAX_EMAIL_LEN: usize = 254;

/// An email address, trimmed and with ASCII letters lower-cased, so that one person cannot have two
/// accounts by case. (Only ASCII is folded: domains are ASCII, and full Unicode case tables would add
/// kilobytes to the browser's download for no real address.)
///
/// The check is deliberately modest (one `@`, a non-empty local part, a dotted domain, no spaces or
/// control characters): the real proof of an address is a message that reaches it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("An email address has at most {MAX_EMAIL_LEN} characters.")]
    TooLong,
    #[error("Enter an email address like name@example.com.")]
    Malformed,
}

impl Email {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.chars().count() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = email.split_once('@').ok_or(EmailError::Malformed)?;
        let well_formed = !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if !well_formed {
            return Err(EmailError::Malformed);
        }
        Ok(Email(email.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(Email, EmailError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Admin@Demo.Test ").map(String::from),
            Ok("admin@demo.test".to_owned())
        );
    }

    #[test]
    fn malformed_addresses_are_refused() {
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        for bad in [
            "admin",
            "@demo.test",
            "a@b",
            "a@b@c.d",
            "a b@c.d",
            "a@.c",
            "a@c.",
            "a@c..d",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad}");
        }
        let long = format!("{}@demo.test", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_what_parses_round_trips(raw in ".*") {
            if let Ok(email) = Email::parse(&raw) {
                prop_assert_eq!(Email::parse(email.as_str()), Ok(email));
            }
        }

        #[test]
        fn ordinary_addresses_parse(local in "[a-z0-9._+-]{1,20}", domain in "[a-z0-9-]{1,20}\\.[a-z]{2,6}") {
            let raw = format!("{local}@{domain}");
            prop_assert_eq!(Email::parse(&raw).map(String::from), Ok(raw));
        }
    }
}

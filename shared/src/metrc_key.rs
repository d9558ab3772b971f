//! The METRC user API key: a secret that belongs to one person's METRC account in one state.
//!
//! The type is built so that the key cannot leak by accident: it has no `Display`, its `Debug` prints a
//! placeholder, it is wiped from memory when dropped, and the only way to read it is the deliberately
//! loud [`MetrcUserKey::expose_secret`]. Whatever reaches a browser is [`MetrcUserKey::last_four`].

use std::fmt;
use zeroize::Zeroize;

/// The longest key we accept after trimming. Keys seen in the wild are 48 or 52 characters; METRC
/// documents no fixed length, so none is assumed.
pub const MAX_METRC_KEY_LEN: usize = 128;

/// A METRC user API key: 1–128 characters after trimming, with no whitespace or control characters inside.
pub struct MetrcUserKey(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetrcKeyError {
    #[error("Paste your METRC user API key.")]
    Empty,
    #[error(
        "A METRC user API key has at most {MAX_METRC_KEY_LEN} characters. Copy it again from METRC."
    )]
    TooLong,
    #[error(
        "A METRC user API key has no spaces or line breaks inside it. Copy it again from METRC."
    )]
    InnerWhitespace,
    #[error(
        "The METRC user API key contains characters a key cannot have. Copy it again from METRC."
    )]
    ControlCharacters,
}

impl MetrcUserKey {
    /// Trims surrounding whitespace (pasted keys often carry a newline) and checks what is left.
    /// Error messages never repeat the input.
    pub fn parse(raw: &str) -> Result<Self, MetrcKeyError> {
        let key = raw.trim();
        if key.is_empty() {
            return Err(MetrcKeyError::Empty);
        }
        if key.chars().count() > MAX_METRC_KEY_LEN {
            return Err(MetrcKeyError::TooLong);
        }
        if key.chars().any(char::is_whitespace) {
            return Err(MetrcKeyError::InnerWhitespace);
        }
        if key.chars().any(char::is_control) {
            return Err(MetrcKeyError::ControlCharacters);
        }
        Ok(MetrcUserKey(key.to_owned()))
    }

    /// The key itself, for the one place that needs it: the METRC client's Basic authentication,
    /// and the encryption of the stored copy.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The last four characters, the only part of a key that is ever shown (as `••••abcd`).
    pub fn last_four(&self) -> String {
        let count = self.0.chars().count();
        self.0.chars().skip(count.saturating_sub(4)).collect()
    }
}

impl fmt::Debug for MetrcUserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MetrcUserKey([redacted])")
    }
}

impl Drop for MetrcUserKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY_48: &str = "abcdEFGH1234-_abcdEFGH1234abcdEFGH1234abcdEFGHwxyz";

    #[test]
    fn a_pasted_key_is_trimmed_and_keeps_its_exact_characters() {
        let key = MetrcUserKey::parse(&format!("  {KEY_48}\n")).expect("valid key");
        assert_eq!(key.expose_secret(), KEY_48);
        assert_eq!(key.last_four(), "wxyz");
    }

    #[test]
    fn keys_of_48_and_52_characters_are_both_accepted() {
        assert!(MetrcUserKey::parse(&"a".repeat(48)).is_ok());
        assert!(MetrcUserKey::parse(&"a".repeat(52)).is_ok());
        assert!(MetrcUserKey::parse("k").is_ok());
        assert!(MetrcUserKey::parse(&"a".repeat(128)).is_ok());
    }

    #[test]
    fn bad_keys_say_what_to_do() {
        assert_eq!(MetrcUserKey::parse(" \n").err(), Some(MetrcKeyError::Empty));
        assert_eq!(
            MetrcUserKey::parse(&"a".repeat(129)).err(),
            Some(MetrcKeyError::TooLong)
        );
        assert_eq!(
            MetrcUserKey::parse("abc def").err(),
            Some(MetrcKeyError::InnerWhitespace)
        );
        assert_eq!(
            MetrcUserKey::parse("abc\u{0}def").err(),
            Some(MetrcKeyError::ControlCharacters)
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = MetrcUserKey::parse(KEY_48).expect("valid key");
        let printed = format!("{key:?} {:?}", Some(&key));
        assert!(!printed.contains("abcd"), "{printed}");
        assert!(!printed.contains("wxyz"), "{printed}");
        assert!(printed.contains("[redacted]"));
    }

    #[test]
    fn the_last_four_of_a_short_key_is_the_whole_key() {
        assert_eq!(MetrcUserKey::parse("ab").expect("valid").last_four(), "ab");
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_errors_never_echo_the_input(raw in ".*") {
            match MetrcUserKey::parse(&raw) {
                Ok(key) => prop_assert_eq!(
                    MetrcUserKey::parse(key.expose_secret()).map(|k| k.expose_secret().to_owned()),
                    Ok(key.expose_secret().to_owned())
                ),
                // Every message is one of the fixed texts: nothing of the input can be in it.
                Err(e) => prop_assert!([
                    MetrcKeyError::Empty,
                    MetrcKeyError::TooLong,
                    MetrcKeyError::InnerWhitespace,
                    MetrcKeyError::ControlCharacters,
                ]
                .iter()
                .any(|fixed| fixed.to_string() == e.to_string())),
            }
        }

        #[test]
        fn keys_of_any_length_up_to_the_limit_parse(key in "[A-Za-z0-9_-]{1,128}") {
            let parsed = MetrcUserKey::parse(&key).map(|k| k.expose_secret().to_owned());
            prop_assert_eq!(parsed, Ok(key));
        }
    }
}

//! License numbers as the state issues them.
//!
//! A license's number never changes; a different number is a different license. Numbers are compared
//! exactly as issued (after trimming), because METRC returns them that way: `402-X0002`,
//! `SF-SBX-CO-3-8002`, `402R-00101`, `MR281001`.

use serde::{Deserialize, Serialize};

/// The longest license number we accept. Real ones are under 20 characters.
pub const MAX_LICENSE_NUMBER_LEN: usize = 64;

/// A license number: ASCII letters, digits and `-`, `_`, `.`, starting and ending with a letter or digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LicenseNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseNumberError {
    #[error("Enter the license number.")]
    Empty,
    #[error("A license number has at most {MAX_LICENSE_NUMBER_LEN} characters.")]
    TooLong,
    #[error(
        "A license number uses only letters, digits, '-', '_' and '.', and starts and ends with a letter or digit."
    )]
    BadCharacters,
}

impl LicenseNumber {
    pub fn parse(raw: &str) -> Result<Self, LicenseNumberError> {
        let number = raw.trim();
        if number.is_empty() {
            return Err(LicenseNumberError::Empty);
        }
        if number.chars().count() > MAX_LICENSE_NUMBER_LEN {
            return Err(LicenseNumberError::TooLong);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        let ends_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !number.chars().all(allowed)
            || !ends_ok(number.chars().next())
            || !ends_ok(number.chars().last())
        {
            return Err(LicenseNumberError::BadCharacters);
        }
        Ok(LicenseNumber(number.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_newtype!(LicenseNumber, LicenseNumberError);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_seen_in_metrc_parse_as_issued() {
        for n in [
            "402-X0002",
            "SF-SBX-CO-3-8002",
            "402R-00101",
            "MR281001",
            "lic.7_a",
        ] {
            assert_eq!(
                LicenseNumber::parse(n).map(|l| l.to_string()),
                Ok(n.to_owned())
            );
        }
    }

    #[test]
    fn surrounding_spaces_are_trimmed_but_case_is_kept() {
        assert_eq!(
            LicenseNumber::parse("  402r-00101 ").map(String::from),
            Ok("402r-00101".to_owned())
        );
    }

    #[test]
    fn bad_numbers_say_what_is_wrong() {
        assert_eq!(LicenseNumber::parse(""), Err(LicenseNumberError::Empty));
        assert_eq!(
            LicenseNumber::parse("402 R"),
            Err(LicenseNumberError::BadCharacters)
        );
        assert_eq!(
            LicenseNumber::parse("-402"),
            Err(LicenseNumberError::BadCharacters)
        );
        assert_eq!(
            LicenseNumber::parse(&"9".repeat(65)),
            Err(LicenseNumberError::TooLong)
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics(raw in ".*") {
            let _ = LicenseNumber::parse(&raw);
        }

        #[test]
        fn what_parses_round_trips(raw in "[ ]?[A-Za-z0-9][A-Za-z0-9._-]{0,20}[A-Za-z0-9][ ]?") {
            let parsed = LicenseNumber::parse(&raw).expect("generated numbers are valid");
            prop_assert_eq!(LicenseNumber::parse(parsed.as_str()), Ok(parsed.clone()));
            let json = serde_json::to_string(&parsed).expect("serialises");
            prop_assert_eq!(serde_json::from_str::<LicenseNumber>(&json).ok(), Some(parsed));
        }
    }
}

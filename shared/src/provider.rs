//! Traceability providers: the state track-and-trace systems a license reports to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A supported traceability provider. Today only METRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Provider {
    Metrc,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("Choose a traceability provider.")]
    Empty,
    #[error("That traceability provider is not supported.")]
    Unsupported,
}

impl Provider {
    pub const ALL: [Provider; 1] = [Provider::Metrc];

    /// Accepts the stored code (`metrc`) or the label (`METRC`), in any case.
    pub fn parse(raw: &str) -> Result<Self, ProviderError> {
        match raw.trim() {
            "" => Err(ProviderError::Empty),
            s if s.eq_ignore_ascii_case("metrc") => Ok(Provider::Metrc),
            _ => Err(ProviderError::Unsupported),
        }
    }

    /// The stable code stored in the database and sent over the wire.
    pub fn code(self) -> &'static str {
        match self {
            Provider::Metrc => "metrc",
        }
    }

    /// What users read, e.g. in the "Traceability Provider" dropdown.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Metrc => "METRC",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl TryFrom<String> for Provider {
    type Error = ProviderError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Provider::parse(&value)
    }
}

impl From<Provider> for String {
    fn from(value: Provider) -> Self {
        value.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn metrc_parses_from_its_code_and_its_label() {
        assert_eq!(Provider::parse("metrc"), Ok(Provider::Metrc));
        assert_eq!(Provider::parse("METRC"), Ok(Provider::Metrc));
        assert_eq!(Provider::parse("BioTrack"), Err(ProviderError::Unsupported));
        assert_eq!(Provider::parse(" "), Err(ProviderError::Empty));
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_round_trips(raw in ".*") {
            if let Ok(p) = Provider::parse(&raw) {
                prop_assert_eq!(Provider::parse(p.code()), Ok(p));
                prop_assert_eq!(Provider::parse(p.label()), Ok(p));
            }
        }
    }
}

//! The states (and territories) that run a METRC instance, kept as data.
//!
//! The list follows METRC's 2026 documentation (`docs/metrc.md` in the shared reference). Alaska left
//! METRC and is deliberately absent. Each entry carries the IANA time zone a new license in that state
//! defaults to: METRC wants sales times as the facility's local wall clock.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One METRC state: its two-letter code, its name as users read it, and the default facility time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateInfo {
    pub code: &'static str,
    pub name: &'static str,
    pub default_time_zone: &'static str,
}

const fn st(code: &'static str, name: &'static str, default_time_zone: &'static str) -> StateInfo {
    StateInfo {
        code,
        name,
        default_time_zone,
    }
}

/// Every state with a METRC instance, ordered by code.
pub const METRC_STATES: &[StateInfo] = &[
    st("AL", "Alabama", "America/Chicago"),
    st("CA", "California", "America/Los_Angeles"),
    st("CO", "Colorado", "America/Denver"),
    st("DC", "District of Columbia", "America/New_York"),
    st("GU", "Guam", "Pacific/Guam"),
    st("IL", "Illinois", "America/Chicago"),
    st("KY", "Kentucky", "America/New_York"),
    st("LA", "Louisiana", "America/Chicago"),
    st("MA", "Massachusetts", "America/New_York"),
    st("MD", "Maryland", "America/New_York"),
    st("ME", "Maine", "America/New_York"),
    st("MI", "Michigan", "America/Detroit"),
    st("MN", "Minnesota", "America/Chicago"),
    st("MO", "Missouri", "America/Chicago"),
    st("MS", "Mississippi", "America/Chicago"),
    st("MT", "Montana", "America/Denver"),
    st("NJ", "New Jersey", "America/New_York"),
    st("NV", "Nevada", "America/Los_Angeles"),
    st("NY", "New York", "America/New_York"),
    st("OH", "Ohio", "America/New_York"),
    st("OK", "Oklahoma", "America/Chicago"),
    st("OR", "Oregon", "America/Los_Angeles"),
    st("RI", "Rhode Island", "America/New_York"),
    st("SD", "South Dakota", "America/Chicago"),
    st("VA", "Virginia", "America/New_York"),
    st("VI", "U.S. Virgin Islands", "America/St_Thomas"),
    st("WV", "West Virginia", "America/New_York"),
];

/// A state METRC serves. Only [`StateCode::parse`] makes one, so holding one proves the state is served.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StateCode(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("Choose a state.")]
    Empty,
    #[error("{0} is not a state METRC serves.")]
    NotServed(String),
}

impl StateCode {
    /// Accepts a two-letter code in any case, with surrounding spaces.
    pub fn parse(raw: &str) -> Result<Self, StateError> {
        let code = raw.trim();
        if code.is_empty() {
            return Err(StateError::Empty);
        }
        METRC_STATES
            .iter()
            .position(|s| s.code.eq_ignore_ascii_case(code))
            .and_then(|i| u8::try_from(i).ok())
            .map(StateCode)
            .ok_or_else(|| StateError::NotServed(code.chars().take(40).collect()))
    }

    /// Every state METRC serves, in code order.
    pub fn all() -> impl Iterator<Item = StateCode> {
        (0..METRC_STATES.len()).filter_map(|i| u8::try_from(i).ok().map(StateCode))
    }

    fn info(self) -> &'static StateInfo {
        // The index only ever comes from a position in METRC_STATES.
        &METRC_STATES[usize::from(self.0)]
    }

    /// The upper-case two-letter code, e.g. `CO`.
    pub fn code(self) -> &'static str {
        self.info().code
    }

    /// The state's name, e.g. `Colorado`.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The label used in dropdowns: `Colorado (CO)`.
    pub fn label(self) -> String {
        format!("{} ({})", self.name(), self.code())
    }

    /// The IANA time zone a new license in this state starts with.
    pub fn default_time_zone(self) -> &'static str {
        self.info().default_time_zone
    }
}

impl fmt::Debug for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StateCode({})", self.code())
    }
}

impl fmt::Display for StateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl TryFrom<String> for StateCode {
    type Error = StateError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        StateCode::parse(&value)
    }
}

impl From<StateCode> for String {
    fn from(value: StateCode) -> Self {
        value.code().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn colorado_parses_in_any_case_and_reads_as_a_label() {
        let co = StateCode::parse(" co ").expect("CO is served");
        assert_eq!(co.code(), "CO");
        assert_eq!(co.label(), "Colorado (CO)");
        assert_eq!(co.default_time_zone(), "America/Denver");
    }

    #[test]
    fn alaska_is_not_offered_because_it_left_metrc() {
        assert_eq!(
            StateCode::parse("AK"),
            Err(StateError::NotServed("AK".into()))
        );
    }

    #[test]
    fn an_empty_state_asks_the_user_to_choose_one() {
        assert_eq!(StateCode::parse("  "), Err(StateError::Empty));
    }

    #[test]
    fn the_list_is_sorted_unique_and_every_code_is_two_upper_case_letters() {
        let codes: Vec<_> = METRC_STATES.iter().map(|s| s.code).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted);
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        assert_eq!(StateCode::all().count(), METRC_STATES.len());
    }

    #[test]
    fn serde_uses_the_code_and_rejects_unknown_states() {
        let ma = StateCode::parse("MA").expect("MA is served");
        assert_eq!(serde_json::to_string(&ma).expect("serialises"), "\"MA\"");
        assert!(serde_json::from_str::<StateCode>("\"ZZ\"").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(raw in ".*") {
            let _ = StateCode::parse(&raw);
        }

        #[test]
        fn every_parsed_state_round_trips_through_its_code(raw in "[A-Za-z]{2}") {
            if let Ok(state) = StateCode::parse(&raw) {
                prop_assert_eq!(StateCode::parse(state.code()), Ok(state));
            }
        }
    }
}

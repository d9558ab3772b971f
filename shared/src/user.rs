//! Users as both sides see them: roles and the initials on the avatar.

use serde::{Deserialize, Serialize};

/// What a user may do. Staff manage only their own credentials; admins also manage the organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
}

impl Role {
    /// The code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        match code {
            "admin" => Some(Role::Admin),
            "staff" => Some(Role::Staff),
            _ => None,
        }
    }
}

/// The initials shown in the avatar: the first letter of the first and the last word of the display
/// name, upper-cased ("Avery Admin" → "AA", "Cher" → "C"); "?" when the name has no letters.
pub fn initials(display_name: &str) -> String {
    let first_letter = |word: &str| word.chars().find(|c| c.is_alphanumeric());
    let words: Vec<&str> = display_name
        .split_whitespace()
        .filter(|w| first_letter(w).is_some())
        .collect();
    let picked: Vec<char> = match words.as_slice() {
        [] => return "?".to_owned(),
        [only] => first_letter(only).into_iter().collect(),
        [first, .., last] => first_letter(first)
            .into_iter()
            .chain(first_letter(last))
            .collect(),
    };
    picked.into_iter().flat_map(char::to_uppercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn initials_come_from_the_first_and_last_names() {
        assert_eq!(initials("Avery Admin"), "AA");
        assert_eq!(initials("Sam Staff"), "SS");
        assert_eq!(initials("mary ann de la cruz"), "MC");
        assert_eq!(initials("Cher"), "C");
        assert_eq!(initials("  (Jo)  Ray "), "JR");
        assert_eq!(initials(""), "?");
        assert_eq!(initials("- -"), "?");
    }

    #[test]
    fn roles_round_trip_through_their_codes() {
        for role in [Role::Admin, Role::Staff] {
            assert_eq!(Role::from_code(role.code()), Some(role));
        }
        assert_eq!(Role::from_code("owner"), None);
    }

    proptest! {
        #[test]
        fn initials_never_panic_and_are_short(name in ".*") {
            let got = initials(&name);
            prop_assert!(!got.is_empty());
            // Upper-casing can turn one letter into several (ß → SS), so allow some room.
            prop_assert!(got.chars().count() <= 6);
        }
    }
}

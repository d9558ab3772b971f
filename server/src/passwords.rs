//! Password hashing for our own users (Argon2id with the crate's recommended parameters), and the refusal
//! of common passwords.
//!
//! Hashing is deliberately slow, so it runs on the blocking thread pool, never on the async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::collections::HashSet;
use std::sync::LazyLock;

/// The most common passwords, lower-case: the "common passwords" list of zxcvbn-ts
/// (`@zxcvbn-ts/language-common` 4.1.3, MIT — `server/data/common-passwords.LICENSE`), its entries of six
/// printable ASCII characters or more (42,692). Shipped with the server only: never in the WebAssembly,
/// where it would cost the download and tell an attacker exactly what is refused.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .collect()
});

/// Whether a new password is too common to allow (ASVS 6.2): one of the list, ignoring case; one of them
/// with only digits or symbols before or after it ("Password123!", "2024qwertyuiop"); or one short
/// piece, or a listed one, repeated ("abcabcabcabc", "qwertyqwerty").
pub fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return true;
    }
    let core = lower.trim_matches(|c: char| !c.is_alphabetic());
    if core.chars().count() >= 6 && COMMON.contains(core) {
        return true;
    }
    let chars: Vec<char> = lower.chars().collect();
    (1..=chars.len() / 2).any(|unit| {
        chars.len().is_multiple_of(unit)
            && chars.chunks(unit).all(|piece| piece == &chars[..unit])
            && (unit <= 4 || COMMON.contains(chars[..unit].iter().collect::<String>().as_str()))
    })
}

/// A hash of a password nobody has, verified against when the email is unknown, so that a sign-in
/// for an unknown email takes as long as one with a wrong password.
static DECOY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("decoy password nobody has").unwrap_or_default());

fn hash_blocking(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

fn verify_blocking(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes a new password into a PHC string.
pub async fn hash(password: String) -> Result<String, crate::error::AppError> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| crate::error::AppError::Internal(format!("hashing task failed: {e}")))?
        .map_err(|e| crate::error::AppError::Internal(format!("hashing failed: {e}")))
}

/// Checks a password against a stored hash; with no stored hash, spends the same time and says no.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_blocking(&password, &stored),
        None => {
            let _ = verify_blocking(&password, &DECOY_HASH);
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let stored = hash("demo-password-1".into()).await.expect("hashes");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("demo-password-1".into(), Some(stored.clone())).await);
        assert!(!verify("demo-password-2".into(), Some(stored)).await);
    }

    #[test]
    fn common_passwords_are_refused_in_their_usual_disguises() {
        for common in [
            "1qaz2wsx3edc",
            "QWERTY123456",
            "Password1234!",
            "2024qwertyuiop",
            "iloveyou!!!!!!",
            "aaaaaaaaaaaa",
            "abcabcabcabc",
            "monkeymonkey",
            "dragon123456",
        ] {
            assert!(is_common(common), "{common} should be refused");
        }
        for fine in [
            "correct horse battery staple",
            "Tundra-Pliers-Orbit-42",
            "my register at 5th street",
            "zq8#Lr2!vWm0",
        ] {
            assert!(!is_common(fine), "{fine} should be allowed");
        }
    }

    #[test]
    fn the_list_is_loaded_whole() {
        assert_eq!(COMMON.len(), 42_692);
        assert!(
            COMMON
                .iter()
                .all(|p| p.chars().count() >= 6 && *p == p.to_lowercase())
        );
    }

    #[tokio::test]
    async fn no_stored_hash_or_a_corrupt_one_never_verifies() {
        assert!(!verify("anything".into(), None).await);
        assert!(!verify("anything".into(), Some("not a hash".into())).await);
    }
}

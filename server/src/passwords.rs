//! Password hashing for our own users (Argon2id with the crate's recommended parameters).
//!
//! Hashing is deliberately slow, so it runs on the blocking thread pool, never on the async workers.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

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

    #[tokio::test]
    async fn no_stored_hash_or_a_corrupt_one_never_verifies() {
        assert!(!verify("anything".into(), None).await);
        assert!(!verify("anything".into(), Some("not a hash".into())).await);
    }
}

//! The server keys that encrypt stored METRC user keys at rest.
//!
//! `CREDENTIAL_KEYS` holds one or more `id:base64-of-32-bytes` entries separated by commas. The first is
//! used for new ciphertexts; the others stay readable so that keys can be rotated without downtime. Every
//! ciphertext is tagged with the id of the key that made it. The keys never appear in `Debug` output.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use zeroize::Zeroizing;

/// One encryption key with its id.
struct CredentialKey {
    id: String,
    bytes: Zeroizing<[u8; 32]>,
}

/// The configured encryption keys, newest (the one used for new ciphertexts) first.
#[derive(Clone)]
pub struct CredentialKeys(std::sync::Arc<Vec<CredentialKey>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialKeysError {
    #[error("it holds no key")]
    Empty,
    #[error("entry {0} is not `id:base64-of-32-bytes`")]
    Malformed(usize),
    #[error("entry {0} has an id that is not 1–32 letters, digits, '-' or '_'")]
    BadId(usize),
    #[error("entry {0} is not base64 of exactly 32 bytes")]
    BadKey(usize),
    #[error("the id {0} is used twice")]
    DuplicateId(String),
}

impl CredentialKeys {
    pub fn parse(raw: &str) -> Result<Self, CredentialKeysError> {
        let mut keys: Vec<CredentialKey> = Vec::new();
        for (index, entry) in raw
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .enumerate()
        {
            let position = index + 1;
            let (id, b64) = entry
                .split_once(':')
                .ok_or(CredentialKeysError::Malformed(position))?;
            let id = id.trim();
            let id_ok = (1..=32).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok {
                return Err(CredentialKeysError::BadId(position));
            }
            let decoded = Zeroizing::new(
                STANDARD
                    .decode(b64.trim())
                    .map_err(|_| CredentialKeysError::BadKey(position))?,
            );
            let bytes: [u8; 32] = decoded
                .as_slice()
                .try_into()
                .map_err(|_| CredentialKeysError::BadKey(position))?;
            if keys.iter().any(|k| k.id == id) {
                return Err(CredentialKeysError::DuplicateId(id.to_owned()));
            }
            keys.push(CredentialKey {
                id: id.to_owned(),
                bytes: Zeroizing::new(bytes),
            });
        }
        if keys.is_empty() {
            return Err(CredentialKeysError::Empty);
        }
        Ok(CredentialKeys(std::sync::Arc::new(keys)))
    }

    /// A fresh random key (demo mode only).
    pub fn generate(id: &str) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        CredentialKeys(std::sync::Arc::new(vec![CredentialKey {
            id: id.to_owned(),
            bytes,
        }]))
    }

    /// The id of the key new ciphertexts are made with.
    pub fn active_id(&self) -> &str {
        &self.0[0].id
    }

    /// How many keys are readable (the active one and those kept for rotation).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `CREDENTIAL_KEYS` text for these keys (written to the demo key file).
    pub fn to_config_string(&self) -> String {
        self.0
            .iter()
            .map(|k| format!("{}:{}", k.id, STANDARD.encode(k.bytes.as_ref())))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl std::fmt::Debug for CredentialKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.0.iter().map(|k| k.id.as_str()).collect();
        f.debug_struct("CredentialKeys")
            .field("ids", &ids)
            .field("keys", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn the_first_key_is_active_and_the_others_are_kept_for_rotation() {
        let keys = CredentialKeys::parse(&format!(" new:{K1} , old:{K1}")).expect("valid");
        assert_eq!(keys.active_id(), "new");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.to_config_string(), format!("new:{K1},old:{K1}"));
    }

    #[test]
    fn malformed_entries_are_refused_with_their_position() {
        use CredentialKeysError::*;
        assert_eq!(CredentialKeys::parse(" , ").err(), Some(Empty));
        assert_eq!(CredentialKeys::parse(K1).err(), Some(Malformed(1)));
        assert_eq!(
            CredentialKeys::parse(&format!("a:{K1},b c:{K1}")).err(),
            Some(BadId(2))
        );
        assert_eq!(CredentialKeys::parse("a:c2hvcnQ=").err(), Some(BadKey(1)));
        assert_eq!(
            CredentialKeys::parse("a:not base64!").err(),
            Some(BadKey(1))
        );
        assert_eq!(
            CredentialKeys::parse(&format!("a:{K1},a:{K1}")).err(),
            Some(DuplicateId("a".into()))
        );
    }

    #[test]
    fn debug_shows_ids_but_never_key_material() {
        let keys = CredentialKeys::parse(&format!("k1:{K1}")).expect("valid");
        let printed = format!("{keys:?}");
        assert!(printed.contains("k1"));
        assert!(
            !printed.contains(K1) && !printed.contains("AAEC"),
            "{printed}"
        );
    }

    #[test]
    fn generated_keys_differ_and_parse_back() {
        let a = CredentialKeys::generate("demo1").to_config_string();
        let b = CredentialKeys::generate("demo1").to_config_string();
        assert_ne!(a, b);
        assert_eq!(
            CredentialKeys::parse(&a).expect("valid").to_config_string(),
            a
        );
    }
}

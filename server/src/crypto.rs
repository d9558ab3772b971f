//! The server keys that encrypt stored METRC user keys at rest, and what they do: seal, open, fingerprint.
//!
//! `CREDENTIAL_KEYS` holds one or more `id:base64-of-32-bytes` entries separated by commas. The first is
//! used for new ciphertexts; the others stay readable so that keys can be rotated without downtime. Every
//! ciphertext is tagged with the id of the key that made it. The keys never appear in `Debug` output.
//!
//! A METRC key is sealed with AES-256-GCM under a random 96-bit nonce, with the credential's owner as
//! associated data, so a ciphertext copied onto another user's row does not open. Since ciphertexts
//! differ every time, the same METRC key on two rows is found through a *fingerprint*: an HMAC-SHA256 of
//! the key under a subkey derived from the encryption key. A fingerprint is tagged with its key id too;
//! comparing computes the candidate's fingerprint under every configured key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use shared::MetrcUserKey;
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

    fn by_id(&self, id: &str) -> Option<&CredentialKey> {
        self.0.iter().find(|k| k.id == id)
    }

    /// Encrypts a METRC key for the row of `owner` (a user id, or the organization for a default key)
    /// under the active key.
    pub fn seal(&self, owner: &str, key: &MetrcUserKey) -> Sealed {
        let active = &self.0[0];
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*active.bytes));
        let aad = associated_data(owner);
        // Encryption with a valid key and a buffer this small cannot fail.
        let ciphertext = cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: key.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&ciphertext);
        Sealed {
            key_id: active.id.clone(),
            ciphertext: STANDARD.encode(stored),
        }
    }

    /// Decrypts a stored METRC key. Fails when its key id is not configured any more, or when the row
    /// was tampered with or belongs to another owner.
    pub fn open(&self, owner: &str, sealed: &Sealed) -> Result<MetrcUserKey, OpenError> {
        let key = self
            .by_id(&sealed.key_id)
            .ok_or_else(|| OpenError::UnknownKeyId(sealed.key_id.clone()))?;
        let stored = STANDARD
            .decode(&sealed.ciphertext)
            .map_err(|_| OpenError::Corrupt)?;
        if stored.len() <= NONCE_LEN {
            return Err(OpenError::Corrupt);
        }
        let (nonce, ciphertext) = stored.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Corrupt)?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key.bytes));
        let aad = associated_data(owner);
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    &nonce.into(),
                    Payload {
                        msg: ciphertext,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| OpenError::Corrupt)?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| OpenError::Corrupt)?;
        MetrcUserKey::parse(text).map_err(|_| OpenError::Corrupt)
    }

    /// The fingerprint of a METRC key under the active key: what is stored beside the ciphertext.
    pub fn fingerprint(&self, key: &MetrcUserKey) -> Fingerprint {
        fingerprint_under(&self.0[0], key)
    }

    /// The key's fingerprint under every configured key: a stored fingerprint made under any of them
    /// matches one of these when the METRC key is the same.
    pub fn all_fingerprints(&self, key: &MetrcUserKey) -> Vec<Fingerprint> {
        self.0.iter().map(|k| fingerprint_under(k, key)).collect()
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

const NONCE_LEN: usize = 12;

fn associated_data(owner: &str) -> String {
    format!("traceability-credentials/metrc-key/v1/{owner}")
}

fn fingerprint_under(key: &CredentialKey, metrc_key: &MetrcUserKey) -> Fingerprint {
    // A subkey for fingerprints, so the encryption key itself is used for one purpose only.
    let subkey = hmac_sha256(
        key.bytes.as_ref(),
        b"traceability-credentials/fingerprint/v1",
    );
    let digest = hmac_sha256(&subkey, metrc_key.expose_secret().as_bytes());
    Fingerprint {
        key_id: key.id.clone(),
        value: STANDARD.encode(digest),
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Zeroizing<Vec<u8>> {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(message);
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// A METRC key as stored: the id of the key that sealed it and `base64(nonce ‖ ciphertext ‖ tag)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub ciphertext: String,
}

/// A keyed fingerprint of a METRC key, with the id of the key it was made under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub key_id: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the stored key was sealed under key id {0}, which is not in CREDENTIAL_KEYS")]
    UnknownKeyId(String),
    #[error("the stored key does not decrypt (tampered with, or moved from another row)")]
    Corrupt,
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

    fn metrc_key() -> MetrcUserKey {
        MetrcUserKey::parse("demo-co-both-licenses-000000000000000000000000001").expect("valid")
    }

    #[test]
    fn a_sealed_key_opens_for_its_owner_only_and_never_shows_the_key() {
        let keys = CredentialKeys::generate("k1");
        let sealed = keys.seal("user:7", &metrc_key());
        assert_eq!(sealed.key_id, "k1");
        assert!(!sealed.ciphertext.contains("demo-co"));
        assert_eq!(
            keys.open("user:7", &sealed)
                .map(|k| k.expose_secret().to_owned()),
            Ok(metrc_key().expose_secret().to_owned())
        );
        assert_eq!(keys.open("user:8", &sealed).err(), Some(OpenError::Corrupt));
        // Two seals of one key differ (fresh nonces).
        assert_ne!(keys.seal("user:7", &metrc_key()), sealed);
    }

    #[test]
    fn a_tampered_or_truncated_ciphertext_is_refused() {
        let keys = CredentialKeys::generate("k1");
        let mut sealed = keys.seal("user:7", &metrc_key());
        let mut bytes = STANDARD.decode(&sealed.ciphertext).expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        sealed.ciphertext = STANDARD.encode(&bytes);
        assert_eq!(keys.open("user:7", &sealed).err(), Some(OpenError::Corrupt));
        sealed.ciphertext = "AAAA".into();
        assert_eq!(keys.open("user:7", &sealed).err(), Some(OpenError::Corrupt));
        sealed.ciphertext = "not base64!".into();
        assert_eq!(keys.open("user:7", &sealed).err(), Some(OpenError::Corrupt));
    }

    #[test]
    fn a_ciphertext_of_a_removed_key_names_the_missing_id() {
        let old = CredentialKeys::generate("old");
        let sealed = old.seal("user:1", &metrc_key());
        let new = CredentialKeys::generate("new");
        assert_eq!(
            new.open("user:1", &sealed).err(),
            Some(OpenError::UnknownKeyId("old".into()))
        );
        let both = CredentialKeys::parse(&format!(
            "{},{}",
            new.to_config_string(),
            old.to_config_string()
        ))
        .expect("valid");
        assert!(both.open("user:1", &sealed).is_ok());
    }

    #[test]
    fn fingerprints_match_for_the_same_key_under_any_configured_key() {
        let old = CredentialKeys::generate("old");
        let stored = old.fingerprint(&metrc_key());
        let both = CredentialKeys::parse(&format!(
            "{},{}",
            CredentialKeys::generate("new").to_config_string(),
            old.to_config_string()
        ))
        .expect("valid");
        assert!(both.all_fingerprints(&metrc_key()).contains(&stored));
        let other = MetrcUserKey::parse("another-key").expect("valid");
        assert!(!both.all_fingerprints(&other).contains(&stored));
        assert!(!stored.value.contains("demo-co"));
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

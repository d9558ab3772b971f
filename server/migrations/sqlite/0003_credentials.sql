-- Traceability credentials: each user's METRC user API keys, the licenses each covers, the audit trail of
-- every change, and the Verify & Save attempts the rate limit counts.

-- One row per credential. The key is stored only sealed (AES-256-GCM, `key_ciphertext` = base64 of nonce,
-- ciphertext and tag) under the server key named by `key_id`; `key_fingerprint` is an HMAC of the key under
-- the server key `fingerprint_key_id`, so the same METRC key on two rows can be found without decrypting.
-- `version` grows by one with every change: an edit names the version it saw and loses if another came first.
CREATE TABLE credentials (
    id                  INTEGER PRIMARY KEY,
    organization_id     BIGINT  NOT NULL REFERENCES organizations (id),
    user_id             BIGINT  NOT NULL REFERENCES users (id),
    provider            TEXT    NOT NULL CHECK (provider IN ('metrc')),
    state               TEXT    NOT NULL CHECK (length(state) = 2),
    key_id              TEXT    NOT NULL,
    key_ciphertext      TEXT    NOT NULL,
    fingerprint_key_id  TEXT    NOT NULL,
    key_fingerprint     TEXT    NOT NULL,
    key_last_four       TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('verified', 'invalid', 'license_lost', 'unverified')),
    verified_at         BIGINT,
    version             BIGINT  NOT NULL DEFAULT 1,
    created_at          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    -- The target of credential_licenses' foreign key, which carries user and provider along.
    UNIQUE (id, user_id, provider)
);
CREATE INDEX credentials_by_user ON credentials (user_id);
CREATE INDEX credentials_by_fingerprint ON credentials (organization_id, key_fingerprint);

-- The licenses of a credential. User and provider are repeated from the credential (the composite foreign key
-- keeps them equal) so that the product's rule is a constraint of the schema: each license is on at most one
-- credential per traceability provider per user.
CREATE TABLE credential_licenses (
    credential_id  BIGINT NOT NULL,
    user_id        BIGINT NOT NULL,
    provider       TEXT   NOT NULL,
    license_id     BIGINT NOT NULL REFERENCES licenses (id),
    PRIMARY KEY (credential_id, license_id),
    FOREIGN KEY (credential_id, user_id, provider)
        REFERENCES credentials (id, user_id, provider) ON DELETE CASCADE,
    UNIQUE (user_id, provider, license_id)
);
CREATE INDEX credential_licenses_by_license ON credential_licenses (license_id);

-- Who did what to which credential, when, and how it ended. Never a key: at most its last four characters.
-- Rows outlive the credential and the user's keys (no foreign key on credential_id).
CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations (id),
    actor_user_id    BIGINT NOT NULL REFERENCES users (id),
    subject_user_id  BIGINT NOT NULL REFERENCES users (id),
    credential_id    BIGINT,
    action           TEXT   NOT NULL,
    result           TEXT   NOT NULL,
    detail           TEXT   NOT NULL,
    at               BIGINT NOT NULL
);
CREATE INDEX audit_log_by_organization ON audit_log (organization_id, at);

-- Verify & Save attempts per user over the last minute (VERIFY_ATTEMPTS_PER_MINUTE), in the database so the
-- limit holds across server processes. Old rows are pruned as new ones are written.
CREATE TABLE verify_attempts (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    attempted_at  BIGINT NOT NULL
);
CREATE INDEX verify_attempts_by_user ON verify_attempts (user_id, attempted_at);

-- The admin side: the organization's default METRC key per state, one-time password set-up links for new
-- users, the licenses each audit record concerns (the audit log filters by license), and versions on
-- licenses and users so that two admins editing the same row cannot overwrite each other unseen.

-- The organization's default METRC key for a state (Config Page > Integration), used when the acting user has
-- no credential for a license. Sealed and fingerprinted exactly like a credential's key (credentials table).
CREATE TABLE default_keys (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id     BIGINT  NOT NULL REFERENCES organizations (id),
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
    updated_by          BIGINT  NOT NULL REFERENCES users (id),
    updated_at          BIGINT  NOT NULL,
    UNIQUE (organization_id, provider, state)
);
CREATE INDEX default_keys_by_fingerprint ON default_keys (organization_id, key_fingerprint);

-- The license numbers METRC said the default key reaches, at its last check. Numbers, not license ids: a
-- license added later whose number the key reaches is covered from the start.
CREATE TABLE default_key_reaches (
    default_key_id  BIGINT NOT NULL REFERENCES default_keys (id) ON DELETE CASCADE,
    license_number  TEXT   NOT NULL,
    PRIMARY KEY (default_key_id, license_number)
);

-- One-time links with which a new user sets their password. Only the SHA-256 of the link's token is stored;
-- a link is deleted when used, when a newer one is made for the same user, or when the user is deactivated.
CREATE TABLE password_setups (
    token_hash  TEXT   PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by  BIGINT NOT NULL REFERENCES users (id),
    expires_at  BIGINT NOT NULL
);
CREATE INDEX password_setups_by_user ON password_setups (user_id);

-- The licenses an audit record concerns.
CREATE TABLE audit_licenses (
    audit_id    BIGINT NOT NULL REFERENCES audit_log (id) ON DELETE CASCADE,
    license_id  BIGINT NOT NULL REFERENCES licenses (id),
    PRIMARY KEY (audit_id, license_id)
);
CREATE INDEX audit_licenses_by_license ON audit_licenses (license_id, audit_id);
CREATE INDEX audit_log_by_actor ON audit_log (actor_user_id, id);
CREATE INDEX audit_log_by_subject ON audit_log (subject_user_id, id);

ALTER TABLE licenses ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

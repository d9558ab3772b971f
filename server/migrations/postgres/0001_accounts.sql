-- Organizations, their users, and the server-side sessions and sign-in failure counts that belong to them.
-- Timestamps are seconds since the Unix epoch (BIGINT), the one time type both backends share through sqlx's
-- Any driver.

CREATE TABLE organizations (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- A user signs in with an email address, which is unique across the whole installation (sign-in does not ask
-- for the organization). The address is stored trimmed and lower-cased (shared::Email).
CREATE TABLE users (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id  BIGINT  NOT NULL REFERENCES organizations (id),
    email            TEXT    NOT NULL UNIQUE,
    display_name     TEXT    NOT NULL,
    role             TEXT    NOT NULL CHECK (role IN ('admin', 'staff')),
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    -- Argon2id PHC string; NULL until the user has set a password.
    password_hash    TEXT,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX users_by_organization ON users (organization_id);

-- Server-side sessions. The cookie holds a random token; only its SHA-256 is stored, so a copy of the database
-- does not let anyone sign in. Deleting a user's rows ends all of their sessions at once.
CREATE TABLE sessions (
    token_hash    TEXT   PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins, counted per account and per client address over a sliding window. Kept in the database so
-- the limits hold across server processes. Old rows are pruned as new ones are written.
CREATE TABLE sign_in_failures (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email       TEXT   NOT NULL,
    address     TEXT   NOT NULL,
    failed_at   BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_by_email ON sign_in_failures (email, failed_at);
CREATE INDEX sign_in_failures_by_address ON sign_in_failures (address, failed_at);
CREATE INDEX sign_in_failures_by_time ON sign_in_failures (failed_at);

-- Reports: the sales and adjustments users record, and the outbox they are sent to METRC from. A report is
-- written in the same transaction as the record it reports; a background worker sends it.

CREATE TABLE reports (
    id                INTEGER PRIMARY KEY,
    organization_id   BIGINT  NOT NULL REFERENCES organizations (id),
    license_id        BIGINT  NOT NULL REFERENCES licenses (id),
    -- The acting user: always the session's user when it was recorded.
    user_id           BIGINT  NOT NULL REFERENCES users (id),
    kind              TEXT    NOT NULL CHECK (kind IN ('sale', 'adjustment')),
    -- Sales: the ExternalReceiptNumber we assigned, unique per license (a lookup after an ambiguous
    -- failure finds the one receipt). NULL for adjustments.
    external_number   TEXT,
    -- The METRC object (a receipt or an adjustment) as JSON, times already in the facility's zone.
    payload           TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'held', 'outcome_unknown', 'dismissed')),
    -- Which key it went (or was to go) out under: 'credential' (with credential_id) or 'default'. Never a key.
    key_used          TEXT    CHECK (key_used IN ('credential', 'default')),
    credential_id     BIGINT,
    -- Why it is held: METRC's status and message, or our own reason; and what it waits for: 'key' (a usable
    -- key: it is sent again by itself once one covers it) or 'fix' (METRC refused its content).
    reason            TEXT,
    held_for          TEXT    CHECK (held_for IN ('key', 'fix')),
    attempts          BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT  NOT NULL,
    -- A worker's claim: who holds the report and until when (a crashed worker's claim expires).
    lease_owner       TEXT,
    lease_until       BIGINT,
    recorded_at       BIGINT  NOT NULL,
    sent_at           BIGINT,
    UNIQUE (license_id, external_number)
);
CREATE INDEX reports_due ON reports (status, next_attempt_at);
CREATE INDEX reports_by_user ON reports (user_id, id);
CREATE INDEX reports_by_organization ON reports (organization_id, status, id);

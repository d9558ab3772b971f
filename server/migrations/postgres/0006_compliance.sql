-- Compliance Management and key health. An admin may resend a held report with the organization's default
-- key (an explicit, audited decision, for reporting deadlines); the report then carries that decision.
ALTER TABLE reports ADD COLUMN force_default BOOLEAN NOT NULL DEFAULT FALSE;

-- The background re-check of stored keys: when each credential's key was last checked with METRC (whatever
-- the answer), so the oldest is checked next.
ALTER TABLE credentials ADD COLUMN checked_at BIGINT;

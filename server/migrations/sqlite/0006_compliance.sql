-- Compliance Management and key health. An admin may resend a held report with the organization's default
-- key (an explicit, audited decision, for reporting deadlines); the report then carries that decision.
ALTER TABLE reports ADD COLUMN force_default BOOLEAN NOT NULL DEFAULT FALSE;

-- The background re-check of stored keys: when each credential's key was last checked with METRC (whatever
-- the answer), so the oldest is checked next.
ALTER TABLE credentials ADD COLUMN checked_at BIGINT;

-- Set just before a report's POST and cleared with its outcome: a report claimed again with it set was
-- interrupted mid-send (a crash), so a receipt is looked up before it is posted again, and an adjustment,
-- which cannot be looked up, becomes "outcome unknown — check METRC" instead of being posted again.
ALTER TABLE reports ADD COLUMN posting BOOLEAN NOT NULL DEFAULT FALSE;

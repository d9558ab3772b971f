-- Compliance Management: an admin may resend a held report with the organization's default key (an
-- explicit, audited decision, for reporting deadlines); the report then carries that decision.
ALTER TABLE reports ADD COLUMN force_default BOOLEAN NOT NULL DEFAULT FALSE;

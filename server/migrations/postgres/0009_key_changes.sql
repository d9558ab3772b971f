-- Counts the releases of the organization's reports held for want of a key (a key saved, deleted, found
-- working again): an outbox pass reads it when it claims reports, and one that decided to hold a report for
-- want of a key sends it again instead if the count moved meanwhile (the release could not see the report
-- while it was claimed). A count, not a time: no clock of any server is involved.
ALTER TABLE organizations ADD COLUMN keys_generation BIGINT NOT NULL DEFAULT 0;

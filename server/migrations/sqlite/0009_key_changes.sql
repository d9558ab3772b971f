-- When held-for-a-key reports of the organization were last released (a key saved, deleted, or found
-- working again): an outbox pass that claimed reports before then and decided to hold one for want of a
-- key sends it again instead, since the release could not see it while it was claimed.
ALTER TABLE organizations ADD COLUMN keys_changed_at BIGINT NOT NULL DEFAULT 0;

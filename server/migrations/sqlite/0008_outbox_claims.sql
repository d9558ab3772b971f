-- When a report was first marked as being posted without a settled outcome since: a receipt whose answer
-- was lost is looked up again and again until METRC answers, or until OUTBOX_LOOKUP_GIVE_UP_HOURS after
-- this moment, when it becomes "outcome unknown".
ALTER TABLE reports ADD COLUMN posting_since BIGINT;

-- When a report was last marked for a POST: a lookup that finds nothing is believed only OUTBOX_SETTLE_SECS
-- after it (METRC may still be applying a batch whose answer was lost).
ALTER TABLE reports ADD COLUMN last_post_at BIGINT;

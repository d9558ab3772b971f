-- When a report was first marked as being posted without a settled outcome since: a receipt whose answer
-- was lost is looked up again and again until METRC answers, or until OUTBOX_LOOKUP_GIVE_UP_HOURS after
-- this moment, when it becomes "outcome unknown".
ALTER TABLE reports ADD COLUMN posting_since BIGINT;

-- Key custody: default keys are re-checked in the background like credentials, so they carry the time
-- of their last check too.
ALTER TABLE default_keys ADD COLUMN checked_at BIGINT;

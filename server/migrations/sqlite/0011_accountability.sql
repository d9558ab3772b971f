-- Accountability: the day a report belongs to, and the counts per day kept by the database itself.
--
-- A report belongs to the day it was recorded in its license's time zone (`YYYY-MM-DD`), written when it is
-- recorded; reports recorded before this column existed get theirs at the server's start (`tally::backfill`:
-- SQLite has no time zone database). NULL only until then.
ALTER TABLE reports ADD COLUMN recorded_on TEXT;
-- The reports still to be dated (`tally::backfill` looks for them every few seconds): empty once dated.
CREATE INDEX reports_without_day ON reports (id) WHERE recorded_on IS NULL;

-- Every change of a report's bucket, appended by the triggers below (+1 for the new bucket, -1 for the old):
-- no writer ever updates a shared counter row, so recording and sending never wait on each other or deadlock.
-- `tally::fold` moves these rows into `report_days` in the background. A report's bucket: 'own' and 'default'
-- (sent under the recorder's own key, or the organization's default key — a sent report without a key
-- recorded counts as default: never credited to its recorder), else its status.
CREATE TABLE report_deltas (
    id               INTEGER PRIMARY KEY,
    organization_id  BIGINT NOT NULL,
    license_id       BIGINT NOT NULL,
    user_id          BIGINT NOT NULL,
    recorded_on      TEXT   NOT NULL,
    bucket           TEXT   NOT NULL,
    n                BIGINT NOT NULL
);
CREATE INDEX report_deltas_by_day ON report_deltas (organization_id, recorded_on);

-- The folded counts: per organization, day, license and bucket; `user_id` is the recorder for 'default'
-- (who falls back) and 0 for every other bucket, so the table stays at most licenses × days × buckets rows
-- plus one row per user and day of falling back.
CREATE TABLE report_days (
    organization_id  BIGINT NOT NULL,
    recorded_on      TEXT   NOT NULL,
    license_id       BIGINT NOT NULL,
    bucket           TEXT   NOT NULL,
    user_id          BIGINT NOT NULL,
    n                BIGINT NOT NULL,
    PRIMARY KEY (organization_id, recorded_on, license_id, bucket, user_id)
);

CREATE TRIGGER reports_tally_insert AFTER INSERT ON reports
WHEN NEW.recorded_on IS NOT NULL
BEGIN
    INSERT INTO report_deltas (organization_id, license_id, user_id, recorded_on, bucket, n)
    VALUES (NEW.organization_id, NEW.license_id, NEW.user_id, NEW.recorded_on,
            CASE WHEN NEW.status = 'sent' THEN CASE WHEN NEW.key_used = 'credential' THEN 'own' ELSE 'default' END ELSE NEW.status END, 1);
END;

CREATE TRIGGER reports_tally_update AFTER UPDATE OF status, key_used, recorded_on ON reports
WHEN OLD.recorded_on IS NOT NEW.recorded_on
  OR (CASE WHEN OLD.status = 'sent' THEN CASE WHEN OLD.key_used = 'credential' THEN 'own' ELSE 'default' END ELSE OLD.status END)
     <> (CASE WHEN NEW.status = 'sent' THEN CASE WHEN NEW.key_used = 'credential' THEN 'own' ELSE 'default' END ELSE NEW.status END)
BEGIN
    INSERT INTO report_deltas (organization_id, license_id, user_id, recorded_on, bucket, n)
    SELECT OLD.organization_id, OLD.license_id, OLD.user_id, OLD.recorded_on,
           CASE WHEN OLD.status = 'sent' THEN CASE WHEN OLD.key_used = 'credential' THEN 'own' ELSE 'default' END ELSE OLD.status END, -1
    WHERE OLD.recorded_on IS NOT NULL;
    INSERT INTO report_deltas (organization_id, license_id, user_id, recorded_on, bucket, n)
    SELECT NEW.organization_id, NEW.license_id, NEW.user_id, NEW.recorded_on,
           CASE WHEN NEW.status = 'sent' THEN CASE WHEN NEW.key_used = 'credential' THEN 'own' ELSE 'default' END ELSE NEW.status END, 1
    WHERE NEW.recorded_on IS NOT NULL;
END;

CREATE TRIGGER reports_tally_delete AFTER DELETE ON reports
WHEN OLD.recorded_on IS NOT NULL
BEGIN
    INSERT INTO report_deltas (organization_id, license_id, user_id, recorded_on, bucket, n)
    VALUES (OLD.organization_id, OLD.license_id, OLD.user_id, OLD.recorded_on,
            CASE WHEN OLD.status = 'sent' THEN CASE WHEN OLD.key_used = 'credential' THEN 'own' ELSE 'default' END ELSE OLD.status END, -1);
END;

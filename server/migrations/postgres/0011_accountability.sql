-- Accountability: the day a report belongs to, and the counts per day kept by the database itself.
--
-- A report belongs to the day it was recorded in its license's time zone (`YYYY-MM-DD`), written when it is
-- recorded; reports recorded before this column existed get theirs at the server's start (`tally::backfill`,
-- the same code on both databases). NULL only until then.
ALTER TABLE reports ADD COLUMN recorded_on TEXT;
-- The reports still to be dated (`tally::backfill` looks for them every few seconds): empty once dated.
CREATE INDEX reports_without_day ON reports (id) WHERE recorded_on IS NULL;

-- Every change of a report's bucket, appended by the trigger below (+1 for the new bucket, -1 for the old):
-- no writer ever updates a shared counter row, so recording and sending never wait on each other or deadlock.
-- `tally::fold` moves these rows into `report_days` in the background. A report's bucket: 'own' and 'default'
-- (sent under the recorder's own key, or the organization's default key — a sent report without a key
-- recorded counts as default: never credited to its recorder), else its status.
CREATE TABLE report_deltas (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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

CREATE FUNCTION report_bucket(status TEXT, key_used TEXT) RETURNS TEXT AS $$
    SELECT CASE WHEN status = 'sent' THEN CASE WHEN key_used = 'credential' THEN 'own' ELSE 'default' END ELSE status END
$$ LANGUAGE sql IMMUTABLE;

CREATE FUNCTION reports_tally() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.recorded_on IS NOT DISTINCT FROM NEW.recorded_on
           AND report_bucket(OLD.status, OLD.key_used) = report_bucket(NEW.status, NEW.key_used) THEN
            RETURN NULL;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN IF OLD.recorded_on IS NOT NULL THEN
        INSERT INTO report_deltas (organization_id, license_id, user_id, recorded_on, bucket, n)
        VALUES (OLD.organization_id, OLD.license_id, OLD.user_id, OLD.recorded_on,
                report_bucket(OLD.status, OLD.key_used), -1);
    END IF; END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN IF NEW.recorded_on IS NOT NULL THEN
        INSERT INTO report_deltas (organization_id, license_id, user_id, recorded_on, bucket, n)
        VALUES (NEW.organization_id, NEW.license_id, NEW.user_id, NEW.recorded_on,
                report_bucket(NEW.status, NEW.key_used), 1);
    END IF; END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER reports_tally
AFTER INSERT OR UPDATE OF status, key_used, recorded_on OR DELETE ON reports
FOR EACH ROW EXECUTE FUNCTION reports_tally();

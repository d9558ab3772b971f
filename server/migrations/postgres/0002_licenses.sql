-- State licenses held by an organization. A license's number and state never change: a different number is a
-- different license, so the trigger below refuses any update of either.

CREATE TABLE licenses (
    id               BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organization_id  BIGINT  NOT NULL REFERENCES organizations (id),
    -- As issued by the state, compared exactly (shared::LicenseNumber).
    number           TEXT    NOT NULL,
    -- Two-letter code of a METRC state (shared::StateCode).
    state            TEXT    NOT NULL CHECK (length(state) = 2),
    display_name     TEXT    NOT NULL,
    license_type     TEXT    NOT NULL,
    -- The traceability provider the license reports to (shared::Provider code).
    provider         TEXT    NOT NULL CHECK (provider IN ('metrc')),
    -- Reports to the state system.
    tracked          BOOLEAN NOT NULL DEFAULT TRUE,
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    -- IANA name of the facility's zone: METRC wants sales times in facility-local wall-clock time.
    time_zone        TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    UNIQUE (organization_id, number)
);

CREATE FUNCTION licenses_number_and_state_never_change() RETURNS trigger AS $$
BEGIN
    IF NEW.number IS DISTINCT FROM OLD.number OR NEW.state IS DISTINCT FROM OLD.state THEN
        RAISE EXCEPTION 'a license''s number and state never change';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER licenses_number_and_state_never_change
BEFORE UPDATE OF number, state ON licenses
FOR EACH ROW EXECUTE FUNCTION licenses_number_and_state_never_change();

-- Live evaluation: when a batch of events is committed into a raw table, the alerts service hears it at
-- once (LISTEN synopse_alert_data; the payload names the table) and evaluates the rules that read it,
-- instead of waiting for its next periodic cycle. NOTIFY is delivered at commit, so the evaluator never
-- reads ahead of the data; one notification per statement (the stream worker writes a batch per
-- statement) and PostgreSQL folds identical notifications of one transaction, so ingestion barely pays.

CREATE OR REPLACE FUNCTION alert_data_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('synopse_alert_data', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS alert_data_emergency_visits ON emergency_visits;
CREATE TRIGGER alert_data_emergency_visits AFTER INSERT OR UPDATE ON emergency_visits
    FOR EACH STATEMENT EXECUTE FUNCTION alert_data_notify();
DROP TRIGGER IF EXISTS alert_data_bed_occupancy ON bed_occupancy_current;
CREATE TRIGGER alert_data_bed_occupancy AFTER INSERT OR UPDATE ON bed_occupancy_current
    FOR EACH STATEMENT EXECUTE FUNCTION alert_data_notify();
DROP TRIGGER IF EXISTS alert_data_environment ON environment_observations;
CREATE TRIGGER alert_data_environment AFTER INSERT OR UPDATE ON environment_observations
    FOR EACH STATEMENT EXECUTE FUNCTION alert_data_notify();

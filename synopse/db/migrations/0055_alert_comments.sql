-- Comments on alerts, posted from the dashboard's alerts page by the crisis cell and administrators: a thread per
-- alert, separate from acknowledgements (alert_acks) and silences. Append-only, like the audit log: a comment is
-- never edited nor deleted (a correction is a new comment). No foreign key to alerts: the engine drops a pending
-- episode that never fired (synopse.db.alerts.delete_alerts), and what was written about it stays on record.

CREATE TABLE IF NOT EXISTS alert_comments (
    comment_id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    uuid NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    author      text NOT NULL,                  -- the account's username
    role        text NOT NULL DEFAULT '',       -- the author's role when writing
    body        text NOT NULL CHECK (length(btrim(body)) BETWEEN 1 AND 1000)
);
CREATE INDEX IF NOT EXISTS alert_comments_alert ON alert_comments (alert_id, comment_id);

CREATE OR REPLACE FUNCTION alert_comments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'alert_comments is append-only (% refused)', TG_OP;
END;
$$;
CREATE OR REPLACE TRIGGER alert_comments_no_update_delete
    BEFORE UPDATE OR DELETE ON alert_comments FOR EACH ROW EXECUTE FUNCTION alert_comments_append_only();
CREATE OR REPLACE TRIGGER alert_comments_no_truncate
    BEFORE TRUNCATE ON alert_comments FOR EACH STATEMENT EXECUTE FUNCTION alert_comments_append_only();

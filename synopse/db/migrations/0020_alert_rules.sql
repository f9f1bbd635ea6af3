-- Alert rules as data, with the audit trail of every change (who, when, what: the definition before and
-- after). The version-controlled YAML file is loaded into `alert_rules` at the start of the alerts service;
-- edits made in the platform land in the same table. `definition` is the validated rule as JSON (see
-- synopse.domain.alerts); `file_hash` is the hash of the file's version last applied, so that a rule edited
-- in the platform is not overwritten at the next start unless the file's own version of it changed.

CREATE TABLE IF NOT EXISTS alert_rules (
    rule_id     text PRIMARY KEY,
    kind        text NOT NULL,
    definition  jsonb NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    source      text NOT NULL CHECK (source IN ('file', 'platform')),
    file_hash   text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);

CREATE TABLE IF NOT EXISTS alert_rule_changes (
    change_id   bigserial PRIMARY KEY,
    rule_id     text NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    changed_by  text NOT NULL,
    action      text NOT NULL CHECK (action IN ('create', 'update', 'delete', 'enable', 'disable')),
    source      text NOT NULL CHECK (source IN ('file', 'platform')),
    before      jsonb,
    after       jsonb,
    comment     text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alert_rule_changes_rule ON alert_rule_changes (rule_id, changed_at DESC);

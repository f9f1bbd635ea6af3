-- Access and sharing: organisations, users, what is shared with each organisation, login sessions, login
-- attempts (rate limiting shared by every dashboard worker), API tokens, and the append-only audit log.
-- Secrets are never stored: passwords as argon2id hashes, session ids and API tokens as SHA-256 digests
-- (they are random, 256-bit: a fast digest is enough, and a stolen table gives no usable cookie or token).

CREATE TABLE IF NOT EXISTS access_organisations (
    organisation_id  integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name             text NOT NULL CHECK (name <> ''),
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS access_users (
    user_id              integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name         text NOT NULL DEFAULT '',
    password_hash        text NOT NULL,
    role                 text NOT NULL CHECK (role IN ('administrator', 'crisis_cell', 'partner', 'viewer')),
    organisation_id      integer REFERENCES access_organisations (organisation_id),
    active               boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    password_changed_at  timestamptz NOT NULL DEFAULT now(),
    -- A partner sees what is shared with its organisation: without one it would see nothing.
    CONSTRAINT access_users_partner_has_organisation CHECK (role <> 'partner' OR organisation_id IS NOT NULL)
);

CREATE TABLE IF NOT EXISTS access_shares (
    organisation_id  integer NOT NULL REFERENCES access_organisations (organisation_id) ON DELETE CASCADE,
    kind             text NOT NULL CHECK (kind IN ('facility', 'commune', 'indicator')),
    ref              text NOT NULL,          -- facility_id, INSEE commune code, or indicator name
    granted_at       timestamptz NOT NULL DEFAULT now(),
    granted_by       text NOT NULL,
    PRIMARY KEY (organisation_id, kind, ref)
);

CREATE TABLE IF NOT EXISTS access_sessions (
    session_hash  bytea PRIMARY KEY,         -- SHA-256 of the cookie value
    user_id       integer NOT NULL REFERENCES access_users (user_id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,      -- absolute end; the idle limit is checked against last_seen_at
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS access_sessions_user ON access_sessions (user_id);
CREATE INDEX IF NOT EXISTS access_sessions_expiry ON access_sessions (expires_at);

CREATE TABLE IF NOT EXISTS access_login_attempts (
    attempt_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempted_at  timestamptz NOT NULL DEFAULT now(),
    username      text NOT NULL,             -- as typed (lower-cased), whether or not the account exists
    ip            text NOT NULL,
    outcome       text NOT NULL CHECK (outcome IN ('success', 'failure', 'blocked'))
);
CREATE INDEX IF NOT EXISTS access_login_attempts_user ON access_login_attempts (username, attempted_at);
CREATE INDEX IF NOT EXISTS access_login_attempts_ip ON access_login_attempts (ip, attempted_at);

CREATE TABLE IF NOT EXISTS access_tokens (
    token_id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash       bytea NOT NULL UNIQUE,  -- SHA-256 of the token; the token is shown once, at creation
    prefix           text NOT NULL,          -- its first characters, to recognise it in listings
    organisation_id  integer NOT NULL REFERENCES access_organisations (organisation_id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (name <> ''),
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       text NOT NULL,
    expires_at       timestamptz,
    last_used_at     timestamptz,
    revoked_at       timestamptz
);
CREATE INDEX IF NOT EXISTS access_tokens_organisation ON access_tokens (organisation_id);

-- Who did what, when: every administrative action, every login, every data access by a partner.
-- No foreign keys: a row outlives the user, token or organisation it names.
CREATE TABLE IF NOT EXISTS access_audit (
    audit_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at               timestamptz NOT NULL DEFAULT now(),
    actor            text NOT NULL,          -- username, token:<prefix>, or cli:<system user>
    role             text NOT NULL DEFAULT '',
    organisation_id  integer,
    action           text NOT NULL,          -- e.g. auth.login, data.read, users.add, share.grant
    target           text NOT NULL DEFAULT '',
    outcome          text NOT NULL DEFAULT 'ok' CHECK (outcome IN ('ok', 'denied', 'failed')),
    ip               text NOT NULL DEFAULT '',
    details          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX IF NOT EXISTS access_audit_at ON access_audit (at);
CREATE INDEX IF NOT EXISTS access_audit_actor ON access_audit (actor, at);

-- The audit log is append-only: a row once written is never changed nor deleted by the application.
CREATE OR REPLACE FUNCTION access_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_audit is append-only (% refused)', TG_OP;
END;
$$;
CREATE OR REPLACE TRIGGER access_audit_no_update_delete
    BEFORE UPDATE OR DELETE ON access_audit FOR EACH ROW EXECUTE FUNCTION access_audit_append_only();
CREATE OR REPLACE TRIGGER access_audit_no_truncate
    BEFORE TRUNCATE ON access_audit FOR EACH STATEMENT EXECUTE FUNCTION access_audit_append_only();

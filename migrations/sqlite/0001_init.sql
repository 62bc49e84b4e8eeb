-- otpd schema v1: challenges (one row per verification) and the append-only audit chain.
-- All times are UTC, stored as integer milliseconds since the Unix epoch.

CREATE TABLE challenges (
    id              INTEGER PRIMARY KEY,
    phone           TEXT    NOT NULL,            -- E.164; removed by prune once finished
    station         TEXT    NOT NULL,            -- the terminal that sent the first code
    channel         TEXT    NOT NULL,            -- sms | whatsapp | call
    code_hash       TEXT    NOT NULL,            -- argon2id PHC string, peppered
    code_length     INTEGER NOT NULL,
    generation      INTEGER NOT NULL DEFAULT 1,  -- bumped by every resend; consume checks it
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,            -- last (re)issue
    expires_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,  -- counted before the hash is checked
    max_attempts    INTEGER NOT NULL,
    resends         INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'approved', 'failed', 'cancelled')),
    used_at         INTEGER,
    delivery_status TEXT    NOT NULL DEFAULT 'pending', -- pending | sent | unknown | failed
    provider_ref    TEXT,                        -- e.g. a Twilio message SID
    CHECK (attempts <= max_attempts),
    CHECK ((state = 'approved') = (used_at IS NOT NULL))
);

CREATE INDEX challenges_phone ON challenges (phone, id);
CREATE INDEX challenges_station_state ON challenges (station, state, expires_at);

-- Append-only. `mac` = HMAC-SHA256(audit key, prev_mac || canonical row); see src/store/audit.rs.
CREATE TABLE audit_events (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    station      TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,              -- ok | refused | failed
    phone_masked TEXT,                          -- for display only
    phone_key    TEXT,                          -- HMAC of the E.164 number, for filters
    challenge_id INTEGER,
    detail       TEXT    NOT NULL DEFAULT '',
    prev_mac     TEXT    NOT NULL,
    mac          TEXT    NOT NULL
);

CREATE INDEX audit_at ON audit_events (at);
CREATE INDEX audit_phone ON audit_events (phone_key, id);
CREATE INDEX audit_station ON audit_events (station, id);
CREATE INDEX audit_event ON audit_events (event, id);

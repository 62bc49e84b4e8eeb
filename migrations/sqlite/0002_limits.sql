-- otpd schema v2: the abuse and cost limits' own state (see src/store/limits.rs).
-- A ledger of sends rather than counting audit rows, so limits do not depend on audit
-- retention, and numbers appear only as keyed hashes (HMAC of the E.164 number or prefix).

-- One row per code handed to delivery, written in the same BEGIN IMMEDIATE transaction that
-- issues the code. Rows older than a day are deleted as new sends are recorded.
CREATE TABLE limit_sends (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,             -- UTC ms
    phone_key    TEXT    NOT NULL,             -- HMAC of the E.164 number
    prefix_key   TEXT    NOT NULL,             -- HMAC of country code + first national digits
    station      TEXT    NOT NULL,
    challenge_id INTEGER NOT NULL,
    converted    INTEGER NOT NULL DEFAULT 0    -- 1 once this verification was approved
);

CREATE INDEX limit_sends_at ON limit_sends (at);
CREATE INDEX limit_sends_phone ON limit_sends (phone_key, at);
CREATE INDEX limit_sends_prefix ON limit_sends (prefix_key, at);
CREATE INDEX limit_sends_station ON limit_sends (station, at);
CREATE INDEX limit_sends_challenge ON limit_sends (challenge_id);

-- Per-number state that outlives any one verification: the resend back-off streak and the
-- consecutive wrong codes across codes (with the lock-outs they cause).
CREATE TABLE limit_numbers (
    phone_key    TEXT    PRIMARY KEY,
    phone_masked TEXT    NOT NULL,             -- for `otpd limits` only
    streak       INTEGER NOT NULL DEFAULT 0,   -- sends since the last success or quiet period
    last_send_at INTEGER,
    failures     INTEGER NOT NULL DEFAULT 0,   -- consecutive wrong codes, across codes
    locked_until INTEGER,                      -- end of a timed lock-out (UTC ms)
    needs_unlock INTEGER NOT NULL DEFAULT 0    -- 1: only `otpd unlock PHONE` lifts the lock
) WITHOUT ROWID;

CREATE INDEX limit_numbers_locked ON limit_numbers (needs_unlock, locked_until);

-- The conversion guard's pause: one row, present from the start.
CREATE TABLE limit_pause (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    paused_at  INTEGER,                        -- NULL: sending is not paused
    reason     TEXT,
    resumed_at INTEGER                         -- the guard's window starts here after a resume
);

INSERT INTO limit_pause (id) VALUES (1);

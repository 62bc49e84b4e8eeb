-- otpd schema v11: Twilio Verify's programmable rate limits (issue 26). A rate limit is a name a
-- create's `RateLimits` map uses; its buckets allow at most `max` creates per value in any
-- `interval_s` seconds. Each create that issued a code is counted once per rate limit it named,
-- in the same BEGIN IMMEDIATE transaction that issues it; the value (an end user's address, a
-- session id) is stored only as a keyed hash. Times are UTC ms.
CREATE TABLE rate_limits (
    sid          TEXT    PRIMARY KEY,            -- RK…
    unique_name  TEXT    NOT NULL UNIQUE,
    description  TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE rate_limit_buckets (
    sid            TEXT    PRIMARY KEY,          -- BL…
    rate_limit_sid TEXT    NOT NULL,
    max            INTEGER NOT NULL,
    interval_s     INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (rate_limit_sid, interval_s)
);

CREATE TABLE rate_limit_hits (
    id             INTEGER PRIMARY KEY,
    rate_limit_sid TEXT    NOT NULL,
    value_key      TEXT    NOT NULL,             -- HMAC of the rate limit's SID and the value
    at             INTEGER NOT NULL
);

CREATE INDEX rate_limit_hits_key ON rate_limit_hits (rate_limit_sid, value_key, at);
CREATE INDEX rate_limit_hits_at ON rate_limit_hits (at);

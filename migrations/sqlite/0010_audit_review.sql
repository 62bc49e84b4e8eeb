-- otpd schema v10: what the audit pages of otpd serve keep (issue 23).
-- Sessions of the audit pages: only the token's keyed hash is stored, never the token, with the
-- key that signed in (re-checked on every request, so revoking the key ends its sessions).
CREATE TABLE audit_sessions (
    token_hash TEXT PRIMARY KEY,
    key_sid TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    ended_at INTEGER
) WITHOUT ROWID;
CREATE INDEX audit_sessions_created ON audit_sessions (created_at);

-- The per-bucket (15 minutes) event counts behind `audit stats` and the stats page, counted
-- through the audit row `audit_rollup_mark.through_id`: a view folds only the rows appended since,
-- and retention takes away what it removes, so the figures stay those of a full scan.
-- `event` 'sms_segments' holds the SMS segments the `delivered` rows record.
CREATE TABLE audit_rollup (
    bucket INTEGER NOT NULL,
    event TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (bucket, event)
) WITHOUT ROWID;
CREATE TABLE audit_rollup_mark (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    through_id INTEGER NOT NULL
);
INSERT INTO audit_rollup_mark (one, through_id) VALUES (1, 0);

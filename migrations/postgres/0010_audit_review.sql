-- otpd schema v10 on PostgreSQL: the audit pages' sessions and the audit log's per-bucket
-- rollup, as migrations/sqlite/0010_audit_review.sql.
CREATE TABLE audit_sessions (
    token_hash TEXT PRIMARY KEY,
    key_sid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX audit_sessions_created ON audit_sessions (created_at);

CREATE TABLE audit_rollup (
    bucket BIGINT NOT NULL,
    event TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (bucket, event)
);
CREATE TABLE audit_rollup_mark (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    through_id BIGINT NOT NULL
);
INSERT INTO audit_rollup_mark (one, through_id) VALUES (1, 0);

-- otpd schema v3 on PostgreSQL: audit retention anchors and the (at, event) index, as
-- migrations/sqlite/0003_audit_anchor.sql.
CREATE TABLE audit_anchor (
    seq      BIGINT  PRIMARY KEY,
    last_id  BIGINT  NOT NULL,
    last_mac TEXT    NOT NULL,
    removed  BIGINT  NOT NULL,
    at       BIGINT  NOT NULL,
    mac      TEXT    NOT NULL
);

DROP INDEX IF EXISTS audit_at;
CREATE INDEX audit_at_event ON audit_events (at, event);

-- otpd schema v3: audit retention anchors and a covering index for per-day statistics.
--
-- When `[audit] retention_days` removes an old prefix of the chain, the id and MAC of the last
-- removed row are kept here, sealed with their own MAC under the audit key, so `audit verify`
-- can check the remaining chain from that point on. Rows are only ever added; verify uses the
-- newest.
CREATE TABLE audit_anchor (
    seq      INTEGER PRIMARY KEY,
    last_id  INTEGER NOT NULL,            -- the last removed audit row
    last_mac TEXT    NOT NULL,            -- its MAC: the prev_mac of row last_id + 1
    removed  INTEGER NOT NULL,            -- how many rows this truncation removed
    at       INTEGER NOT NULL,            -- when (UTC ms)
    mac      TEXT    NOT NULL             -- HMAC(audit key, "otpd-audit-anchor-v1" ‖ fields)
);

-- `audit stats` groups by time and event: (at, event) answers it from the index alone, and
-- still serves every `at` range the old single-column index served.
DROP INDEX IF EXISTS audit_at;
CREATE INDEX audit_at_event ON audit_events (at, event);

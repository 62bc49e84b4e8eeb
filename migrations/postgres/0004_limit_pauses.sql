-- otpd schema v4 on PostgreSQL: the conversion guard's pauses by scope, as
-- migrations/sqlite/0004_limit_pauses.sql.
CREATE TABLE limit_pauses (
    scope     TEXT    NOT NULL CHECK (scope IN ('global', 'station', 'prefix')),
    key       TEXT    NOT NULL,
    name      TEXT    NOT NULL,
    paused_at BIGINT  NOT NULL,
    reason    TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
);

INSERT INTO limit_pauses (scope, key, name, paused_at, reason)
    SELECT 'global', '', '', paused_at, coalesce(reason, '')
    FROM limit_pause WHERE id = 1 AND paused_at IS NOT NULL;

UPDATE limit_pause SET paused_at = NULL, reason = NULL WHERE id = 1;

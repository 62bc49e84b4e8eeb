-- otpd schema v4: the conversion guard's pauses by scope (see src/store/sqlite/pauses.rs).
-- v2 kept one installation-wide pause in limit_pause; a kiosk whose visitors never typed their
-- codes back paused every desk with it. Now a station or a prefix is paused on its own, and the
-- installation only when the collapse is spread across them.

-- One row per paused scope, written in the BEGIN IMMEDIATE transaction of the refused send that
-- tripped it; `otpd limits resume` deletes them all.
CREATE TABLE limit_pauses (
    scope     TEXT    NOT NULL CHECK (scope IN ('global', 'station', 'prefix')),
    key       TEXT    NOT NULL,   -- '' (global), the station's name, the prefix's keyed hash
    name      TEXT    NOT NULL,   -- what otpd shows: '', the station's name, the masked prefix
    paused_at INTEGER NOT NULL,   -- UTC ms
    reason    TEXT    NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

-- A pause set by an older otpd was installation-wide: it stays, as the global pause.
INSERT INTO limit_pauses (scope, key, name, paused_at, reason)
    SELECT 'global', '', '', paused_at, coalesce(reason, '')
    FROM limit_pause WHERE id = 1 AND paused_at IS NOT NULL;

-- limit_pause keeps only resumed_at (every scope's window restarts at the last resume);
-- its paused_at and reason columns are no longer read or written.
UPDATE limit_pause SET paused_at = NULL, reason = NULL WHERE id = 1;

-- otpd schema v9: kiosk keys (issue 22). A key of role `kiosk` is the kiosk page's station: it
-- never authenticates an API request; a browser enrolled with a one-time link acts as it. SQLite
-- cannot change a CHECK constraint in place, so the table is rebuilt with the new role allowed
-- (every row and its seal copied as they are).
CREATE TABLE api_keys_v9 (
    sid         TEXT    PRIMARY KEY CHECK (length(sid) = 34 AND sid LIKE 'SK%'),
    secret_hash TEXT    NOT NULL,
    station     TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('station', 'auditor', 'admin', 'kiosk')),
    created_at  INTEGER NOT NULL,   -- UTC ms
    revoked_at  INTEGER,            -- UTC ms; a revoked key authenticates nothing
    mac         TEXT
) WITHOUT ROWID;
INSERT INTO api_keys_v9 (sid, secret_hash, station, role, created_at, revoked_at, mac)
    SELECT sid, secret_hash, station, role, created_at, revoked_at, mac FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE api_keys_v9 RENAME TO api_keys;

-- otpd schema v5 on PostgreSQL: what `otpd serve` stores (API keys, each verification's `VE…`
-- SID, the server's settings), as migrations/sqlite/0005_api_keys.sql.
CREATE TABLE api_keys (
    sid         TEXT    PRIMARY KEY CHECK (length(sid) = 34 AND sid LIKE 'SK%'),
    secret_hash TEXT    NOT NULL,
    station     TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('station', 'auditor', 'admin')),
    created_at  BIGINT  NOT NULL,
    revoked_at  BIGINT
);

-- Goes with its verification when `prune` deletes it.
CREATE TABLE verification_sids (
    sid          TEXT    PRIMARY KEY CHECK (length(sid) = 34 AND sid LIKE 'VE%'),
    challenge_id BIGINT  NOT NULL UNIQUE REFERENCES challenges (id) ON DELETE CASCADE
);

CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

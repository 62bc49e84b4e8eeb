-- otpd schema v5: what `otpd serve` (issue 14) stores: the API keys its clients authenticate
-- with, the Twilio-style SID of each verification, and the server's own settings (its
-- service SID, generated on first start).

-- One row per key. `secret_hash` is HMAC-SHA256 under a key derived from the master secret
-- (see Secrets::api_key_hash); the secret itself is shown once, at creation, and never stored.
CREATE TABLE api_keys (
    sid         TEXT    PRIMARY KEY CHECK (length(sid) = 34 AND sid LIKE 'SK%'),
    secret_hash TEXT    NOT NULL,
    station     TEXT    NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('station', 'auditor', 'admin')),
    created_at  INTEGER NOT NULL,   -- UTC ms
    revoked_at  INTEGER             -- UTC ms; a revoked key authenticates nothing
) WITHOUT ROWID;

-- A random `VE…` SID per verification, so SIDs cannot be enumerated from challenge ids. It goes
-- with its verification when `prune` deletes it.
CREATE TABLE verification_sids (
    sid          TEXT    PRIMARY KEY CHECK (length(sid) = 34 AND sid LIKE 'VE%'),
    challenge_id INTEGER NOT NULL UNIQUE REFERENCES challenges (id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

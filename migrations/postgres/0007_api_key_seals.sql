-- otpd schema v7 on PostgreSQL: each API key row's seal and the index that finds a key's
-- revocation in the audit log, as migrations/sqlite/0007_api_key_seals.sql.
ALTER TABLE api_keys ADD COLUMN mac TEXT;

CREATE INDEX audit_key_revoked ON audit_events (detail) WHERE event = 'key_revoked';

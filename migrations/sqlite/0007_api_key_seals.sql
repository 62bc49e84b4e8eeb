-- otpd schema v7: API key rows that cannot be edited into power (issue 21). `mac` seals each
-- row (HMAC-SHA256 under a key derived from the master secret over sid, station, role, secret
-- hash, created_at and revoked_at; see src/store/key_seal.rs): a row whose seal does not match
-- authenticates nothing. Rows present before v7 get their seal from the otpd that migrates
-- (it holds the master secret), in this migration's transaction; NULL: unsealed, refused.
ALTER TABLE api_keys ADD COLUMN mac TEXT;

-- A `key_revoked` event in the MAC-chained audit log revokes its key whatever the row says;
-- this makes that lookup one index probe per request.
CREATE INDEX audit_key_revoked ON audit_events (detail) WHERE event = 'key_revoked';

-- otpd schema v8 on PostgreSQL: the code a resend replaced and its expiry (milliseconds since
-- the Unix epoch), as migrations/sqlite/0008_replaced_code.sql.
ALTER TABLE challenges ADD COLUMN replaced_hash TEXT;
ALTER TABLE challenges ADD COLUMN replaced_expires_at BIGINT;

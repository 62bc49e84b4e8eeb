-- otpd schema v6 on PostgreSQL: each verification's message language, as
-- migrations/sqlite/0006_challenge_locale.sql.
ALTER TABLE challenges ADD COLUMN locale TEXT;

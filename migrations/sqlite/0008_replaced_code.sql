-- otpd schema v8: the code a resend replaced, kept so that the first of two text messages that
-- arrive out of order still works until its own expiry ([policy] accept_replaced_code). Only
-- the previous code is kept (a second resend replaces it), as its argon2id hash, never digits.
-- NULL: never resent, written before v8, or the policy was off at the resend.
ALTER TABLE challenges ADD COLUMN replaced_hash TEXT;
ALTER TABLE challenges ADD COLUMN replaced_expires_at INTEGER;

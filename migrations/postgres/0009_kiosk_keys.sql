-- otpd schema v9 on PostgreSQL: kiosk keys (issue 22), as migrations/sqlite/0009_kiosk_keys.sql:
-- the role `kiosk` allowed.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check
    CHECK (role IN ('station', 'auditor', 'admin', 'kiosk'));

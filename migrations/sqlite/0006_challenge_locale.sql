-- otpd schema v6: the language a verification's messages are in (a BCP 47 tag of a built-in
-- locale, e.g. "es"), so a `resend` without `--locale` — from another terminal, through the
-- server, or after a restart — texts the person in the language of the code it replaces.
-- NULL: written before v6, or no language was asked for ([message] locale applies).
ALTER TABLE challenges ADD COLUMN locale TEXT;

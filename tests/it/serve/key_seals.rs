//! Key rows that cannot be edited into power (issue 21): a key's row is sealed under a key
//! derived from the master secret, and its revocation is read from the MAC-chained audit log, so
//! someone who can write the database cannot un-revoke a key, raise its role, move it to another
//! station or put back an old copy of its row.

use super::{Key, Server, assert_error, key};
use crate::harness::{Env, on_both_stores};

/// What a station key gets from its status page: 200, or 401 (Twilio's 20003) when it
/// authenticates as nothing.
fn status(server: &Server, k: &Key) -> u16 {
    let r = server.get(&format!("{}/otpd/v1/status", server.base), Some(k));
    if r.status == 401 {
        assert_error(&r, 401, 20003);
    }
    r.status
}

/// The key's line in `otpd keys list`.
fn listed(env: &Env, k: &Key) -> String {
    let list = env.run(&["keys", "list"]).ok().stdout.clone();
    list.lines()
        .find(|l| l.contains(&k.sid))
        .unwrap_or_else(|| panic!("{} not listed:\n{list}", k.sid))
        .to_string()
}

on_both_stores! {
    fn a_revoked_key_stays_revoked_when_its_row_is_un_revoked_or_put_back(store) {
        let env = Env::new_on(store);
        let gone = key(&env, "desk-1", "station");
        let kept = key(&env, "desk-2", "station");
        let row = |col: &str| {
            env.query_strings(&format!("SELECT {col} FROM api_keys WHERE sid = '{}'", gone.sid))
                .remove(0)
        };
        // The row as it was before revocation: an old copy (a backup) of it.
        let old_mac = row("mac");
        let server = Server::in_process(&env);
        assert_eq!(status(&server, &gone), 200);
        env.run(&["keys", "revoke", &gone.sid]).ok();
        assert_eq!(status(&server, &gone), 401);

        // Un-revoked by SQL: the row no longer matches its seal.
        env.execute(&format!("UPDATE api_keys SET revoked_at = NULL WHERE sid = '{}'", gone.sid));
        assert_eq!(status(&server, &gone), 401, "un-revoked by SQL");
        assert!(listed(&env, &gone).contains("tampered"), "{}", listed(&env, &gone));

        // The old copy put back, seal and all: the audit log's key_revoked still revokes it.
        env.execute(&format!(
            "UPDATE api_keys SET revoked_at = NULL, mac = '{old_mac}' WHERE sid = '{}'",
            gone.sid
        ));
        assert_eq!(status(&server, &gone), 401, "old copy of the row put back");
        let line = listed(&env, &gone);
        assert!(line.contains("revoked") && !line.contains("tampered"), "{line}");
        let list = env.run(&["keys", "list", "--json"]).ok().json();
        let entry = list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["sid"] == gone.sid.as_str())
            .unwrap()
            .clone();
        assert!(entry["revoked_at"].is_string(), "{entry}");
        // Revoking it again finds no live key.
        assert_eq!(env.run(&["keys", "revoke", &gone.sid]).code, 1);

        // Positive control: the untouched key still works.
        assert_eq!(status(&server, &kept), 200);
        assert!(listed(&env, &kept).ends_with("live"), "{}", listed(&env, &kept));
    }

    fn a_key_edited_into_another_role_or_station_authenticates_as_nothing(store) {
        let env = Env::new_on(store);
        let raised = key(&env, "desk-1", "station");
        let moved = key(&env, "desk-2", "station");
        let kept = key(&env, "desk-3", "station");
        let server = Server::in_process(&env);
        for k in [&raised, &moved, &kept] {
            assert_eq!(status(&server, k), 200);
        }
        env.execute(&format!(
            "UPDATE api_keys SET role = 'admin', station = 'hq' WHERE sid = '{}'",
            raised.sid
        ));
        env.execute(&format!("UPDATE api_keys SET station = 'hq' WHERE sid = '{}'", moved.sid));
        assert_eq!(status(&server, &raised), 401, "role and station raised by SQL");
        assert_eq!(status(&server, &moved), 401, "station moved by SQL");
        // An admin key may approve without a code: the edited one may not.
        let one = server.url(&format!("/Verifications/VE{}", "0".repeat(32)));
        assert_error(&server.post(&one, Some(&raised), &[("Status", "approved")]), 401, 20003);
        assert!(listed(&env, &raised).contains("tampered"), "{}", listed(&env, &raised));
        let list = env.run(&["keys", "list", "--json"]).ok().json();
        let tampered: Vec<_> = list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["tampered"] == true)
            .map(|k| k["sid"].as_str().unwrap().to_string())
            .collect();
        let mut expected = [raised.sid.clone(), moved.sid.clone()];
        expected.sort();
        assert_eq!(tampered, expected, "keys list sorts same-instant keys by SID");

        // Positive control: the untouched key still works.
        assert_eq!(status(&server, &kept), 200);
        let (_, log) = server.stop();
        let refusals: Vec<&str> = log.lines().filter(|l| l.contains("refused API key")).collect();
        assert_eq!(refusals.len(), 3, "one line per refused request:\n{log}");
        assert!(refusals[0].contains(&raised.sid), "{log}");
        for k in [&raised, &moved, &kept] {
            assert!(!log.contains(&k.secret), "a secret in the log:\n{log}");
        }
    }

    fn a_key_made_before_seals_is_sealed_by_the_migration_and_keeps_working(store) {
        let env = Env::new_on(store);
        let old = key(&env, "desk-1", "station");
        // Back to schema 6: no seal column, no revocation index (and none of 0008's columns,
        // nor 0012's events outbox and indexes).
        env.execute("DROP TABLE event_outbox");
        env.execute("DROP INDEX challenges_provider_ref");
        env.execute("DROP INDEX challenges_pending_expiry");
        env.execute("DROP INDEX audit_key_revoked");
        env.execute("ALTER TABLE api_keys DROP COLUMN mac");
        env.execute("ALTER TABLE challenges DROP COLUMN replaced_hash");
        env.execute("ALTER TABLE challenges DROP COLUMN replaced_expires_at");
        // (and none of 0011's tables)
        for t in ["rate_limits", "rate_limit_buckets", "rate_limit_hits"] {
            env.execute(&format!("DROP TABLE {t}"));
        }
        // … nor 0010's tables.
        env.execute("DROP TABLE audit_sessions; DROP TABLE audit_rollup; DROP TABLE audit_rollup_mark;");
        env.execute(match env.store() {
            crate::harness::Store::Sqlite => "PRAGMA user_version = 6",
            crate::harness::Store::Postgres => "UPDATE otpd_schema SET version = 6",
        });
        let server = Server::in_process(&env);
        assert_eq!(status(&server, &old), 200, "sealed when the server migrated");
        assert_eq!(env.query_i64("SELECT count(*) FROM api_keys WHERE mac IS NULL"), 0);
        // And sealed for what `keys create` made: a later edit is caught.
        env.execute(&format!("UPDATE api_keys SET role = 'admin' WHERE sid = '{}'", old.sid));
        assert_eq!(status(&server, &old), 401);
    }
}

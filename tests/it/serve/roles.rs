//! Keys and roles: a station key sees only its station, an auditor runs no verification, only
//! an admin approves without a code (audited), and the keys' own commands.

use super::{Server, assert_error, assert_schema, key};
use crate::harness::{Env, US_E164, on_both_stores};
on_both_stores! {
    fn stations_are_apart_and_only_admins_approve_without_a_code(store) {
        let env = Env::new_on(store);
        let desk1 = key(&env, "desk-1", "station");
        let desk2 = key(&env, "desk-2", "station");
        let auditor = key(&env, "audit", "auditor");
        let admin = key(&env, "hq", "admin");
        let server = Server::in_process(&env);

        assert_error(&server.create(&auditor, US_E164), 403, 20403);
        let created = server.create(&desk1, US_E164);
        let sid = created.body["sid"].as_str().unwrap().to_string();
        let one = server.url(&format!("/Verifications/{sid}"));
        assert_error(&server.get(&one, Some(&desk2)), 404, 20404);
        assert_error(&server.check(&desk2, US_E164, "000000"), 404, 20404);
        assert_eq!(server.get(&one, Some(&admin)).status, 200);

        let approve = [("Status", "approved")];
        assert_error(&server.post(&one, Some(&desk1), &approve), 403, 20403);
        let r = server.post(&one, Some(&admin), &approve);
        assert_eq!(r.status, 200, "{r:?}");
        assert_schema("verification", &r.body);
        assert_eq!(r.body["status"], "approved");
        let audit = env.run(&["audit", "--json"]).ok().stdout.clone();
        assert!(audit.contains("manually_approved"), "{audit}");
        assert!(audit.contains(&admin.sid), "{audit}");
        // Approved: no longer cancellable.
        assert_error(
            &server.post(&one, Some(&desk1), &[("Status", "canceled")]),
            404,
            20404,
        );
    }

    fn a_station_key_cancels_its_pending_verification(store) {
        let env = Env::new_on(store);
        let desk1 = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        let created = server.create(&desk1, US_E164);
        let one = server.url(&format!(
            "/Verifications/{}",
            created.body["sid"].as_str().unwrap()
        ));
        let r = server.post(&one, Some(&desk1), &[("Status", "canceled")]);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.body["status"], "canceled");
        assert_error(
            &server.check(&desk1, US_E164, &env.last_code(US_E164)),
            404,
            20404,
        );
        let status = server.get(&format!("{}/otpd/v1/status", server.base), Some(&desk1));
        assert_eq!(status.body["outcome"], "status", "{status:?}");
    }

    fn keys_are_listed_without_secrets_and_revocation_is_audited(store) {
        let env = Env::new_on(store);
        let k = key(&env, "kiosk-3", "station");
        let list = env.run(&["keys", "list", "--json"]).ok().json();
        assert_eq!(list["keys"][0]["sid"], k.sid.as_str());
        assert_eq!(list["keys"][0]["station"], "kiosk-3");
        let all = env.run(&["keys", "list"]);
        assert!(
            !all.stdout.contains(&k.secret) && all.stdout.contains(&k.sid),
            "{all:?}"
        );
        let stored = env.query_strings("SELECT secret_hash FROM api_keys").remove(0);
        assert_ne!(stored, k.secret);
        let r = env.run(&["keys", "revoke", &k.sid, "--json"]).ok().json();
        assert_eq!(r["outcome"], "key_revoked");
        let again = env.run(&["keys", "revoke", &k.sid, "--json"]);
        assert_eq!(
            (again.code, again.outcome()),
            (1, "no_such_key".to_string())
        );
        let bad = env.run(&[
            "keys",
            "create",
            "--station",
            "x",
            "--role",
            "root",
            "--json",
        ]);
        assert_eq!((bad.code, bad.outcome()), (2, "invalid_input".to_string()));
        let audit = env.run(&["audit", "--json"]).ok().stdout.clone();
        assert!(
            audit.contains("key_created") && audit.contains("key_revoked"),
            "{audit}"
        );
    }

    fn auditor_keys_read_and_verify_the_audit_log_and_station_keys_do_not(store) {
        let env = Env::new_on(store);
        let desk1 = key(&env, "desk-1", "station");
        let auditor = key(&env, "audit", "auditor");
        let server = Server::in_process(&env);
        server.create(&desk1, US_E164);
        let url = format!("{}/otpd/v1/audit", server.base);
        assert_error(&server.get(&url, Some(&desk1)), 403, 20403);
        let list = server.post(&url, Some(&auditor), &[("Args", "--event sent")]);
        assert_eq!(list.status, 200, "{list:?}");
        assert_eq!(list.body["lines"][0]["event"], "sent", "{list:?}");
        assert!(!list.body.to_string().contains(US_E164), "{list:?}");
        let verify = server.post(&url, Some(&auditor), &[("Args", "verify")]);
        assert_eq!(verify.body["exit_status"], 0, "{verify:?}");
        // The export is the log's rows as `otpd audit export` prints them, numbers masked.
        let export = server.post(&url, Some(&auditor), &[("Args", "export --format json")]);
        assert_eq!(export.body["exit_status"], 0, "{export:?}");
        let text = export.body["output"].as_str().unwrap_or_default().to_string();
        let rows: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert!(rows.iter().any(|r| r["event"] == "sent"), "{text}");
        assert!(!text.contains(US_E164), "{text}");
        for args in ["--limit 5000", "--bogus", "verify --head-file /etc/passwd"] {
            let r = server.post(&url, Some(&auditor), &[("Args", args)]);
            assert_error(&r, 400, 60200);
        }
    }
}

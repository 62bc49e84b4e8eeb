//! What losing (or replacing) the master secret does, through the binary (issue 21): the key
//! file is gone, otpd makes a new one on its next run, and everything keyed by the old secret
//! stops matching. Asserts what really happens, as README's "The master secret" says.

use super::{Server, assert_error, key};
use crate::harness::{Env, UK, US, US_E164, US2, on_both_stores};

on_both_stores! {
    fn a_new_master_secret_orphans_codes_keys_the_audit_chain_and_the_per_number_limits(store) {
        let mut env = Env::with_config_on(
            store,
            "[limits]\nper_number_per_hour = 1\nper_station_per_hour = 3\nmax_failures_per_number = 1\n",
        );
        let desk = key(&env, "desk-1", "station");
        env.run(&["send", US]).ok();
        let code = env.last_code(US_E164);
        // A wrong code locks the UK number (one failure allowed), and its hour allows one send.
        env.run(&["send", UK]).ok();
        env.run(&["verify", "000000", "--phone", UK]);
        env.advance(60);

        // Controls, under the secret that wrote it all.
        let server = Server::in_process(&env);
        let status = format!("{}/otpd/v1/status", server.base);
        assert_eq!(server.get(&status, Some(&desk)).status, 200);
        drop(server);
        assert_eq!(env.run(&["audit", "verify"]).code, 0);
        let limits = env.run(&["limits"]).ok().stdout.clone();
        assert!(limits.contains("locked"), "{limits}");
        assert!(!limits.contains("No number is locked"), "{limits}");
        let refused = env.run(&["send", UK, "--json"]);
        assert_eq!(refused.code, 1, "{refused:?}");

        // The key file is lost: the next run makes a new one, silently.
        let old = std::fs::read(env.secret_path()).unwrap();
        std::fs::remove_file(env.secret_path()).unwrap();

        // The pending code is now just a wrong code (it counts an attempt).
        let r = env.run(&["verify", &code, "--phone", US, "--json"]);
        assert_ne!(std::fs::read(env.secret_path()).unwrap(), old, "a new key file");
        assert_eq!((r.code, r.outcome()), (1, "invalid".to_string()), "{r:?}");

        // Every API key is refused (401), and listed as tampered.
        let server = Server::in_process(&env);
        let r = server.get(&format!("{}/otpd/v1/status", server.base), Some(&desk));
        assert_error(&r, 401, 20003);
        let (_, log) = server.stop();
        assert!(log.contains(&format!("refused API key {}", desk.sid)), "{log}");
        let list = env.run(&["keys", "list"]).ok().stdout.clone();
        assert!(list.contains("tampered"), "{list}");

        // The audit chain cannot be verified: its first row fails.
        let v = env.run(&["audit", "verify"]);
        assert_eq!(v.code, 1, "{v:?}");
        assert_eq!(
            v.stdout.trim_end(),
            "Audit log NOT intact: row 1 was changed: its contents no longer match its MAC. (0 rows before it verified.) The first row failing can also mean that the master secret (OTPD_SECRET or its key file) is not the one that wrote the log.",
            "{v:?}"
        );

        // The per-number counters start afresh. `otpd limits` still lists the UK number's old
        // lock (its row shows the masked number) beside the US number's new one (the old code
        // counted as a wrong code), but the old lock no longer holds, and the number's hourly
        // send cap counts from zero. The station's counter (keyed by its name) carries on: its
        // third send goes, its fourth is refused.
        let limits = env.run(&["limits"]).ok().stdout.clone();
        assert!(limits.starts_with("2 numbers are locked"), "{limits}");
        assert!(limits.contains("+44 •••• ••3456") && limits.contains("+1 •••-•••-2671"), "{limits}");
        let r = env.run(&["send", UK, "--json"]);
        assert_eq!((r.code, r.outcome()), (0, "sent".to_string()), "{r:?}");
        let r = env.run(&["send", US2, "--json"]);
        assert_eq!((r.code, r.outcome()), (1, "rate_limited".to_string()), "{r:?}");
        assert!(r.stdout.contains("station"), "{r:?}");
    }
}

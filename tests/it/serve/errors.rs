//! Each Verify error code otpd answers, provoked over HTTP, with Twilio's error object.

use super::{Server, assert_error, key};
use crate::harness::{Env, UK_E164, US_E164, on_both_stores};
on_both_stores! {
    fn credentials_service_and_paths_are_checked(store) {
        let env = Env::new_on(store);
        let k = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        let url = server.url("/Verifications");
        let form = [("To", US_E164), ("Channel", "sms")];
        let r = server.post(&url, None, &form);
        assert_error(&r, 401, 20003);
        let wrong = crate::serve::Key {
            sid: k.sid.clone(),
            secret: "0".repeat(64),
        };
        assert_error(&server.post(&url, Some(&wrong), &form), 401, 20003);
        let other = format!(
            "{}/v2/Services/VA{}/Verifications",
            server.base,
            "0".repeat(32)
        );
        assert_error(&server.post(&other, Some(&k), &form), 404, 20404);
        let unknown = server.url(&format!("/Verifications/VE{}", "a".repeat(32)));
        assert_error(&server.get(&unknown, Some(&k)), 404, 20404);
        assert_error(
            &server.get(&format!("{}/nowhere?To=x", server.base), None),
            404,
            20404,
        );

        assert_eq!(env.run(&["keys", "revoke", &k.sid]).ok().code, 0);
        assert_error(&server.create(&k, US_E164), 401, 20003);
        assert!(env.outbox().is_empty());
    }

    fn bad_parameters_are_60200_and_a_huge_body_is_413(store) {
        let env = Env::new_on(store);
        let k = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        let url = server.url("/Verifications");
        for form in [
            vec![("To", "+1 555 0100"), ("Channel", "sms")],
            vec![("To", US_E164), ("Channel", "email")],
            vec![("Channel", "sms")],
        ] {
            let r = server.post(&url, Some(&k), &form);
            assert_error(&r, 400, 60200);
        }
        let r = server.post(
            &server.url("/VerificationCheck"),
            Some(&k),
            &[("To", US_E164)],
        );
        assert_error(&r, 400, 60200);
        let big = "x".repeat(17 * 1024);
        let r = server.post(&url, Some(&k), &[("To", US_E164), ("Pad", &big)]);
        assert_eq!(r.status, 413, "{r:?}");
        assert!(r.body["code"].is_u64(), "{r:?}");
        assert!(env.outbox().is_empty());
    }

    fn limits_answer_60203_60202_and_60605(store) {
        let env =
            Env::with_config_on(store, "[policy]\nmax_attempts = 2\n[limits]\nallowed_countries = [\"US\"]\n");
        let k = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        assert_error(&server.create(&k, UK_E164), 403, 60605);

        assert_eq!(server.create(&k, US_E164).status, 201);
        // A second create inside the resend cooldown (the clock stands still).
        let r = server.create(&k, US_E164);
        assert_error(&r, 429, 60203);
        let wait: i64 = r
            .retry_after
            .as_deref()
            .expect("Retry-After")
            .parse()
            .unwrap();
        assert!(wait >= 1, "{r:?}");

        for _ in 0..2 {
            assert_eq!(server.check(&k, US_E164, "000000").status, 200);
        }
        assert_error(&server.check(&k, US_E164, "000000"), 429, 60202);
    }

    fn non_loopback_without_tls_is_refused_with_a_reason(store) {
        let env = Env::new_on(store);
        let r = env.run(&["serve", "--listen", "0.0.0.0:0"]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains("allow_plain_http"), "{r:?}");
        // The way to keep the address: the two settings that turn TLS on, by name.
        assert!(
            r.stderr.contains("server.tls_cert") && r.stderr.contains("server.tls_key"),
            "{r:?}"
        );
        assert_eq!(
            r.stderr.lines().filter(|l| !l.contains("warning")).count(),
            1,
            "{r:?}"
        );
        let r = env.run(&["serve", "--listen", "localhost"]);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(r.stderr.contains("IP:PORT"), "{r:?}");
    }

    fn a_conversion_guard_pause_is_60410(store) {
        let env = Env::with_config_on(store, "[limits]\nmin_sends_for_conversion = 2\nmin_conversion = 0.5\n");
        let k = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        for to in [US_E164, crate::harness::US2_E164] {
            assert_eq!(server.create(&k, to).status, 201);
        }
        // Nothing verified: 0 of 2 < 50%.
        assert_error(&server.create(&k, UK_E164), 403, 60410);
        assert_eq!(env.outbox().len(), 2);
    }
}

//! The whole Twilio Verify flow over HTTP, the race for one code, and a clean SIGTERM. The flow
//! and the race spawn the binary (smokes: its whole stderr is checked for secrets, and 64
//! clients race on real sockets); the resend and health tests run in-process.

use super::{Server, assert_error, assert_schema, key};
use crate::harness::{Env, US, US_E164, on_both_stores};
on_both_stores! {
    fn create_wrong_right_again_fetch_with_twilio_shapes_and_clean_logs(store) {
        let env = Env::new_on(store);
        let k = key(&env, "desk-1", "station");
        let server = Server::start(&env);

        let created = server.create(&k, US_E164);
        assert_eq!(created.status, 201, "{created:?}");
        assert_schema("verification", &created.body);
        let v = &created.body;
        assert_eq!(v["status"], "pending");
        assert_eq!(v["to"], US_E164);
        assert_eq!(v["service_sid"], server.service.as_str());
        assert_eq!(v["send_code_attempts"].as_array().unwrap().len(), 1);
        assert_eq!(v["date_created"], "2026-11-28T10:00:00Z");
        let sid = v["sid"].as_str().unwrap().to_string();
        assert!(
            v["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/Verifications/{sid}"))
        );

        let code = env.last_code(US_E164);
        let wrong = if code == "000000" { "111111" } else { "000000" };
        let r = server.check(&k, US_E164, wrong);
        assert_eq!(r.status, 200, "{r:?}");
        assert_schema("verification_check", &r.body);
        assert_eq!(
            (&r.body["status"], &r.body["valid"]),
            (&"pending".into(), &false.into())
        );

        let r = server.post(
            &server.url("/VerificationCheck"),
            Some(&k),
            &[("VerificationSid", &sid), ("Code", &code)],
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert_schema("verification_check", &r.body);
        assert_eq!(
            (&r.body["status"], &r.body["valid"]),
            (&"approved".into(), &true.into())
        );
        assert_eq!(r.body["sid"], sid.as_str());

        assert_error(&server.check(&k, US_E164, &code), 404, 20404);

        let f = server.get(&server.url(&format!("/Verifications/{sid}")), Some(&k));
        assert_eq!(f.status, 200, "{f:?}");
        assert_schema("verification", &f.body);
        assert_eq!(f.body["status"], "approved");

        let (status, log) = server.stop();
        assert_eq!(status, 0, "{log}");
        let lines: Vec<&str> = log.lines().filter(|l| l.contains(" ms id=")).collect();
        assert_eq!(lines.len(), 5, "{log}");
        assert!(
            lines[0].contains(" POST /v2/Services/{ServiceSid}/Verifications 201 "),
            "{log}"
        );
        for secret in [
            US_E164,
            "4155552671",
            "555 2671",
            &code,
            &k.secret,
            &k.sid,
            &sid,
        ] {
            assert!(!log.contains(secret), "the log shows {secret}: {log}");
        }
        // The same verification, seen from the command line.
        let audit = env.run(&["audit", "--json"]).ok().stdout.clone();
        assert!(audit.contains("approved"), "{audit}");
        let _ = US;
    }

    fn a_second_create_while_pending_is_a_resend_of_the_same_verification(store) {
        let env = Env::with_config_on(store, "[policy]\nresend_cooldown_seconds = 0\n");
        let k = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        let first = server.create(&k, US_E164);
        let second = server.create(&k, US_E164);
        assert_eq!(second.status, 201, "{second:?}");
        assert_eq!(first.body["sid"], second.body["sid"]);
        assert_eq!(
            second.body["send_code_attempts"].as_array().unwrap().len(),
            2
        );
        assert_eq!(env.outbox().len(), 2);
    }

    fn a_check_with_the_code_a_resend_replaced_is_approved_as_twilio_does(store) {
        // Two texts, arriving out of order: the person types the first code.
        let env = Env::with_config_on(store, "[policy]\nresend_cooldown_seconds = 0\n");
        let k = key(&env, "desk-1", "station");
        let server = Server::start(&env);
        assert_eq!(server.create(&k, US_E164).status, 201);
        let first = env.last_code(US_E164);
        assert_eq!(server.create(&k, US_E164).status, 201);
        if env.last_code(US_E164) == first {
            return;
        }
        let r = server.check(&k, US_E164, &first);
        assert_eq!((r.status, &r.body["status"]), (200, &"approved".into()), "{r:?}");
    }

    fn sixty_four_concurrent_checks_of_the_right_code_approve_exactly_once(store) {
        let env = Env::with_config_on(store, "[policy]\nmax_attempts = 100\n[server]\nqueue = 256\n");
        let k = key(&env, "desk-1", "station");
        let server = Server::start(&env);
        assert_eq!(server.create(&k, US_E164).status, 201);
        let code = env.last_code(US_E164);
        let statuses: Vec<(u16, serde_json::Value)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..64)
                .map(|_| s.spawn(|| server.check(&k, US_E164, &code)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    let r = h.join().unwrap();
                    (r.status, r.body)
                })
                .collect()
        });
        let approved = statuses
            .iter()
            .filter(|(s, b)| *s == 200 && b["status"] == "approved")
            .count();
        assert_eq!(approved, 1, "{statuses:?}");
        for (s, b) in &statuses {
            assert!(*s == 200 || (*s == 404 && b["code"] == 20404), "{s} {b}");
        }
    }

    fn health_and_metrics_answer_without_a_key(store) {
        let env = Env::new_on(store);
        let k = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        assert_eq!(
            server.get(&format!("{}/healthz", server.base), None).status,
            200
        );
        server.create(&k, US_E164);
        server.check(&k, US_E164, "000000");
        let m = server.get(&format!("{}/metrics", server.base), None);
        let text = m.body.as_str().unwrap().to_string();
        assert!(
            text.contains("otpd_sends_total{outcome=\"sent\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("otpd_checks_total{outcome=\"invalid\"} 1"),
            "{text}"
        );
        assert!(text.contains("otpd_check_hash_seconds_count 1"), "{text}");
        assert!(text.contains("otpd_queue_depth 0"), "{text}");
    }
}

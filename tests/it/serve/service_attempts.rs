//! The Verify Service resource and the Attempts resources through `otpd serve` (issue 26): the
//! settings otpd applies in Twilio's shape, the app name changed at run time by an admin (used by
//! the next message, stored, audited), and the attempts read from the audit log with Twilio's
//! filters, `conversion_status` and summary, for auditor and admin keys only — on both stores.

use super::{Server, assert_error, assert_schema, key};
use crate::harness::{Env, UK_E164, US_E164, US2_E164, on_both_stores};

const OPEN: &str = "[policy]\nmax_attempts = 100\nresend_cooldown_seconds = 0\n\
     [limits]\nper_number_per_hour = 1000\nper_prefix_per_hour = 1000\n\
     per_station_per_hour = 1000\nglobal_per_hour = 1000\nmin_conversion = 0\n\
     [message]\napp_name = \"Acme\"\n";

on_both_stores! {
    fn the_service_shows_what_otpd_applies_and_an_admin_renames_it(store) {
        let env = Env::with_config_on(store, OPEN);
        let admin = key(&env, "hq", "admin");
        let station = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        let url = server.url("");
        let got = server.get(&url, Some(&station));
        assert_eq!(got.status, 200, "{got:?}");
        assert_schema("verify.v2.service", &got.body);
        assert_eq!(got.body["sid"], server.service.as_str());
        assert_eq!(got.body["friendly_name"], "Acme");
        assert_eq!(got.body["code_length"], 6);
        assert_eq!(got.body["skip_sms_to_landlines"], true);
        assert_eq!(got.body["custom_code_enabled"], false);
        let listed = server.get(&format!("{}/v2/Services", server.base), Some(&station));
        assert_eq!(listed.body["services"][0]["sid"], server.service.as_str());
        assert_eq!(listed.body["meta"]["key"], "services");
        // Only an admin changes it; what otpd cannot change at run time is named and refused.
        assert_error(
            &server.post(&url, Some(&station), &[("FriendlyName", "Other")]),
            403,
            20403,
        );
        let r = server.post(&url, Some(&admin), &[("CodeLength", "4")]);
        assert_error(&r, 400, 60200);
        assert!(
            r.body["message"].as_str().unwrap().contains("CodeLength"),
            "{r:?}"
        );
        assert_error(
            &server.post(&url, Some(&admin), &[("FriendlyName", "bad\u{7}name")]),
            400,
            60200,
        );
        let renamed = server.post(&url, Some(&admin), &[("FriendlyName", "Acme Clinic")]);
        assert_eq!(renamed.status, 200, "{renamed:?}");
        assert_eq!(renamed.body["friendly_name"], "Acme Clinic");
        assert_schema("verify.v2.service", &renamed.body);
        // The next message carries the new name, from a server started afterwards too.
        drop(server);
        let server = Server::in_process(&env);
        assert_eq!(
            server.get(&url, Some(&station)).body["friendly_name"],
            "Acme Clinic"
        );
        assert_eq!(server.create(&station, US_E164).status, 201);
        let sent = env.outbox();
        let body = sent.last().unwrap()["body"].as_str().unwrap().to_string();
        assert!(body.contains("Acme Clinic"), "{body}");
        let audited = env.query_strings(
            "SELECT station || ' ' || detail FROM audit_events WHERE event = 'service_changed'",
        );
        assert_eq!(
            audited,
            vec!["hq service friendly_name set to \"Acme Clinic\"".to_string()]
        );
    }
}

on_both_stores! {
    fn attempts_come_from_the_audit_log_with_twilios_filters_and_conversion(store) {
        let mut env = Env::with_config_on(store, OPEN);
        let station = key(&env, "desk-1", "station");
        let auditor = key(&env, "audit", "auditor");
        let admin = key(&env, "hq", "admin");
        let first = {
            let server = Server::in_process(&env);
            // US: sent, resent, then the right code: two attempts, the second converted.
            let created = server.create(&station, US_E164);
            assert_eq!(server.create(&station, US_E164).status, 201);
            let code = env.last_code(US_E164);
            assert_eq!(
                server.check(&station, US_E164, &code).body["status"],
                "approved"
            );
            // US2: sent, never checked. UK: sent by call.
            assert_eq!(server.create(&station, US2_E164).status, 201);
            created.body["sid"].as_str().unwrap().to_string()
        };
        env.advance(3600);
        let server = Server::in_process(&env);
        let r = server.post(
            &server.url("/Verifications"),
            Some(&station),
            &[("To", UK_E164), ("Channel", "call")],
        );
        assert_eq!(r.status, 201, "{r:?}");

        let attempts = format!("{}/v2/Attempts", server.base);
        assert_error(&server.get(&attempts, Some(&station)), 403, 20403);
        let all = server.get(&attempts, Some(&auditor));
        assert_eq!(all.status, 200, "{all:?}");
        let list = all.body["attempts"].as_array().unwrap();
        assert_eq!(list.len(), 4, "{all:?}");
        for a in list {
            assert_schema("verify.v2.verification_attempt", a);
            assert!(
                !a.to_string().contains("4155552671"),
                "numbers stay masked: {a}"
            );
        }
        assert_eq!(all.body["meta"]["key"], "attempts");
        // Newest first; the US verification's second attempt converted, its first did not.
        assert_eq!(list[0]["channel"], "call");
        let us: Vec<&serde_json::Value> = list
            .iter()
            .filter(|a| a["verification_sid"] == first.as_str())
            .collect();
        assert_eq!(us.len(), 2, "{list:?}");
        assert_eq!(us[0]["conversion_status"], "converted");
        assert_eq!(us[1]["conversion_status"], "unconverted");
        // The attempt SIDs are the ones the Verification resource lists.
        let v = server.get(
            &server.url(&format!("/Verifications/{first}")),
            Some(&station),
        );
        let listed: Vec<&str> = v.body["send_code_attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["attempt_sid"].as_str().unwrap())
            .collect();
        assert!(
            listed.contains(&us[0]["sid"].as_str().unwrap()),
            "{listed:?} {us:?}"
        );

        let count = |query: &str| {
            let r = server.get(&format!("{attempts}?{query}"), Some(&admin));
            assert_eq!(r.status, 200, "{query}: {r:?}");
            r.body["attempts"].as_array().unwrap().len()
        };
        assert_eq!(count("Status=converted"), 1);
        assert_eq!(count("Status=unconverted"), 3);
        assert_eq!(count("Channel=call"), 1);
        assert_eq!(count("Channel=email"), 0);
        // +44 7911 is a Guernsey range in the numbering plan.
        assert_eq!(count("Country=GG"), 1, "{list:?}");
        assert_eq!(count("Country=US"), 3);
        assert_eq!(count("ChannelData.To=%2B14155552671"), 2);
        assert_eq!(count(&format!("VerificationSid={first}")), 2);
        assert_eq!(count("DateCreatedAfter=2026-11-28T10:30:00Z"), 1);
        assert_eq!(count("DateCreatedBefore=2026-11-28T10:30:00Z"), 3);
        assert_eq!(
            count("VerifyServiceSid=VA00000000000000000000000000000000"),
            0
        );
        assert_eq!(count(&format!("VerifyServiceSid={}", server.service)), 4);
        let paged = server.get(
            &format!("{attempts}?Status=unconverted&PageSize=2"),
            Some(&admin),
        );
        assert_eq!(paged.body["attempts"].as_array().unwrap().len(), 2);
        let next = paged.body["meta"]["next_page_url"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(next.contains("Status=unconverted"), "{next}");
        let rest = server.get(&next, Some(&admin));
        assert_eq!(
            rest.body["attempts"].as_array().unwrap().len(),
            1,
            "{rest:?}"
        );
        assert!(rest.body["meta"]["next_page_url"].is_null());
        assert_error(
            &server.get(
                &format!("{attempts}?DateCreatedAfter=yesterday"),
                Some(&admin),
            ),
            400,
            60200,
        );

        let one = list[0]["sid"].as_str().unwrap();
        let fetched = server.get(&format!("{attempts}/{one}"), Some(&auditor));
        assert_eq!(
            (fetched.status, &fetched.body["sid"]),
            (200, &one.into()),
            "{fetched:?}"
        );
        assert_error(
            &server.get(
                &format!("{attempts}/VL00000000000000000000000000000000"),
                Some(&auditor),
            ),
            404,
            20404,
        );

        let summary = server.get(&format!("{attempts}/Summary"), Some(&auditor));
        assert_eq!(summary.status, 200, "{summary:?}");
        assert_schema("verify.v2.verification_attempts_summary", &summary.body);
        assert_eq!(summary.body["total_attempts"], 4);
        assert_eq!(summary.body["total_converted"], 1);
        assert_eq!(summary.body["total_unconverted"], 3);
        assert_eq!(summary.body["conversion_rate_percentage"], "25");
        let us_only = server.get(&format!("{attempts}/Summary?Country=US"), Some(&auditor));
        assert_eq!(us_only.body["conversion_rate_percentage"], "33.333333333");
        assert_error(
            &server.get(
                &format!("{attempts}/Summary?DestinationPrefix=%2B1"),
                Some(&auditor),
            ),
            400,
            60200,
        );
        assert_error(
            &server.get(&format!("{attempts}/Summary"), Some(&station)),
            403,
            20403,
        );
    }
}

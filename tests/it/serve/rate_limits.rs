//! Twilio Verify's programmable rate limits through `otpd serve` (issue 26): the RateLimits and
//! Buckets resources (admin keys only, in Twilio's shapes), and a create's `RateLimits` counted
//! against their buckets — refused with 60203 over a bucket, nothing sent, the refusal audited
//! without the value counted under; exactly `Max` sends when many creates race, on both stores
//! and across two servers.

use super::{Key, Reply, Server, assert_error, assert_schema, key};
use crate::harness::{Env, Store, UK_E164, US_E164, US2_E164, on_both_stores};

/// No limit of otpd's own gets in the way: only the buckets refuse.
const OPEN: &str = "[policy]\nmax_attempts = 100\nresend_cooldown_seconds = 0\n\
     [limits]\nper_number_per_hour = 1000000\nper_number_per_day = 1000000\n\
     per_prefix_per_hour = 1000000\nper_station_per_hour = 1000000\nglobal_per_hour = 1000000\n\
     min_conversion = 0\n[server]\nqueue = 256\n";

const IP: &str = "203.0.113.7";

fn create_keyed(server: &Server, k: &Key, to: &str, rate_limits: &str) -> Reply {
    server.post(
        &server.url("/Verifications"),
        Some(k),
        &[("To", to), ("Channel", "sms"), ("RateLimits", rate_limits)],
    )
}

/// A rate limit named `name` with one bucket of `max` per `interval` seconds; its SID.
fn rate_limit(server: &Server, admin: &Key, name: &str, max: &str, interval: &str) -> String {
    let r = server.post(
        &server.url("/RateLimits"),
        Some(admin),
        &[("UniqueName", name), ("Description", "sign-up form")],
    );
    assert_eq!(r.status, 201, "{r:?}");
    let sid = r.body["sid"].as_str().unwrap().to_string();
    let b = server.post(
        &server.url(&format!("/RateLimits/{sid}/Buckets")),
        Some(admin),
        &[("Max", max), ("Interval", interval)],
    );
    assert_eq!(b.status, 201, "{b:?}");
    sid
}

on_both_stores! {
    fn rate_limits_and_buckets_are_managed_by_admins_in_twilios_shapes(store) {
        let env = Env::with_config_on(store, OPEN);
        let admin = key(&env, "hq", "admin");
        let station = key(&env, "desk-1", "station");
        let auditor = key(&env, "audit", "auditor");
        let server = Server::in_process(&env);
        let list = server.url("/RateLimits");
        for k in [&station, &auditor] {
            assert_error(&server.get(&list, Some(k)), 403, 20403);
            assert_error(
                &server.post(&list, Some(k), &[("UniqueName", "ip")]),
                403,
                20403,
            );
        }
        let created = server.post(
            &list,
            Some(&admin),
            &[
                ("UniqueName", "end_user_ip_address"),
                ("Description", "web"),
            ],
        );
        assert_eq!(created.status, 201, "{created:?}");
        assert_schema("verify.v2.service.rate_limit", &created.body);
        let sid = created.body["sid"].as_str().unwrap().to_string();
        assert!(sid.starts_with("RK") && sid.len() == 34, "{sid}");
        assert_eq!(created.body["unique_name"], "end_user_ip_address");
        // Twilio's own refusals: the name taken (60208), a name of the wrong form (60209).
        assert_error(
            &server.post(
                &list,
                Some(&admin),
                &[("UniqueName", "end_user_ip_address")],
            ),
            400,
            60208,
        );
        assert_error(
            &server.post(&list, Some(&admin), &[("UniqueName", "has spaces")]),
            400,
            60209,
        );
        assert_error(&server.post(&list, Some(&admin), &[]), 400, 60200);

        let one = server.url(&format!("/RateLimits/{sid}"));
        let updated = server.post(&one, Some(&admin), &[("Description", "kiosk")]);
        assert_eq!(
            (updated.status, &updated.body["description"]),
            (200, &"kiosk".into()),
            "{updated:?}"
        );
        let listed = server.get(&list, Some(&admin));
        assert_eq!(listed.status, 200, "{listed:?}");
        assert_eq!(listed.body["rate_limits"][0]["sid"], sid.as_str());
        assert_eq!(listed.body["meta"]["key"], "rate_limits");
        assert!(listed.body["meta"]["next_page_url"].is_null());

        let buckets = server.url(&format!("/RateLimits/{sid}/Buckets"));
        let b = server.post(&buckets, Some(&admin), &[("Max", "3"), ("Interval", "60")]);
        assert_eq!(b.status, 201, "{b:?}");
        assert_schema("verify.v2.service.rate_limit.bucket", &b.body);
        assert_eq!(
            (b.body["max"].as_u64(), b.body["interval"].as_u64()),
            (Some(3), Some(60))
        );
        let bsid = b.body["sid"].as_str().unwrap().to_string();
        // One bucket per interval (60211); Max and Interval are checked (60200).
        assert_error(
            &server.post(&buckets, Some(&admin), &[("Max", "9"), ("Interval", "60")]),
            400,
            60211,
        );
        for bad in [("0", "60"), ("3", "0"), ("x", "60")] {
            let r = server.post(
                &buckets,
                Some(&admin),
                &[("Max", bad.0), ("Interval", bad.1)],
            );
            assert_error(&r, 400, 60200);
            assert!(!r.body["message"].as_str().unwrap().contains('\n'), "{r:?}");
        }
        let bucket = server.url(&format!("/RateLimits/{sid}/Buckets/{bsid}"));
        let changed = server.post(&bucket, Some(&admin), &[("Max", "5")]);
        assert_eq!(
            (changed.status, changed.body["max"].as_u64()),
            (200, Some(5)),
            "{changed:?}"
        );
        assert_eq!(server.get(&bucket, Some(&admin)).body["interval"], 60);
        assert_eq!(
            server.get(&buckets, Some(&admin)).body["buckets"][0]["sid"],
            bsid.as_str()
        );
        assert_error(&server.delete(&bucket, Some(&station)), 403, 20403);
        assert_eq!(server.delete(&bucket, Some(&admin)).status, 204);
        assert_error(&server.get(&bucket, Some(&admin)), 404, 20404);
        assert_eq!(server.delete(&one, Some(&admin)).status, 204);
        assert_error(&server.get(&one, Some(&admin)), 404, 20404);
        // Every change is in the audit chain, naming the key's station, never a secret.
        let changes = env.query_strings(
            "SELECT station || ' ' || detail FROM audit_events WHERE event = 'service_changed' ORDER BY id",
        );
        assert_eq!(changes.len(), 6, "{changes:?}");
        assert!(changes.iter().all(|c| c.starts_with("hq ")), "{changes:?}");
        assert_eq!(env.query_i64("SELECT count(*) FROM rate_limit_buckets"), 0);
    }
}

on_both_stores! {
    fn a_create_over_a_bucket_is_refused_with_60203_not_sent_and_audited(store) {
        let env = Env::with_config_on(store, OPEN);
        let admin = key(&env, "hq", "admin");
        let k = key(&env, "desk-1", "station");
        let server = Server::in_process(&env);
        rate_limit(&server, &admin, "end_user_ip_address", "2", "60");
        let ip = format!(r#"{{"end_user_ip_address": "{IP}"}}"#);
        assert_eq!(create_keyed(&server, &k, US_E164, &ip).status, 201);
        assert_eq!(create_keyed(&server, &k, US2_E164, &ip).status, 201);
        let over = create_keyed(&server, &k, UK_E164, &ip);
        assert_error(&over, 429, 60203);
        assert_eq!(over.retry_after.as_deref(), Some("60"), "{over:?}");
        assert_eq!(env.outbox().len(), 2, "nothing sent for the refused create");
        assert_eq!(
            env.query_i64("SELECT count(*) FROM challenges"),
            2,
            "no verification started"
        );
        let refused = env
            .query_strings("SELECT detail FROM audit_events WHERE event = 'rate_limited' ORDER BY id");
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(
            refused[0].contains("end_user_ip_address") && refused[0].contains("2 per 60 s"),
            "{refused:?}"
        );
        assert!(
            !env.query_strings("SELECT detail FROM audit_events")
                .iter()
                .any(|d| d.contains(IP)),
            "the value counted under is never stored"
        );
        // Another value has a bucket of its own; a create naming no rate limit is not counted.
        let other = r#"{"end_user_ip_address": "198.51.100.9"}"#;
        assert_eq!(create_keyed(&server, &k, UK_E164, other).status, 201);
        assert_eq!(server.create(&k, UK_E164).status, 201);
        // A name no rate limit has is refused (60200) before anything is counted or sent.
        let unknown = create_keyed(&server, &k, US_E164, r#"{"session_id": "abc"}"#);
        assert_error(&unknown, 400, 60200);
        assert!(
            unknown.body["message"]
                .as_str()
                .unwrap()
                .contains("session_id"),
            "{unknown:?}"
        );
        for bad in ["[1]", "{\"end_user_ip_address\": {}}", "not json"] {
            assert_error(&create_keyed(&server, &k, US_E164, bad), 400, 60200);
        }
        assert_eq!(env.outbox().len(), 4);
        // Neither is the value in the server's log.
        let (_, log) = server.stop();
        assert!(!log.contains(IP) && !log.contains("198.51.100.9"), "{log}");
    }
}

on_both_stores! {
    fn the_bucket_frees_up_as_its_window_moves_on(store) {
        let mut env = Env::with_config_on(store, OPEN);
        let admin = key(&env, "hq", "admin");
        let k = key(&env, "desk-1", "station");
        let ip = format!(r#"{{"end_user_ip_address": "{IP}"}}"#);
        {
            let server = Server::in_process(&env);
            rate_limit(&server, &admin, "end_user_ip_address", "1", "60");
            assert_eq!(create_keyed(&server, &k, US_E164, &ip).status, 201);
            assert_error(&create_keyed(&server, &k, US2_E164, &ip), 429, 60203);
        }
        // The counts are the database's: a restarted server still refuses, until the window ends.
        env.advance(59);
        let server = Server::in_process(&env);
        let r = create_keyed(&server, &k, US2_E164, &ip);
        assert_error(&r, 429, 60203);
        assert_eq!(r.retry_after.as_deref(), Some("1"), "{r:?}");
        drop(server);
        env.advance(1);
        let server = Server::in_process(&env);
        assert_eq!(create_keyed(&server, &k, US2_E164, &ip).status, 201);
    }
}

/// N creates race against a bucket of Max M, split across two servers on one database: exactly
/// M are sent.
fn racing_creates_send_exactly_max(store: Store) {
    const N: usize = 24;
    const M: usize = 5;
    let env = Env::with_config_on(store, OPEN);
    let admin = key(&env, "hq", "admin");
    let k = key(&env, "desk-1", "station");
    let a = Server::start(&env);
    let b = Server::start(&env);
    rate_limit(&a, &admin, "end_user_ip_address", &M.to_string(), "3600");
    let ip = format!(r#"{{"end_user_ip_address": "{IP}"}}"#);
    let phones = [US_E164, US2_E164, UK_E164];
    let answers: Vec<Reply> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..N)
            .map(|i| {
                let server = [&a, &b][i % 2];
                let (k, ip) = (&k, &ip);
                s.spawn(move || create_keyed(server, k, phones[i % 3], ip))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let sent = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(sent, M, "{answers:?}");
    for r in answers.iter().filter(|r| r.status != 201) {
        assert_error(r, 429, 60203);
    }
    assert_eq!(env.outbox().len(), M, "exactly Max messages left");
    assert_eq!(
        env.query_i64("SELECT count(*) FROM rate_limit_hits"),
        M as i64
    );
    assert_eq!(
        env.query_i64("SELECT count(*) FROM audit_events WHERE event = 'rate_limited'"),
        (N - M) as i64
    );
    // `otpd limits` shows the bucket and what it counted, in words and in JSON.
    let shown = env.run(&["limits", "--json"]);
    let j = shown.ok().json();
    let b = &j["rate_limits"][0]["buckets"][0];
    assert_eq!(
        j["rate_limits"][0]["unique_name"], "end_user_ip_address",
        "{j}"
    );
    assert_eq!(
        (
            b["max"].as_u64(),
            b["creates"].as_u64(),
            b["values"].as_u64(),
            b["busiest"].as_u64()
        ),
        (Some(M as u64), Some(M as u64), Some(1), Some(M as u64)),
        "{j}"
    );
    let text = env.run(&["limits"]);
    assert!(
        text.ok().stdout.contains(&format!(
            "Rate limit end_user_ip_address: {M} per 1 h; {M} creates from 1 values in that window, at most {M} from one; at least one value is refused now."
        )),
        "{text:?}"
    );
}

#[test]
fn racing_creates_send_exactly_max_on_sqlite() {
    racing_creates_send_exactly_max(Store::Sqlite);
}

#[test]
fn racing_creates_send_exactly_max_on_postgres() {
    if !Store::postgres_available() {
        return;
    }
    racing_creates_send_exactly_max(Store::Postgres);
}

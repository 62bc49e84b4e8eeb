//! Verify Events and Twilio's status callbacks through the spawned `otpd serve`, on both
//! stores. A local sink (the fake HTTP server of tests/support, on 127.0.0.1) receives the
//! events: signed with the sink's secret, in Twilio's event types; an event the sink refused is
//! retried after its back-off — by the next server after a restart, the clock moved forward
//! between the two (the outbox is in the database) — with the same id; an expiry is reported by
//! the sweep on the injected clock. A status callback signed as Twilio signs it updates the
//! verification at once; a forged or unsigned one is 403 and counted.

use std::os::unix::fs::PermissionsExt;

use hmac::{KeyInit, Mac};
use serde_json::Value;

use super::{Server, key};
use crate::fake_twilio::{FakeTwilio, Recorded, Reply};
use crate::harness::*;

const SINK_SECRET: &str = "sink-secret-SENTINEL-5f1e";
const AC: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "tok-SENTINEL-2f9c81d0";
const CALLBACK: &str = "https://otpd.example.com/otpd/v1/twilio/status";

/// An installation pushing every event to `sink`, retrying after 5 s.
fn env_with_sink(store: Store, sink: &FakeTwilio, extra: &str) -> Env {
    let env = Env::with_config_on(
        store,
        &format!(
            "{extra}[events]\nretry_base_seconds = 5\nmax_attempts = 3\n\n[[events.sink]]\nurl = \"{}/hook\"\nsecret_file = \"sink.secret\"\n",
            sink.base_url()
        ),
    );
    let file = env.path("sink.secret");
    std::fs::write(&file, format!("{SINK_SECRET}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    env
}

/// The events the sink received (each request's one CloudEvent), with its signature checked.
fn received(sink: &FakeTwilio) -> Vec<Value> {
    sink.requests()
        .iter()
        .map(|r| {
            assert_eq!(r.method, "POST");
            assert_eq!(r.path, "/hook");
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_signed(r);
            let v: Value = serde_json::from_str(&r.body).unwrap();
            let events = v.as_array().expect("a JSON array of CloudEvents");
            assert_eq!(events.len(), 1, "{v}");
            events[0].clone()
        })
        .collect()
}

/// The request carries `X-Otpd-Signature: sha256=HEX`, HMAC-SHA256 of its body under the
/// sink's secret — checked here as a receiver would, with the hmac crate.
fn assert_signed(r: &Recorded) {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SINK_SECRET.as_bytes()).unwrap();
    mac.update(r.body.as_bytes());
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(r.header("x-otpd-signature"), Some(expected.as_str()));
    assert!(!r.body.contains(SINK_SECRET));
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

const PENDING: &str = "com.twilio.accountsecurity.verify.verification.pending";
const APPROVED: &str = "com.twilio.accountsecurity.verify.verification.approved";
const EXPIRED: &str = "com.twilio.accountsecurity.verify.verification.expired";
const SENT: &str = "com.twilio.accountsecurity.verify.attempt-dlr.sent";

on_both_stores! {
    fn events_reach_a_signed_sink_are_retried_after_a_restart_and_expiries_are_swept(store) {
        let sink = FakeTwilio::start();
        // The first delivery (the pending event, queued first) is refused: it stays queued
        // for its back-off.
        sink.reply(Reply::json(500, serde_json::json!({"error": "down"})));
        sink.always(Reply::json(200, serde_json::json!({})));
        let mut env = env_with_sink(store, &sink, "");
        let k = key(&env, "desk-1", "station");
        let server = Server::start(&env);
        let created = server.create(&k, US_E164);
        assert_eq!(created.status, 201, "{created:?}");
        let sid = created.body["sid"].as_str().unwrap().to_string();
        // The pending event (refused), then the delivery status (accepted).
        eventually("two attempts", || sink.requests().len() >= 2);
        let first = received(&sink);
        assert_eq!(types(&first), [PENDING, SENT]);
        assert_eq!(first[1]["data"]["delivery_status"], "SENT");
        // The same clock: the back-off has not passed, nothing more is sent. The sink saw the
        // second request before otpd recorded its answer: wait for that record, not a time.
        eventually("the accepted event recorded as delivered", || {
            let status = env.run(&["events", "status", "--json"]);
            status.json()["sinks"][0]["pending"] == 1
        });
        assert_eq!(sink.requests().len(), 2, "nothing more was sent");
        let (code, log) = server.stop();
        assert_eq!(code, 0, "{log}");
        assert!(log.contains("Verify Events to http://127.0.0.1:"), "{log}");
        assert!(!log.contains(SINK_SECRET));
        assert_eq!(sink.requests().len(), 2);

        // A later server, past the back-off: the queued event goes out, then the approval.
        env.advance(10);
        let server = Server::start(&env);
        eventually("the retry", || sink.requests().len() >= 3);
        let events = received(&sink);
        assert_eq!(events[2], first[0], "a retry sends the same event, with the same id");
        let code = env.last_code(US_E164);
        assert_eq!(server.check(&k, US_E164, &code).body["status"], "approved");
        eventually("the approval", || sink.requests().len() >= 4);
        let events = received(&sink);
        assert_eq!(types(&events)[3], APPROVED);
        for e in &events {
            assert_eq!(e["specversion"], "1.0");
            assert_eq!(e["data"]["verification_sid"], sid.as_str());
            assert_eq!(e["data"]["service_sid"], server.service.as_str());
            assert_eq!(e["data"]["to"], US_E164);
            assert_eq!(e["data"]["channel"], "SMS");
        }
        assert_eq!(events[3]["data"]["verification_status"], "APPROVED");
        assert_ne!(events[2]["id"], events[3]["id"]);
        // Counted once the sink's answer is recorded, just after the sink saw the request.
        eventually("the delivered count", || {
            server.metric("otpd_events_delivered_total") == 2.0
        });
        // A second verification, left unchecked.
        assert_eq!(server.create(&k, US2_E164).status, 201);
        eventually("its pending and sent events", || sink.requests().len() >= 6);
        server.stop();

        // Past its lifetime: the sweep reports it expired, by time alone.
        env.advance(3600);
        let server = Server::start(&env);
        eventually("the expiry", || sink.requests().len() >= 7);
        let events = received(&sink);
        assert_eq!(types(&events)[6], EXPIRED);
        assert_eq!(events[6]["data"]["to"], US2_E164);
        assert_eq!(events[6]["data"]["verification_status"], "EXPIRED");
        let status = env.run(&["events", "status"]);
        assert!(status.stdout.contains("0 pending"), "{status:?}");
        assert_eq!(status.code, 0);
        server.stop();
        assert_eq!(
            types(&received(&sink)),
            [PENDING, SENT, PENDING, APPROVED, PENDING, SENT, EXPIRED],
            "each event once, but the refused one"
        );
    }

    fn a_sink_that_keeps_failing_parks_its_event_and_status_says_so(store) {
        let sink = FakeTwilio::start();
        sink.always(Reply::json(503, serde_json::json!({})));
        let mut env = env_with_sink(store, &sink, "");
        // Only the pending events, for this sink.
        let text = std::fs::read_to_string(env.config_path()).unwrap();
        env.write_config(&format!("{text}types = [\"pending\"]\n"));
        let k = key(&env, "desk-1", "station");
        // max_attempts = 3: attempts at t, t+5 s, t+15 s, one server per step of the clock.
        for _ in 0..3 {
            let server = Server::start(&env);
            if sink.requests().is_empty() {
                assert_eq!(server.create(&k, US_E164).status, 201);
            }
            let before = sink.requests().len();
            eventually("an attempt", || sink.requests().len() > before);
            server.stop();
            env.advance(20);
        }
        let status = env.run(&["events", "status", "--json"]);
        let s = &status.json()["sinks"][0];
        assert_eq!((s["pending"].as_u64(), s["failed"].as_u64()), (Some(0), Some(1)), "{s}");
        assert_eq!(s["last_error"], "the sink answered HTTP 503");
        assert_eq!(status.code, 1);
        assert_eq!(types(&received(&sink)), [PENDING, PENDING, PENDING]);
        let text = env.run(&["events", "status"]);
        assert!(text.stdout.contains("1 failed"), "{text:?}");
        assert!(!text.stdout.contains(SINK_SECRET));
    }

    fn a_status_callback_signed_by_twilio_updates_the_status_and_a_forged_one_is_403(store) {
        let twilio = FakeTwilio::start();
        twilio.always(crate::fake_twilio::created("SM0123456789abcdef0123456789abcdef", "queued", US_E164));
        let mut env = Env::with_config_on(
            store,
            &format!(
                "[twilio]\naccount_sid = \"{AC}\"\nfrom = \"+14155550100\"\napi_base = \"{}\"\nstatus_callback_url = \"{CALLBACK}\"\n",
                twilio.base_url()
            ),
        );
        env.set_env("OTPD_DELIVERY", "twilio");
        env.set_env("TWILIO_AUTH_TOKEN", TOKEN);
        let k = key(&env, "desk-1", "station");
        let server = Server::start(&env);
        assert_eq!(server.create(&k, US_E164).status, 201);
        let sent = &twilio.requests()[0];
        assert_eq!(sent.field("StatusCallback").as_deref(), Some(CALLBACK));

        let form = [
            ("AccountSid", AC),
            ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("To", US_E164),
            ("ApiVersion", "2010-04-01"),
        ];
        let post = |sig: Option<&str>| {
            let http = reqwest::blocking::Client::new();
            let mut rb = http
                .post(format!("{}/otpd/v1/twilio/status", server.base))
                .form(&form);
            if let Some(s) = sig {
                rb = rb.header("X-Twilio-Signature", s);
            }
            rb.send().unwrap().status().as_u16()
        };
        let params: Vec<(String, String)> =
            form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let good = twilio_signature(TOKEN, CALLBACK, &params);
        let forged = twilio_signature("not-the-token", CALLBACK, &params);
        assert_eq!(post(Some(&forged)), 403);
        assert_eq!(post(None), 403);
        let stored = || env.query_strings("SELECT delivery_status FROM challenges");
        assert_eq!(stored(), ["queued"], "a forged callback changes nothing");
        assert_eq!(post(Some(&good)), 200);
        assert_eq!(stored(), ["undelivered"]);
        // The status shows it without asking Twilio (which would say something else).
        twilio.always(Reply::json(200, serde_json::json!({"status": "delivered"})));
        let asked = twilio.requests().len();
        let status = env.run(&["--json", "status"]);
        assert_eq!(status.json()["pending"][0]["delivery_status"], "undelivered", "{status:?}");
        assert_eq!(twilio.requests().len(), asked, "no poll for a final status");
        let metrics = server
            .get(&format!("{}/metrics", server.base), None)
            .body
            .as_str()
            .unwrap()
            .to_string();
        assert!(metrics.contains("otpd_twilio_callbacks_total{result=\"forbidden\"} 2"), "{metrics}");
        assert!(metrics.contains("otpd_twilio_callbacks_total{result=\"accepted\"} 1"), "{metrics}");
        let (_, log) = server.stop();
        assert!(!log.contains(TOKEN));
        assert!(log.contains(&format!("status callbacks expected at {CALLBACK}")), "{log}");
        let audit = env.audit_events();
        assert!(audit.iter().any(|e| e.contains("delivery_failed")), "{audit:?}");
    }
}

/// Twilio's signature, computed here from its documented rule (HMAC-SHA1 under the auth token
/// of the URL then each parameter's name and value, sorted; base64), not with otpd's code.
fn twilio_signature(token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine;
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut data = url.to_string();
    for (k, v) in sorted {
        data.push_str(&k);
        data.push_str(&v);
    }
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Two servers on one PostgreSQL database, both delivering: each event reaches the sink once
/// (the lease is taken with FOR UPDATE SKIP LOCKED, so no two servers send one row), none is
/// lost.
#[test]
fn two_servers_on_one_database_deliver_each_event_once() {
    if !Store::postgres_available() {
        return;
    }
    let sink = FakeTwilio::start();
    sink.always(Reply::json(200, serde_json::json!({})));
    let env = env_with_sink(
        Store::Postgres,
        &sink,
        "[policy]\nresend_cooldown_seconds = 0\n[limits]\nper_number_per_hour = 1000\nper_number_per_day = 1000\nper_prefix_per_hour = 1000\nper_station_per_hour = 1000\nglobal_per_hour = 1000\n",
    );
    let k = key(&env, "desk-1", "station");
    let a = Server::start(&env);
    let b = Server::start(&env);
    const SENDS: usize = 12;
    std::thread::scope(|s| {
        for i in 0..SENDS {
            let (server, k) = ([&a, &b][i % 2], &k);
            s.spawn(move || {
                let phone = [US_E164, US2_E164, UK_E164][i % 3];
                assert_eq!(server.create(k, phone).status, 201);
            });
        }
    });
    // Each create: a pending event and a delivery status.
    eventually("every event", || sink.requests().len() >= 2 * SENDS);
    a.stop();
    b.stop();
    let events = received(&sink);
    let mut ids: Vec<String> = events.iter().map(|e| e["id"].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        2 * SENDS,
        "each event once: {:?}",
        types(&events)
    );
    assert_eq!(events.len(), 2 * SENDS);
}

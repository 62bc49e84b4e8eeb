//! Service tests of Verify Events: which facts queue which events (in the fact's own
//! transaction), the expiry sweep on an injected clock, a full queue dropping and counting, and
//! a provider's delivery report updating the verification (out-of-order reports included).

use chrono::TimeDelta;

use super::{Fixture, codes, t0, us};
use crate::clock::FixedClock;
use crate::config::events::{EventsConfig, Sink};
use crate::domain::Limits;
use crate::service::Reported;

const URL: &str = "https://hooks.example/otpd";

fn with_sink(max_pending: u64) -> Fixture {
    let mut f = Fixture::new(Limits::default());
    f.events = EventsConfig {
        sinks: vec![Sink {
            url: URL.into(),
            secret: "s".into(),
            secret_file: "sink.secret".into(),
            types: None,
        }],
        max_pending,
        ..EventsConfig::default()
    };
    f
}

/// The queued events' types, without Twilio's prefixes, oldest first.
fn queued(f: &Fixture) -> Vec<String> {
    let c = f.store.connection();
    let mut stmt = c
        .prepare("SELECT event_type FROM event_outbox ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|t| {
            let t = t.unwrap();
            t.rsplit('.').next().unwrap().to_string()
        })
        .collect()
}

#[test]
fn no_sink_no_event() {
    let mut f = Fixture::new(Limits::default());
    codes(&mut f);
    assert_eq!(f.rows("event_outbox"), 0);
    assert_eq!(f.run(|s| s.sweep_expired(t0())).unwrap(), 0);
}

#[test]
fn each_lifecycle_fact_queues_its_event_in_its_own_transaction() {
    let mut f = with_sink(100);
    let (right, wrong) = codes(&mut f);
    assert_eq!(queued(&f), ["pending", "sent"]);
    let clock = FixedClock(t0());
    // Wrong codes: only the one that spends the last attempt is an event.
    let max = f.policy.max_attempts;
    for _ in 0..max {
        f.run(|s| s.verify(&clock, Some(&us()), &wrong)).unwrap();
    }
    assert_eq!(queued(&f)[2..], ["max_attempts_reached"]);
    // The spent verification cancelled; a new one approved.
    f.run(|s| s.cancel(t0(), Some(&us()))).unwrap();
    let (right2, _) = codes(&mut f);
    assert_ne!(right.expose_digits(), "");
    f.run(|s| s.verify(&clock, Some(&us()), &right2)).unwrap();
    let types = queued(&f);
    assert_eq!(
        types[3..],
        ["canceled", "pending", "sent", "approved"],
        "{types:?}"
    );
    let data: String = f
        .store
        .connection()
        .query_row(
            "SELECT data FROM event_outbox WHERE event_type LIKE '%approved'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v["verification_status"], "APPROVED");
    assert_eq!(v["to"], "+14155552671");
    assert_eq!(v["country"], "US");
    assert!(!data.contains(right2.expose_digits()), "never the code");
}

#[test]
fn the_sweep_reports_each_expiry_once_on_the_injected_clock() {
    let mut f = with_sink(100);
    // The first sweep only marks where it starts.
    assert_eq!(f.run(|s| s.sweep_expired(t0())).unwrap(), 0);
    codes(&mut f);
    let ttl = f.policy.ttl;
    let before = t0() + ttl - TimeDelta::seconds(1);
    assert_eq!(f.run(|s| s.sweep_expired(before)).unwrap(), 0);
    let after = t0() + ttl + TimeDelta::seconds(1);
    assert_eq!(f.run(|s| s.sweep_expired(after)).unwrap(), 1);
    assert_eq!(f.run(|s| s.sweep_expired(after)).unwrap(), 0);
    assert_eq!(
        f.run(|s| s.sweep_expired(after + ttl)).unwrap(),
        0,
        "reported once"
    );
    assert_eq!(queued(&f).last().unwrap(), "expired");
}

#[test]
fn an_approved_verification_never_expires_as_an_event() {
    let mut f = with_sink(100);
    f.run(|s| s.sweep_expired(t0())).unwrap();
    let (right, _) = codes(&mut f);
    f.run(|s| s.verify(&FixedClock(t0()), Some(&us()), &right))
        .unwrap();
    let later = t0() + f.policy.ttl * 2;
    assert_eq!(f.run(|s| s.sweep_expired(later)).unwrap(), 0);
}

#[test]
fn a_full_queue_drops_new_events_counts_them_and_the_send_still_happens() {
    let mut f = with_sink(1);
    codes(&mut f);
    assert_eq!(f.delivery.count(), 1, "the send is not held up");
    assert_eq!(queued(&f), ["pending"]);
    let dropped: String = f
        .store
        .connection()
        .query_row(
            "SELECT value FROM server_settings WHERE name = ?1",
            [crate::store::events::dropped_counter(URL)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dropped, "1");
}

#[test]
fn a_delivery_report_updates_the_status_once_and_never_goes_back() {
    let mut f = with_sink(100);
    codes(&mut f);
    f.store
        .connection()
        .execute("UPDATE challenges SET provider_ref = 'SM1'", [])
        .unwrap();
    let report = |f: &mut Fixture, status: &str| {
        f.run(|s| s.delivery_report(t0(), "SM1", status, Some(30003)))
            .unwrap()
    };
    assert_eq!(
        f.run(|s| s.delivery_report(t0(), "SM2", "failed", None))
            .unwrap(),
        Reported::Unknown
    );
    assert_eq!(
        report(&mut f, "undelivered"),
        Reported::Updated { failed: true }
    );
    assert_eq!(report(&mut f, "undelivered"), Reported::Unchanged);
    // A late "sent" does not undo the final word.
    assert_eq!(report(&mut f, "sent"), Reported::Unchanged);
    let status: String = f
        .store
        .connection()
        .query_row("SELECT delivery_status FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(status, "undelivered");
    assert_eq!(queued(&f).last().unwrap(), "undelivered");
    assert_eq!(super::audit_count(&f, "delivery_failed"), 1);
    let data: String = f
        .store
        .connection()
        .query_row(
            "SELECT data FROM event_outbox ORDER BY id DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(data.contains("\"error_code\":30003"), "{data}");
}

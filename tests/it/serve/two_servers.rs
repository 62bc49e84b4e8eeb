//! Two `otpd serve` processes on one PostgreSQL database (RELIABILITY.md, server section):
//! single use, the send limits and the audit chain are the database's, not a process's, so a
//! race split across both servers approves a code once and a cap is reached once. PostgreSQL
//! only (a SQLite file is one host's); under `OTPD_REQUIRE_POSTGRES=1` a missing PostgreSQL
//! fails the test.

use super::{Server, key};
use crate::harness::{Env, Store, UK_E164, US_E164, US2_E164};

/// Rounds of the split race (each a fresh verification).
const ROUNDS: usize = 5;

#[test]
fn two_servers_on_one_database_share_single_use_limits_and_one_audit_chain() {
    if !Store::postgres_available() {
        return;
    }
    let env = Env::with_config_on(
        Store::Postgres,
        "[policy]\nmax_attempts = 100\nresend_cooldown_seconds = 0\n\
         [limits]\nper_number_per_hour = 3\nper_prefix_per_hour = 1000\n\
         per_station_per_hour = 1000\nglobal_per_hour = 1000\n\
         [server]\nqueue = 256\n",
    );
    let k = key(&env, "desk-1", "station");
    let a = Server::start(&env);
    let b = Server::start(&env);
    assert_ne!(a.base, b.base);
    assert_eq!(a.service, b.service, "one database, one service SID");
    let servers = [&a, &b];

    // Single use: created on A, 64 concurrent checks of the right code, half on each server.
    for round in 0..ROUNDS {
        let phone = [US_E164, US2_E164][round % 2];
        let created = a.create(&k, phone);
        assert_eq!(created.status, 201, "round {round}: {created:?}");
        let code = env.last_code(phone);
        let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..64)
                .map(|i| {
                    let (server, k, code) = (servers[i % 2], &k, &code);
                    s.spawn(move || {
                        let r = server.check(k, phone, code);
                        (r.status, r.body)
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let approved = answers
            .iter()
            .filter(|(s, b)| *s == 200 && b["status"] == "approved")
            .count();
        assert_eq!(approved, 1, "round {round}: {answers:?}");
        for (s, b) in &answers {
            assert!(*s == 200 || (*s == 404 && b["code"] == 20404), "{s} {b}");
        }
    }

    // The send cap, hit from both servers at once: exactly 3 sends reach the number.
    let answers: Vec<(u16, serde_json::Value)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..12)
            .map(|i| {
                let (server, k) = (servers[i % 2], &k);
                s.spawn(move || {
                    let r = server.create(k, UK_E164);
                    (r.status, r.body)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let sent = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(sent, 3, "{answers:?}");
    for (s, b) in &answers {
        assert!(*s == 201 || (*s == 429 && b["code"] == 60203), "{s} {b}");
    }
    let delivered = env
        .outbox()
        .iter()
        .filter(|m| m.to_string().contains("7911123456"))
        .count();
    assert_eq!(delivered, 3, "{:?}", env.outbox());

    for server in [a, b] {
        let (status, log) = server.stop();
        assert_eq!(status, 0, "{log}");
    }
    // Both servers wrote one chain.
    let approvals = env.query_i64("SELECT count(*) FROM audit_events WHERE event = 'approved'");
    assert_eq!(approvals, ROUNDS as i64);
    let verify = env.run(&["audit", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
}

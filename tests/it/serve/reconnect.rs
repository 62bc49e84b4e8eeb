//! `otpd serve` on PostgreSQL loses its connections (the server ends them, as an operator's
//! `pg_terminate_backend` or a failover does) and carries on: the pool discards dead
//! connections and opens new ones, never more than `[database] pool_size`, and a connection
//! lost in the middle of a request fails that request without changing anything.
//! A stopped server fails requests (and `/healthz`) until it is back. PostgreSQL only: a
//! SQLite file has no connection to lose.

use super::{Server, assert_error, key};
use crate::harness::{Env, Store, UK_E164, US_E164, eventually};
use crate::pg_server;

/// The server's connections to this installation's database.
fn otpd_backends(env: &Env) -> i64 {
    env.query_i64(&format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND application_name = 'otpd'",
        env.pg_database()
    ))
}

/// Ends every otpd connection to this database and waits until they are gone; returns how
/// many there were.
fn terminate_otpd_backends(env: &Env) -> i64 {
    env.query_i64(&format!(
        "WITH otpd AS MATERIALIZED (SELECT pid FROM pg_stat_activity \
         WHERE datname = '{}' AND application_name = 'otpd') \
         SELECT count(*) FROM otpd WHERE pg_terminate_backend(pid, 10000)",
        env.pg_database()
    ))
}

#[test]
fn terminated_connections_are_replaced_within_the_pool_size_and_the_next_requests_succeed() {
    if !Store::postgres_available() {
        return;
    }
    // More workers than connections: the pool, not the workers, bounds the connections.
    let env = Env::with_config_on(
        Store::Postgres,
        "[server]\nworkers = 4\nqueue = 64\n[database]\npool_size = 2\n",
    );
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    assert_eq!(server.create(&k, US_E164).status, 201);
    let health = format!("{}/healthz", server.base);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..16)
            .map(|_| s.spawn(|| server.get(&health, None).status))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // The one-shot commands' connections end as those processes exit; the pool's stay open.
    eventually("at most pool_size connections", || {
        (1..=2).contains(&otpd_backends(&env))
    });

    let ended = terminate_otpd_backends(&env);
    assert!((1..=2).contains(&ended), "{ended}");
    assert_eq!(otpd_backends(&env), 0);

    // Even the first request after the loss succeeds: a pooled connection found dead when its
    // transaction begins (before anything ran) is discarded and a new one opened.
    let code = env.last_code(US_E164);
    let r = server.check(&k, US_E164, &code);
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &"approved".into()),
        "{r:?}"
    );
    assert_eq!(server.get(&health, None).status, 200);
    assert_eq!(server.create(&k, UK_E164).status, 201);
    assert!((1..=2).contains(&otpd_backends(&env)));

    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    env.run(&["audit", "verify"]).ok();
}

#[test]
fn a_connection_lost_mid_request_is_a_storage_error_and_changes_nothing() {
    if !Store::postgres_available() {
        return;
    }
    let env = Env::with_config_on(Store::Postgres, "[server]\nworkers = 1\n");
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    assert_eq!(server.create(&k, US_E164).status, 201);
    let code = env.last_code(US_E164);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let events = env.query_i64("SELECT count(*) FROM audit_events");

    // Hold the verification's row, so the check stops at its first write (counting the
    // attempt), after its transaction began and took the writers' lock.
    let mut holder = pg_server::server().unwrap().connect(env.pg_database());
    let mut held = holder.transaction().unwrap();
    held.batch_execute("SELECT id FROM challenges FOR UPDATE")
        .unwrap();
    let r = std::thread::scope(|s| {
        let check = s.spawn(|| server.check(&k, US_E164, wrong));
        let waiting = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' \
             AND application_name = 'otpd' AND wait_event_type = 'Lock'",
            env.pg_database()
        );
        eventually("the check waits on the held row", || {
            env.query_i64(&waiting) == 1
        });
        assert_eq!(terminate_otpd_backends(&env), 1);
        held.rollback().unwrap();
        check.join().unwrap()
    });
    // The lost connection is the request's storage error (500, Twilio's 20500), not a wrong
    // code: the attempt was never counted and no event was recorded.
    assert_error(&r, 500, 20500);
    assert_eq!(env.query_i64("SELECT attempts FROM challenges"), 0);
    assert_eq!(env.query_i64("SELECT count(*) FROM audit_events"), events);

    // The next request gets a new connection.
    let r = server.check(&k, US_E164, &code);
    assert_eq!(r.body["status"], "approved", "{r:?}");
    assert_eq!(env.query_i64("SELECT attempts FROM challenges"), 1);
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    assert!(log.contains("500"), "{log}");
}

#[test]
fn while_the_database_server_is_down_requests_fail_and_healthz_is_503_then_all_recovers() {
    if pg_server::server_or_skip().is_none() {
        return;
    }
    // A cluster of its own: stopping the shared one would fail the other tests.
    let Some(server) = pg_server::private_cluster_or_skip() else {
        return;
    };
    let cluster = server.cluster.as_ref().unwrap();
    let mut env = Env::with_config("[server]\nworkers = 2\n");
    let db = server.fresh_database();
    env.set_env("OTPD_DB", &server.url(&db));
    let k = key(&env, "desk-1", "station");
    let otpd = Server::start(&env);
    assert_eq!(otpd.create(&k, US_E164).status, 201);
    let health = format!("{}/healthz", otpd.base);
    assert_eq!(otpd.get(&health, None).status, 200);

    cluster.stop_fast();
    assert_eq!(otpd.get(&health, None).status, 503);
    assert_error(&otpd.create(&k, UK_E164), 500, 20500);

    cluster.start_again();
    assert_eq!(otpd.get(&health, None).status, 200);
    let code = env.last_code(US_E164);
    let r = otpd.check(&k, US_E164, &code);
    assert_eq!(r.body["status"], "approved", "{r:?}");
    assert_eq!(otpd.create(&k, UK_E164).status, 201);
    let (status, log) = otpd.stop();
    assert_eq!(status, 0, "{log}");
    env.run(&["audit", "verify"]).ok();
}

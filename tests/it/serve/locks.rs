//! A session outside otpd holds a lock otpd's writes need (issue 21: a `LOCK TABLE` or a row
//! lock left open in psql). The writers give up after `[database] lock_timeout_ms` and the
//! server answers 20429 with `Retry-After`; `/healthz` answers meanwhile from its own
//! connection, not behind the stuck workers; once the lock goes, creates succeed again. On
//! SQLite, `/healthz` answers while another process holds the write lock.

use super::{Server, assert_error, key};
use crate::harness::{Env, Store, UK_E164, US_E164, US2_E164, eventually};
use crate::pg_server;

#[test]
fn a_table_lock_held_elsewhere_is_20429_with_retry_after_and_healthz_stays_200() {
    if !Store::postgres_available() {
        return;
    }
    // A short lock_timeout: the create must give up on the lock, not wait for it to go.
    let env = Env::with_config_on(
        Store::Postgres,
        "[server]\nworkers = 1\n[database]\nlock_timeout_ms = 200\n",
    );
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    assert_eq!(server.create(&k, US_E164).status, 201);
    let health = format!("{}/healthz", server.base);

    let mut holder = pg_server::server().unwrap().connect(env.pg_database());
    let mut held = holder.transaction().unwrap();
    held.batch_execute("LOCK TABLE challenges IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let r = server.create(&k, UK_E164);
    assert_error(&r, 503, 20429);
    assert_eq!(r.retry_after.as_deref(), Some("1"), "{r:?}");
    assert!(
        r.body["message"].as_str().unwrap().contains("busy"),
        "{r:?}"
    );
    assert_eq!(server.get(&health, None).status, 200);
    held.rollback().unwrap();

    assert_eq!(server.create(&k, UK_E164).status, 201);
    assert_eq!(
        env.query_i64("SELECT count(*) FROM challenges"),
        2,
        "the refused create left nothing behind"
    );
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    assert!(
        log.contains("POST /v2/Services/{ServiceSid}/Verifications 503"),
        "{log}"
    );
}

#[test]
fn healthz_answers_while_every_worker_waits_on_the_writers_lock() {
    if !Store::postgres_available() {
        return;
    }
    // Long limits: the workers stay stuck on the held row until the test lets it go.
    let env = Env::with_config_on(
        Store::Postgres,
        "[server]\nworkers = 1\nqueue = 4\n[database]\nlock_timeout_ms = 60000\n\
         statement_timeout_ms = 120000\n",
    );
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    let health = format!("{}/healthz", server.base);
    assert_eq!(server.get(&health, None).status, 200);

    // The writers' lock itself, as a row lock left open in psql holds it.
    let mut holder = pg_server::server().unwrap().connect(env.pg_database());
    let mut held = holder.transaction().unwrap();
    held.batch_execute("SELECT id FROM otpd_lock FOR UPDATE")
        .unwrap();
    let waiting = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' \
         AND application_name = 'otpd' AND wait_event_type = 'Lock'",
        env.pg_database()
    );
    let created = std::thread::scope(|s| {
        // Both pool threads (workers × 2) take a create and wait on the held row.
        let creates: Vec<_> = [US_E164, US2_E164]
            .into_iter()
            .map(|to| s.spawn(|| server.create(&k, to).status))
            .collect();
        eventually("both workers wait on the writers' lock", || {
            env.query_i64(&waiting) == 2
        });
        let h = server.get(&health, None);
        assert_eq!((h.status, &h.body), (200, &"ok\n".into()), "{h:?}");
        held.rollback().unwrap();
        creates
            .into_iter()
            .map(|c| c.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(created, [201, 201]);
    assert_eq!(server.create(&k, UK_E164).status, 201);
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}

#[test]
fn healthz_answers_while_another_process_holds_the_sqlite_write_lock() {
    let env = Env::with_config("[server]\nworkers = 1\n");
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    let health = format!("{}/healthz", server.base);
    assert_eq!(server.get(&health, None).status, 200);

    // Another process's long write: it holds SQLite's write lock until it commits.
    let db = rusqlite::Connection::open(env.db_path()).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let h = server.get(&health, None);
    assert_eq!((h.status, &h.body), (200, &"ok\n".into()), "{h:?}");
    db.execute_batch("COMMIT").unwrap();

    assert_eq!(server.create(&k, US_E164).status, 201);
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}

//! How many durable commits each verify outcome makes, read from the WAL's commit frames: with
//! `synchronous = FULL` every commit is an fsync, so outcomes that commit a different number of
//! times take measurably different times on a slow disk, and the time a verify takes would tell
//! a right code from a wrong one.

use crate::harness::*;

/// Commit frames in the current generation of the database's WAL (a frame whose header
/// records the database size after the commit; frames left from an older generation carry
/// other salts and are not counted).
fn commits(env: &Env) -> usize {
    let wal = std::fs::read(env.path("otpd.db-wal")).unwrap_or_default();
    if wal.len() < 32 {
        return 0;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let page = be(&wal[8..12]) as usize;
    let salts = &wal[16..24];
    let mut n = 0;
    let mut at = 32;
    while at + 24 + page <= wal.len() {
        let frame = &wal[at..at + 24];
        if &frame[8..16] != salts {
            break;
        }
        if be(&frame[4..8]) != 0 {
            n += 1;
        }
        at += 24 + page;
    }
    n
}

/// The commits one `verify` makes for `phone` with `code`, and its outcome.
fn verify_commits(env: &Env, code: &str, phone: &str) -> (String, usize) {
    let before = commits(env);
    let r = env.run(&["verify", "--json", code, "--phone", phone]);
    (r.outcome(), commits(env) - before)
}

#[test]
fn right_wrong_and_expired_codes_make_the_same_number_of_durable_commits() {
    let mut env = Env::new();
    assert_eq!(
        env.path("otpd.db"),
        env.db_path(),
        "the harness's database file name"
    );
    env.run(&["send", US]).ok();
    let wrong = env.wrong_code(US_E164);
    let right = env.last_code(US_E164);
    let wrong_run = verify_commits(&env, &wrong, US);
    let right_run = verify_commits(&env, &right, US);

    env.run(&["send", US2]).ok();
    let code = env.last_code(US2_E164);
    env.advance(301);
    let expired_run = verify_commits(&env, &code, US2);

    assert_eq!(wrong_run, ("invalid".to_string(), 2));
    assert_eq!(right_run, ("approved".to_string(), 2));
    assert_eq!(expired_run, ("expired".to_string(), 2));
}

#[test]
fn an_unknown_number_and_another_stations_make_the_commits_a_wrong_code_makes() {
    let mut env = Env::new();
    env.run(&["send", US]).ok();
    let wrong = env.wrong_code(US_E164);
    let wrong_run = verify_commits(&env, &wrong, US);
    // desk-2 is verifying UK; to desk-1 that is nothing at all, as UK2 (never sent) is.
    env.station("desk-2");
    env.run(&["send", UK]).ok();
    let theirs = env.last_code(UK_E164);
    env.station("desk-1");
    let other_run = verify_commits(&env, &theirs, UK);
    let unknown_run = verify_commits(&env, "123456", US2);
    assert_eq!(wrong_run, ("invalid".to_string(), 2));
    assert_eq!(other_run, ("no_pending".to_string(), 2));
    assert_eq!(unknown_run, ("no_pending".to_string(), 2));
    // ... and desk-2's verification is untouched: its own code still works there.
    env.station("desk-2");
    let r = env.run(&["verify", "--json", &theirs, "--phone", UK]);
    assert_eq!(r.outcome(), "approved", "{r:?}");
}

#[test]
fn an_expired_code_counts_its_attempt() {
    let mut env = Env::new();
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    env.advance(300);
    for _ in 0..2 {
        let r = env.run(&["verify", "--json", &code, "--phone", US]);
        assert_eq!(r.outcome(), "expired", "{r:?}");
    }
    let attempts: i64 = env
        .db()
        .query_row("SELECT attempts FROM challenges", [], |r| r.get(0))
        .unwrap();
    assert_eq!(attempts, 2);
}

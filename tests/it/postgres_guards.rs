//! PostgreSQL's guards of issue 21 through the binary: a one-shot command behind a lock held
//! by another session gives up after `[database] lock_timeout_ms` with the storage status and
//! one line; the password never reaches `otpd config` or a storage error, however the URL
//! spells it; and it is never sent to a remote server without verified TLS unless allowed.

use crate::harness::*;
use crate::pg_server;

#[test]
fn a_one_shot_send_behind_a_held_lock_exits_busy_with_one_line() {
    if !Store::postgres_available() {
        return;
    }
    let env = Env::with_config_on(Store::Postgres, "[database]\nlock_timeout_ms = 200\n");
    env.run(&["send", US]).ok();
    let mut holder = pg_server::server().unwrap().connect(env.pg_database());
    let mut held = holder.transaction().unwrap();
    held.batch_execute("LOCK TABLE challenges IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let r = env.run(&["send", UK]);
    held.rollback().unwrap();
    assert_eq!(r.code, 3, "{r:?}");
    let lines: Vec<_> = r
        .stderr
        .lines()
        .filter(|l| !l.contains("argon2id"))
        .collect();
    assert_eq!(lines.len(), 1, "{r:?}");
    assert!(
        lines[0].contains("is busy") && lines[0].contains("database.lock_timeout_ms"),
        "{r:?}"
    );
    assert_eq!(env.outbox().len(), 1, "nothing was sent");
    env.run(&["send", UK]).ok();
}

/// A URL to a server that is not there (a socket folder that does not exist), with `user_info`
/// (`otpd:PASSWORD` or `otpd`) and `query` appended.
fn nowhere(env: &Env, user_info: &str, query: &str) -> String {
    let dir = env.path("no-server").to_str().unwrap().replace('/', "%2F");
    format!("postgres://{user_info}@{dir}/otpd{query}")
}

#[test]
fn the_postgres_password_never_shows_in_config_or_storage_errors() {
    // (user info, query, what must never appear)
    let cases: &[(&str, &str, &[&str])] = &[
        ("otpd:se/cr?et-1", "", &["se/cr?et-1", "cr?et-1"]),
        ("otpd:s@cret-2", "", &["s@cret-2", "cret-2"]),
        ("otpd:s%40cret-3", "", &["s%40cret-3", "s@cret-3", "cret-3"]),
        ("otpd:a%2Fcret-4", "", &["a%2Fcret-4", "a/cret-4", "cret-4"]),
        ("otpd", "?password=cret-5/x?y&sslmode=disable", &["cret-5"]),
        ("otpd", "?%70assword=cret-6", &["cret-6"]),
        ("otpd", "?sslmode=disable&%70assword=cret-7%2F", &["cret-7"]),
    ];
    for (user_info, query, secrets) in cases {
        let env = Env::new();
        let url = nowhere(&env, user_info, query);
        env.write_config(&format!("[database]\nurl = \"{url}\"\n{CHEAP_HASHING}"));
        for args in [&["config"][..], &["status"], &["send", US]] {
            let mut c = env.command();
            c.env_remove("OTPD_DB").args(args);
            let out = c.output().unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            for secret in *secrets {
                assert!(
                    !stdout.contains(secret) && !stderr.contains(secret),
                    "{url} {args:?}: {stdout}{stderr}"
                );
            }
            if args[0] != "config" {
                // A storage error (the server is not there) or, for an `@` left unencoded,
                // the configuration's refusal: one line either way.
                let code = out.status.code();
                assert!(matches!(code, Some(2 | 3)), "{url}: {stdout}{stderr}");
                assert_eq!(
                    stderr.lines().filter(|l| !l.contains("argon2id")).count(),
                    1,
                    "{stderr}"
                );
            }
        }
    }
}

#[test]
fn a_password_is_not_sent_to_a_remote_server_without_verified_tls() {
    let mut env = Env::new();
    env.write_config(&format!(
        "[database]\nurl = \"postgres://otpd@db.example.invalid/otpd?sslmode=require\"\n\
         {CHEAP_HASHING}"
    ));
    env.set_env("PGPASSWORD", "pw-sentinel");
    let mut c = env.command();
    c.env_remove("OTPD_DB").args(["status"]);
    let out = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    // The refusal, not a failed lookup or connection: it comes before any is tried.
    assert!(
        stderr.contains("refusing to send the password to db.example.invalid without verified TLS")
            && stderr.contains("sslmode=verify-full")
            && stderr.contains("allow_unverified_password"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw-sentinel"), "{stderr}");
    assert!(
        stderr.contains("postgres://otpd@db.example.invalid:5432/otpd?sslmode=require"),
        "{stderr}"
    );
}

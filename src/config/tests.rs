//! Loading and validation of the configuration, through [`Config::load`] with a file, flags
//! and an environment of the test's own.

use chrono::TimeDelta;
use secrecy::ExposeSecret;

use super::*;

fn dirs(root: &Path) -> Dirs {
    Dirs {
        config: root.join("config"),
        data: root.join("data"),
        state: root.join("state"),
    }
}

fn load_toml(text: &str) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otpd.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(
        &Overrides {
            config: Some(path),
            ..Overrides::default()
        },
        &Env::default(),
        &dirs(dir.path()),
    )
}

#[test]
fn defaults_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(&Overrides::default(), &Env::default(), &dirs(dir.path())).unwrap();
    assert_eq!(c.policy, Policy::default());
    assert_eq!(c.hashing, HashParams::OWASP);
    assert_eq!(c.delivery.provider, Provider::Console);
    assert_eq!(c.limits, Limits::default());
    assert_eq!(c.database, dir.path().join("data/otpd.db"));
    assert_eq!(c.audit.head_file, dir.path().join("state/audit-head.log"));
    assert_eq!(c.audit.head_every, 100);
    assert_eq!(c.audit.retention_days, None);
    assert!(c.file.is_none());
    assert!(c.warnings().is_empty());
}

#[test]
fn out_of_range_values_name_the_key_and_the_range() {
    let cases = [
        (
            "[policy]\nttl_seconds = 601",
            "policy.ttl_seconds = 601",
            "1..=600",
        ),
        (
            "[policy]\ncode_length = 5",
            "policy.code_length = 5",
            "6..=10",
        ),
        (
            "[policy]\nmax_attempts = 0",
            "policy.max_attempts = 0",
            "1..=100",
        ),
        (
            "[policy]\nresend_cooldown_seconds = -1",
            "resend_cooldown_seconds = -1",
            "0..=",
        ),
        (
            "[hashing]\nmemory_kib = 4",
            "hashing.memory_kib = 4",
            "8..=",
        ),
        (
            "[hashing]\nparallelism = 4\nmemory_kib = 16",
            "hashing.memory_kib = 16",
            "32",
        ),
        ("station = \"a/b\"", "station", "letters"),
        (
            "[limits]\nallowed_countries = [\"US\", \"XX\"]",
            "limits.allowed_countries = \"XX\"",
            "ISO 3166",
        ),
        (
            "[limits]\nallowed_countries = [\"USA\"]",
            "limits.allowed_countries",
            "two-letter",
        ),
        (
            "[limits]\nper_number_per_hour = -1",
            "limits.per_number_per_hour = -1",
            "0..=",
        ),
        (
            "[limits]\nmin_conversion = 1.5",
            "limits.min_conversion = 1.5",
            "0.0..=1.0",
        ),
        (
            "[limits]\nfailures_before_unlock = 101",
            "limits.failures_before_unlock = 101",
            "10..=100",
        ),
        (
            "[limits]\nmax_failures_per_number = 20\nfailures_before_unlock = 15",
            "limits.failures_before_unlock = 15",
            "20..=100",
        ),
        (
            "[limits]\nprefix_digits = 15",
            "limits.prefix_digits = 15",
            "0..=14",
        ),
        (
            "[limits]\nlockout_seconds = 0",
            "limits.lockout_seconds = 0",
            "1..=",
        ),
        ("[audit]\nhead_every = -1", "audit.head_every = -1", "0..="),
        (
            "[audit]\nretention_days = 0",
            "audit.retention_days = 0",
            "1..=36500",
        ),
        (
            "[kiosk]\nidle_seconds = 0",
            "kiosk.idle_seconds = 0",
            "1..=86400",
        ),
        (
            "[kiosk]\nresult_seconds = 601",
            "kiosk.result_seconds = 601",
            "1..=600",
        ),
        ("[kiosk]\nchannels = []", "kiosk.channels", "one to three"),
        (
            "[kiosk]\nchannels = [\"sms\", \"sms\"]",
            "kiosk.channels",
            "different",
        ),
    ];
    for (toml, key, range) in cases {
        let err = load_toml(toml).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains(range), "{toml:?} → {err}");
    }
}

#[test]
fn limits_are_read_normalised_and_follow_the_policy_cooldown() {
    let c = load_toml(
        "[policy]\nresend_cooldown_seconds = 10\n[limits]\nallowed_countries = [\"us\", \"GB\", \"US\"]\nper_number_per_day = 0\nmin_conversion = 0.5\n",
    )
    .unwrap();
    assert_eq!(c.limits.allowed_countries, ["US", "GB"]);
    assert_eq!(c.limits.per_number_per_day, 0);
    assert_eq!(c.limits.min_conversion, 0.5);
    assert_eq!(c.limits.base_cooldown, TimeDelta::seconds(10));
    assert_eq!(c.limits.per_number_per_hour, 5);
}

#[test]
fn unknown_keys_and_bad_types_are_refused() {
    let err = load_toml("[policy]\nttl = 30").unwrap_err().to_string();
    assert!(err.contains("ttl"), "{err}");
    let err = load_toml("[delivery]\nprovider = \"pigeon\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("pigeon") || err.contains("variant"), "{err}");
}

#[test]
fn overrides_beat_the_file_and_relative_paths_follow_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otpd.toml");
    std::fs::write(
        &path,
        "station = \"file\"\ndatabase = \"db/otpd.db\"\n[delivery]\nprovider = \"outbox\"\noutbox = \"out.jsonl\"\n[hashing]\nmemory_kib = 8\niterations = 1\n",
    )
    .unwrap();
    let mut o = Overrides {
        config: Some(path),
        ..Overrides::default()
    };
    let c = Config::load(&o, &Env::default(), &dirs(dir.path())).unwrap();
    assert_eq!(c.station, "file");
    assert_eq!(c.database, dir.path().join("db/otpd.db"));
    assert_eq!(c.delivery.outbox, dir.path().join("out.jsonl"));
    assert_eq!(c.warnings().len(), 1);
    o.station = Some("flag".into());
    o.provider = Some(Provider::Console);
    let c = Config::load(&o, &Env::default(), &dirs(dir.path())).unwrap();
    assert_eq!(c.station, "flag");
    assert_eq!(c.delivery.provider, Provider::Console);
}

#[test]
fn the_secret_comes_from_otpd_secret_else_the_key_file_the_environment_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("otpd.toml");
    std::fs::write(&path, "secret_file = \"keys/file.key\"\n").unwrap();
    let o = Overrides {
        config: Some(path),
        ..Overrides::default()
    };
    let load = |env: &Env| Config::load(&o, env, &dirs(dir.path())).unwrap().secret;
    match load(&Env::default()) {
        SecretSource::File(p) => assert_eq!(p, dir.path().join("keys/file.key")),
        other => panic!("{other:?}"),
    }
    let env = Env {
        secret_file: Some("/run/otpd/env.key".into()),
        ..Env::default()
    };
    match load(&env) {
        SecretSource::File(p) => assert_eq!(p, PathBuf::from("/run/otpd/env.key")),
        other => panic!("{other:?}"),
    }
    let env = Env {
        secret: Some(SecretString::from("sentinel-master-secret-0123456789ab")),
        ..env
    };
    let secret = load(&env);
    match &secret {
        SecretSource::Env(v) => {
            assert_eq!(v.expose_secret(), "sentinel-master-secret-0123456789ab")
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{secret:?}").contains("sentinel"));
}

#[test]
fn the_environment_reaches_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load(&Overrides::default(), &Env::default(), &dirs(dir.path())).unwrap();
    assert!(!c.no_color);
    assert_eq!(c.fake_now, None);
    let env = Env {
        no_color: true,
        fake_now: Some("2027-01-15T10:00:00Z".into()),
        ..Env::default()
    };
    let c = Config::load(&Overrides::default(), &env, &dirs(dir.path())).unwrap();
    assert!(c.no_color);
    assert_eq!(
        c.fake_now,
        DateTime::from_timestamp(1_800_007_200, 0),
        "the RFC 3339 instant"
    );
    let env = Env {
        fake_now: Some("tomorrow".into()),
        ..Env::default()
    };
    let c = Config::load(&Overrides::default(), &env, &dirs(dir.path())).unwrap();
    assert_eq!(
        c.fake_now, None,
        "an unreadable instant leaves the real clock"
    );
}

#[test]
fn twilio_settings_come_from_the_environment_given_to_load() {
    let dir = tempfile::tempdir().unwrap();
    let o = Overrides {
        provider: Some(Provider::Twilio),
        ..Overrides::default()
    };
    let err = Config::load(&o, &Env::default(), &dirs(dir.path())).unwrap_err();
    assert!(err.to_string().contains("TWILIO_ACCOUNT_SID"), "{err}");
    let env = Env {
        twilio: TwilioEnv {
            account_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
            auth_token: Some(SecretString::from("sentinel-token")),
            from: Some("+14155552671".into()),
            ..TwilioEnv::default()
        },
        ..Env::default()
    };
    let c = Config::load(&o, &env, &dirs(dir.path())).unwrap();
    let t = c.twilio.expect("validated [twilio]");
    assert_eq!(t.account_sid, "AC0123456789abcdef0123456789abcdef");
    assert_eq!(t.from.as_deref(), Some("+14155552671"));
}

#[test]
fn database_pool_size_is_checked_and_reaches_postgres_only() {
    let e = load_toml("[database]\nurl = \"postgres://otpd@h/otpd\"\npool_size = 0\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("database.pool_size = 0") && e.contains("1..=1024"),
        "{e}"
    );
    let c = load_toml("[database]\nurl = \"postgres://otpd@h/otpd\"\npool_size = 3\n").unwrap();
    let Database::Postgres(pg) = &c.database else {
        panic!("{:?}", c.database)
    };
    assert_eq!(pg.pool_size, Some(3));
    let c = load_toml("[database]\nurl = \"postgres://otpd@h/otpd\"\n").unwrap();
    let Database::Postgres(pg) = &c.database else {
        panic!("{:?}", c.database)
    };
    assert_eq!(pg.pool_size, None);
    let c = load_toml("[database]\nurl = \"otpd.db\"\npool_size = 3\n").unwrap();
    assert!(matches!(c.database, Database::Sqlite(_)));
}

#[test]
fn database_session_timeouts_and_the_password_opt_out_are_checked_and_reach_postgres() {
    let url = "[database]\nurl = \"postgres://otpd@h/otpd\"\n";
    let e = load_toml(&format!("{url}lock_timeout_ms = -1\n"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("database.lock_timeout_ms = -1") && e.contains("0..=3600000"),
        "{e}"
    );
    let c = load_toml(&format!(
        "{url}lock_timeout_ms = 250\nstatement_timeout_ms = 0\n\
         idle_in_transaction_timeout_ms = 900\nallow_unverified_password = true\n"
    ))
    .unwrap();
    let Database::Postgres(pg) = &c.database else {
        panic!("{:?}", c.database)
    };
    assert_eq!(
        pg.timeouts,
        crate::config::database::Timeouts {
            lock_ms: 250,
            statement_ms: 0,
            idle_in_transaction_ms: 900,
        }
    );
    assert!(pg.allow_unverified_password);
    let c = load_toml(url).unwrap();
    let Database::Postgres(pg) = &c.database else {
        panic!("{:?}", c.database)
    };
    assert_eq!(pg.timeouts, crate::config::database::Timeouts::default());
    assert!(!pg.allow_unverified_password);
}

//! Unit tests of the database settings: URLs shown without their password, the password's
//! rules, and the session timeouts that reach PostgreSQL.

use super::*;

#[test]
fn urls_select_postgres_with_tls_modes_and_sockets() {
    let pg = |u: &str| postgres(u, Origin::CommandLine, None, None);
    let p = pg("postgres://otpd@db.example:6543/otpd?sslmode=verify-full&sslrootcert=%2Fca.pem")
        .unwrap();
    assert_eq!(p.tls, TlsMode::VerifyFull);
    assert_eq!(p.root_cert.as_deref(), Some(Path::new("/ca.pem")));
    assert_eq!(p.connect.get_ports(), [6543]);
    let p = pg("postgres://otpd@%2Ftmp%2Fpg/otpd").unwrap();
    assert_eq!(
        p.connect.get_hosts(),
        [postgres::config::Host::Unix("/tmp/pg".into())]
    );
    let p = pg("postgresql://otpd@localhost/otpd?host=/run/pg&sslmode=disable").unwrap();
    assert_eq!(p.tls, TlsMode::Disable);
    assert_eq!(p.connect.get_hosts().len(), 2);
    for (url, says) in [
        ("postgres://otpd:hunter2@h/otpd", "command line"),
        ("postgres://otpd@h/otpd?sslmode=verify-ca", "verify-full"),
        ("postgres://h/otpd", "name the user"),
        ("postgres://otpd@h/otpd?bogus=1", "bogus"),
    ] {
        let e = pg(url).unwrap_err().to_string();
        assert!(e.contains(says), "{url}: {e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}

#[test]
fn passwords_come_from_the_environment_or_the_file_and_are_never_shown() {
    let env = SecretString::from("from-env");
    let p = postgres(
        "postgres://otpd:in-file@h/otpd",
        Origin::File,
        Some(&env),
        None,
    )
    .unwrap();
    assert_eq!(p.connect.get_password(), Some(&b"from-env"[..]));
    assert_eq!(p.shown, "postgres://otpd@h:5432/otpd?sslmode=prefer");
    assert!(!format!("{p:?}").contains("in-file"));
    assert!(!format!("{p:?}").contains("from-env"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "s3cret\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let p = postgres("postgres://u@h/d", Origin::CommandLine, None, Some(&file)).unwrap();
    assert_eq!(p.connect.get_password(), Some(&b"s3cret"[..]));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = postgres("postgres://u@h/d", Origin::CommandLine, None, Some(&file))
        .unwrap_err()
        .to_string();
    assert!(e.contains("chmod 600"), "{e}");
}

#[test]
fn the_shown_url_is_rebuilt_from_the_settings_whatever_the_password_holds() {
    let file = |u: &str| postgres(u, Origin::File, None, None);
    for (url, secret) in [
        (
            "postgres://otpd:se/cr?et@db:6543/otpd?sslmode=require",
            "se/cr?et",
        ),
        ("postgres://otpd:pa%2Fss%40wd@db/otpd", "pa%2Fss%40wd"),
        (
            "postgres://otpd@db/otpd?password=hunter2&sslmode=require",
            "hunter2",
        ),
        ("postgres://otpd@db/otpd?%70assword=hunter2", "hunter2"),
    ] {
        let p = file(url).unwrap();
        assert!(p.connect.get_password().is_some(), "{url}");
        assert!(!p.shown.contains(secret), "{url}: {}", p.shown);
        assert!(p.shown.starts_with("postgres://otpd@db:"), "{}", p.shown);
    }
    assert_eq!(
        file("postgres://otpd@%2Ftmp%2Fpg:5433/otpd").unwrap().shown,
        "postgres://otpd@%2Ftmp%2Fpg:5433/otpd?sslmode=prefer"
    );
    // An `@` left unencoded in a password: never shown as a host or database name.
    for url in [
        "postgres://otpd:a@b@db/otpd",
        "postgres://otpd:a@b/c@db/otpd",
        "postgres://otpd:a@b:x/otpd",
    ] {
        let e = file(url).unwrap_err().to_string();
        assert!(
            !e.contains("b@") && !e.contains(":a") && !e.contains("c@"),
            "{e}"
        );
        assert!(e.contains("not repeated"), "{e}");
    }
}

#[test]
fn a_password_goes_to_a_remote_server_only_over_verified_tls_or_when_allowed() {
    let with = |url: &str, allow: bool| {
        let env = SecretString::from("pw");
        let mut p = postgres(url, Origin::CommandLine, Some(&env), None).unwrap();
        p.allow_unverified_password = allow;
        p.unverified_password_host()
    };
    let remote = "postgres://otpd@db.example.invalid/otpd";
    for mode in ["disable", "prefer", "require"] {
        let url = format!("{remote}?sslmode={mode}");
        assert_eq!(with(&url, false).as_deref(), Some("db.example.invalid"));
        assert_eq!(with(&url, true), None);
    }
    assert_eq!(with(&format!("{remote}?sslmode=verify-full"), false), None);
    for local in [
        "postgres://otpd@localhost/otpd",
        "postgres://otpd@127.0.0.1/otpd",
        "postgres://otpd@[::1]/otpd",
        "postgres://otpd@%2Frun%2Fpg/otpd",
    ] {
        assert_eq!(with(local, false), None, "{local}");
    }
    assert_eq!(
        with("postgres://otpd@localhost/otpd?hostaddr=10.0.0.5", false).as_deref(),
        Some("10.0.0.5")
    );
    let no_password = postgres(remote, Origin::CommandLine, None, None).unwrap();
    assert_eq!(no_password.unverified_password_host(), None);
}

#[test]
fn every_connection_carries_the_session_timeouts() {
    let mut p = postgres(
        "postgres://otpd@h/otpd?options=-c%20search_path%3Dotpd",
        Origin::CommandLine,
        None,
        None,
    )
    .unwrap();
    p.timeouts.lock_ms = 250;
    assert_eq!(
        p.session_config().get_options(),
        Some(
            "-c search_path=otpd -c lock_timeout=250 -c statement_timeout=15000 \
             -c idle_in_transaction_session_timeout=15000"
        )
    );
    assert!(p.connect.get_keepalives());
}

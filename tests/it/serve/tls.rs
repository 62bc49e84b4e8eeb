//! `[server] tls_cert` / `tls_key`: the API over HTTPS with a certificate made here (rcgen), and
//! the one clear start-up line when a PEM file is missing or holds no key.
//!
//! SQLite only: TLS sits in front of the same routes and touches no store; the HTTP flow on
//! both stores is `serve::flow`'s.

use super::{Server, key};
use crate::harness::{Env, US_E164};

/// An installation whose server uses a fresh self-signed certificate for 127.0.0.1, and a
/// client that trusts only that certificate.
fn tls_env() -> (Env, reqwest::blocking::Client) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let env = Env::new();
    std::fs::write(env.path("cert.pem"), made.cert.pem()).unwrap();
    std::fs::write(env.path("key.pem"), made.signing_key.serialize_pem()).unwrap();
    env.write_config(&format!(
        "{}[server]\ntls_cert = {:?}\ntls_key = {:?}\n",
        crate::harness::CHEAP_HASHING,
        env.path("cert.pem"),
        env.path("key.pem"),
    ));
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).unwrap();
    let http = reqwest::blocking::Client::builder()
        .tls_certs_only([root])
        .build()
        .unwrap();
    (env, http)
}

#[test]
fn create_and_check_over_https() {
    let (env, http) = tls_env();
    let k = key(&env, "desk-1", "station");
    let server = Server::start_with(&env, http);
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );

    let created = server.create(&k, US_E164);
    assert_eq!(created.status, 201, "{created:?}");
    let url = created.body["url"].as_str().unwrap();
    assert!(url.starts_with("https://"), "{url}");
    let r = server.check(&k, US_E164, &env.last_code(US_E164));
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &"approved".into()),
        "{r:?}"
    );

    // Plain HTTP on the TLS port gets no answer at all.
    let plain = reqwest::blocking::Client::new()
        .get(server.base.replace("https://", "http://") + "/healthz")
        .send();
    assert!(plain.is_err(), "{plain:?}");
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}

#[test]
fn a_missing_or_empty_key_file_is_one_line_at_start_up() {
    let (env, _) = tls_env();
    std::fs::remove_file(env.path("key.pem")).unwrap();
    let run = env.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| !l.contains("warning"))
            .count(),
        1,
        "{run:?}"
    );
    assert!(run.stderr.contains("server.tls_key"), "{run:?}");
    assert!(run.stderr.contains("no such file"), "{run:?}");
    assert!(run.stdout.is_empty(), "{run:?}");

    // A key file holding a certificate: said so, and its bytes are not echoed.
    let cert = std::fs::read_to_string(env.path("cert.pem")).unwrap();
    std::fs::write(env.path("key.pem"), &cert).unwrap();
    let run = env.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 2, "{run:?}");
    assert_eq!(
        run.stderr
            .lines()
            .filter(|l| !l.contains("warning"))
            .count(),
        1,
        "{run:?}"
    );
    assert!(run.stderr.contains("no private key in it"), "{run:?}");
    assert!(!run.stderr.contains("BEGIN"), "{run:?}");
}

/// A remote terminal (`--server https://…`) trusts a private or self-signed certificate only
/// when `[remote] ca_file` names it; without it the server is out of reach (exit 3), and a file
/// with no certificate is one line at start-up (exit 2).
#[test]
fn a_remote_terminal_trusts_the_server_through_its_ca_file() {
    let (env, http) = tls_env();
    let k = key(&env, "desk-1", "station");
    let server = Server::start_with(&env, http);
    std::fs::write(env.path("junk.pem"), "not a certificate\n").unwrap();
    let terminal = |ca: Option<&str>| {
        let config = ca
            .map(|name| format!("[remote]\nca_file = {:?}\n", env.path(name)))
            .unwrap_or_default();
        let mut t = Env::with_config(&config);
        t.set_env("OTPD_SERVER", &server.base);
        t.set_env("OTPD_API_KEY", &k.sid);
        t.set_env("OTPD_API_SECRET", &k.secret);
        t
    };
    let r = terminal(Some("cert.pem")).run(&["send", "--json", US_E164]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    let r = terminal(None).run(&["status"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("cannot reach the otpd server"), "{r:?}");
    let r = terminal(Some("junk.pem")).run(&["status"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{r:?}");
    assert!(r.stderr.contains("remote.ca_file"), "{r:?}");
    assert!(r.stderr.contains("no PEM certificate"), "{r:?}");
}

/// README's one-command certificate (openssl's defaults mark it as a CA and give it no
/// subjectAltName, which webpki refuses as a server's own): `[remote] ca_file` naming that
/// very file pins it, and another certificate made the same way is still refused.
#[test]
fn a_remote_terminal_pins_a_self_signed_certificate_made_with_openssls_defaults() {
    let env = Env::new();
    let openssl = |name: &str| {
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .args(["-nodes", "-days", "3650", "-subj", "/CN=otpd"])
            .arg("-keyout")
            .arg(env.path(&format!("{name}.key")))
            .arg("-out")
            .arg(env.path(&format!("{name}.pem")))
            .output()
            .expect("openssl");
        assert!(made.status.success(), "{made:?}");
    };
    openssl("tls");
    openssl("other");
    env.write_config(&format!(
        "{}[server]\ntls_cert = {:?}\ntls_key = {:?}\n",
        crate::harness::CHEAP_HASHING,
        env.path("tls.pem"),
        env.path("tls.key"),
    ));
    let k = key(&env, "desk-1", "station");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let insecure = reqwest::blocking::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let server = Server::start_with(&env, insecure);
    let terminal = |ca: &str| {
        let mut t = Env::with_config(&format!("[remote]\nca_file = {:?}\n", env.path(ca)));
        t.set_env("OTPD_SERVER", &server.base);
        t.set_env("OTPD_API_KEY", &k.sid);
        t.set_env("OTPD_API_SECRET", &k.secret);
        t
    };
    let r = terminal("tls.pem").run(&["send", "--json", US_E164]);
    assert_eq!(r.outcome(), "sent", "{r:?}");
    let r = terminal("other.pem").run(&["status"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("cannot reach the otpd server"), "{r:?}");
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}

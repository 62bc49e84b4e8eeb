//! A remote terminal's key secret never crosses the network in clear (issue 21): an `http://`
//! server other than this machine is refused before any connection unless the documented
//! opt-out says a TLS-terminating proxy carries it on, and plain http never goes through a
//! proxy named by the environment.

use std::net::TcpListener;

use crate::harness::{Env, US};
use crate::serve::{Key, Server, key};

fn terminal(url: &str, key: &Key, extra: &str) -> Env {
    let mut t = Env::with_config(extra);
    t.set_env("OTPD_SERVER", url);
    t.set_env("OTPD_API_KEY", &key.sid);
    t.set_env("OTPD_API_SECRET", &key.secret);
    t
}

/// A listener on 127.0.0.1 that is never answered; `touched` says whether anyone connected.
struct Listener(TcpListener);

impl Listener {
    fn new() -> Listener {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        Listener(l)
    }

    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }

    fn touched(&self) -> bool {
        self.0.accept().is_ok()
    }
}

/// `0.0.0.0` is not a loopback address, yet a connection to it reaches this machine (Linux):
/// a URL that must be refused whose connection, were it made, stays on 127.0.0.1.
fn not_loopback(port: u16) -> String {
    format!("http://0.0.0.0:{port}")
}

#[test]
fn plain_http_to_another_host_is_refused_before_any_connection() {
    let served = Env::new();
    let k = key(&served, "desk-1", "station");
    let listener = Listener::new();
    let url = not_loopback(listener.port());
    for (how, t) in [
        ("OTPD_SERVER", terminal(&url, &k, "")),
        ("remote.url", {
            let mut t = Env::with_config(&format!("[remote]\nurl = \"{url}\""));
            t.set_env("OTPD_API_KEY", &k.sid);
            t.set_env("OTPD_API_SECRET", &k.secret);
            t
        }),
    ] {
        let r = t.run(&["send", US]);
        assert_eq!(r.code, 2, "{how}: {r:?}");
        let key_named = if how == "remote.url" {
            "remote.url"
        } else {
            "--server"
        };
        assert_eq!(r.stderr.lines().count(), 1, "{how}: {r:?}");
        assert!(
            r.stderr.contains(key_named) && r.stderr.contains("use https://"),
            "{how}: {r:?}"
        );
        assert!(!r.stderr.contains(&k.secret), "{r:?}");
    }
    assert!(!listener.touched(), "a refused URL was connected to");
    // Loopback names stay accepted in plain http (the request then fails: nobody answers).
    for host in ["127.0.0.2", "localhost", "[::1]"] {
        let t = terminal(
            &format!("http://{host}:1"),
            &k,
            "[remote]\nconnect_timeout_ms = 2000",
        );
        let r = t.run(&["--json", "status"]);
        assert_eq!(r.code, 3, "{host}: {r:?}");
    }
}

#[test]
fn the_opt_out_lets_plain_http_through_to_a_proxy_in_front() {
    let served = Env::new();
    let k = key(&served, "desk-1", "station");
    let server = Server::start(&served);
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let url = not_loopback(port.parse().unwrap());
    let in_file = terminal(&url, &k, "[remote]\nallow_plain_http = true");
    let r = in_file.run(&["--json", "status"]);
    assert_eq!(r.code, 0, "{r:?}");
    let shown = in_file.run(&["config"]);
    assert!(shown.stdout.contains("plain http allowed"), "{shown:?}");
    let mut by_env = terminal(&url, &k, "");
    by_env.set_env("OTPD_ALLOW_PLAIN_HTTP", "1");
    assert_eq!(by_env.run(&["--json", "status"]).code, 0);
    by_env.set_env("OTPD_ALLOW_PLAIN_HTTP", "maybe");
    let r = by_env.run(&["--json", "status"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("OTPD_ALLOW_PLAIN_HTTP"), "{r:?}");
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}

#[test]
fn plain_http_never_goes_through_a_proxy_from_the_environment() {
    let served = Env::new();
    let k = key(&served, "desk-1", "station");
    let server = Server::start(&served);
    let proxy = Listener::new();
    let mut t = terminal(&server.base, &k, "[remote]\nrequest_timeout_ms = 3000");
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port());
    for var in ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"] {
        t.set_env(var, &proxy_url);
    }
    let r = t.run(&["send", US]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(!proxy.touched(), "the request went through the proxy");
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
}

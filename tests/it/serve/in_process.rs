//! `otpd serve`'s handlers driven in-process ([`Local`], behind [`Server::in_process`]): the
//! router over a temp store, each request sent with tower's `oneshot` — no port, no child
//! process, no stderr to scrape (the access log goes to a buffer the test reads). The
//! spawn-the-binary tests stay as smokes of what only a real socket shows (deadlines, caps,
//! signals, TLS).

use std::ffi::OsString;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine;
use tower::ServiceExt;

use super::{Key, Reply, Server, assert_error, assert_schema, key};
use crate::harness::{Env, US_E164};

/// What an in-process server's URLs start with (stripped before routing).
pub const BASE: &str = "http://in-process";

/// The access log's lines, shared with the test.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The installation's configuration, read the way the binary reads it (its flags, files and
/// fixed clock), without touching this process's environment.
pub fn config(env: &Env) -> otpd::config::Config {
    let args: Vec<OsString> = vec![
        "otpd".into(),
        "--config".into(),
        env.config_path().into(),
        "--db".into(),
        env.db_value(),
        "--station".into(),
        env.station.clone().into(),
        "--delivery".into(),
        "outbox".into(),
        "--outbox".into(),
        env.outbox_path().into(),
        "serve".into(),
    ];
    let cli = otpd::cli::parse(&args).expect("arguments");
    let vars = otpd::config::Env {
        secret_file: Some(env.secret_path()),
        fake_now: env.fake_now().map(|t| t.to_rfc3339()),
        ..Default::default()
    };
    let dirs = otpd::config::Dirs {
        config: env.home().join(".config/otpd"),
        data: env.home().join(".local/share/otpd"),
        state: env.home().join(".local/state/otpd"),
    };
    otpd::config::Config::load(&cli.global.overrides(), &vars, &dirs).expect("configuration")
}

/// The router in this process, with a runtime of its own to answer on.
pub struct Local {
    /// Dropped before the runtime, outside it (the PostgreSQL probe holds a blocking client).
    server: Option<otpd::serve::InProcess>,
    runtime: Option<tokio::runtime::Runtime>,
    lines: Lines,
}

impl Local {
    pub fn start(env: &Env) -> Local {
        let lines = Lines::default();
        let server = otpd::serve::InProcess::new(&config(env), Box::new(lines.clone()))
            .expect("the server's router");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Local {
            server: Some(server),
            runtime: Some(runtime),
            lines,
        }
    }

    pub fn service_sid(&self) -> &str {
        &self.server.as_ref().unwrap().service_sid
    }

    /// One request through the router, answered as the HTTP tests read answers.
    pub fn send(&self, method: &str, url: &str, key: Option<&Key>, form: &[(&str, &str)]) -> Reply {
        let path = url.strip_prefix(BASE).unwrap_or(url);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost");
        if let Some(k) = key {
            let pair =
                base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", k.sid, k.secret));
            req = req.header(header::AUTHORIZATION, format!("Basic {pair}"));
        }
        let body = if method == "POST" {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            form_body(form)
        } else {
            String::new()
        };
        let router = self.server.as_ref().unwrap().router.clone();
        let runtime = self.runtime.as_ref().unwrap();
        runtime.block_on(async move {
            let res = router
                .oneshot(req.body(Body::from(body)).unwrap())
                .await
                .unwrap();
            let status = res.status().as_u16();
            let retry_after = res
                .headers()
                .get(header::RETRY_AFTER)
                .map(|v| v.to_str().unwrap().to_string());
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
            Reply {
                status,
                retry_after,
                body,
            }
        })
    }

    /// Stops the server and returns its access log.
    pub fn finish(mut self) -> String {
        self.shut();
        String::from_utf8(self.lines.0.lock().unwrap().clone()).unwrap()
    }

    fn shut(&mut self) {
        drop(self.server.take()); // flushes the access log
        drop(self.runtime.take());
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        self.shut();
    }
}

/// `application/x-www-form-urlencoded`, as a client would write it.
fn form_body(form: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn in_process_a_code_is_sent_checked_once_and_each_request_logged_without_the_number() {
    let env = Env::new();
    let k = key(&env, "desk-1", "station");
    let server = Server::in_process(&env);
    let created = server.create(&k, US_E164);
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["status"], "pending");
    assert_eq!(created.body["to"], US_E164);
    assert_schema("verification", &created.body);
    let code = env.last_code(US_E164);
    let first = server.check(&k, US_E164, &code);
    assert_eq!(
        (first.status, &first.body["status"]),
        (200, &"approved".into())
    );
    assert_eq!(first.body["valid"], true);
    assert_error(&server.check(&k, US_E164, &code), 404, 20404);
    let (status, log) = server.stop();
    assert_eq!(status, 0);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "one line per request: {log}");
    assert!(
        lines[0].contains("/v2/Services/{ServiceSid}/Verifications") && lines[0].contains("201"),
        "{log}"
    );
    assert!(
        !log.contains("4155552671"),
        "no number in the access log: {log}"
    );
    assert_eq!(env.outbox().len(), 1, "one message sent");
}

#[test]
fn in_process_refusals_are_twilio_errors_and_change_nothing() {
    let env = Env::new();
    let k = key(&env, "desk-1", "station");
    let wrong = Key {
        sid: k.sid.clone(),
        secret: "not-the-secret".into(),
    };
    let server = Server::in_process(&env);
    let create = server.url("/Verifications");
    let to = [("To", US_E164), ("Channel", "sms")];
    assert_error(&server.post(&create, None, &to), 401, 20003);
    assert_error(&server.post(&create, Some(&wrong), &to), 401, 20003);
    let bad = server.post(&create, Some(&k), &[("To", "+1 555"), ("Channel", "sms")]);
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_schema("error", &bad.body);
    assert_error(
        &server.get(&format!("{}/no/such/route", server.base), Some(&k)),
        404,
        20404,
    );
    assert_eq!(
        server.get(&format!("{}/healthz", server.base), None).status,
        200
    );
    drop(server);
    assert!(env.outbox().is_empty(), "nothing sent");
    assert_eq!(env.query_i64("SELECT count(*) FROM challenges"), 0);
}

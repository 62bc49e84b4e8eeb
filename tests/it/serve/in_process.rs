//! `otpd serve`'s handlers driven in-process: the router over a temp store, each request sent
//! with tower's `oneshot` — no port, no child process, no stderr to scrape (the access log goes
//! to a buffer the test reads). The spawn-the-binary tests beside this file stay as smokes of
//! what only a real socket shows (deadlines, caps, signals, TLS).

use std::ffi::OsString;
use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use tower::ServiceExt;

use super::{Key, assert_schema, key};
use crate::harness::{Env, US_E164};

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

/// The installation's configuration, read the way the binary reads it (its flags and files),
/// without touching this process's environment.
fn config(env: &Env) -> otpd::config::Config {
    let arg = |p: std::path::PathBuf| OsString::from(p);
    let args: Vec<OsString> = vec![
        "otpd".into(),
        "--config".into(),
        arg(env.config_path()),
        "--db".into(),
        env.db_value(),
        "--station".into(),
        env.station.clone().into(),
        "--delivery".into(),
        "outbox".into(),
        "--outbox".into(),
        arg(env.outbox_path()),
        "serve".into(),
    ];
    let cli = otpd::cli::parse(&args).expect("arguments");
    let vars = otpd::config::Env {
        secret_file: Some(env.secret_path()),
        ..Default::default()
    };
    let dirs = otpd::config::Dirs {
        config: env.home().join(".config/otpd"),
        data: env.home().join(".local/share/otpd"),
        state: env.home().join(".local/state/otpd"),
    };
    otpd::config::Config::load(&cli.global.overrides(), &vars, &dirs).expect("configuration")
}

/// One request through the router: (status, JSON body or Null).
async fn send(
    router: &axum::Router,
    method: &str,
    path: &str,
    key: Option<&Key>,
    form: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let body: Vec<String> = form
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('+', "%2B").replace(' ', "+")))
        .collect();
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "localhost");
    if let Some(k) = key {
        let pair =
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", k.sid, k.secret));
        req = req.header(header::AUTHORIZATION, format!("Basic {pair}"));
    }
    if !form.is_empty() {
        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let res = router
        .clone()
        .oneshot(req.body(Body::from(body.join("&"))).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// Runs `body` with the router over `env`'s store on a tokio runtime of the test's own, and
/// returns the access log it wrote. The router is dropped outside the runtime, as `otpd serve`
/// drops it.
fn with_router<F, Fut>(env: &Env, body: F) -> String
where
    F: FnOnce(axum::Router, String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let lines = Lines::default();
    let server = otpd::serve::InProcess::new(&config(env), Box::new(lines.clone())).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(body(server.router.clone(), server.service_sid.clone()));
    drop(runtime);
    drop(server); // flushes the access log
    String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn in_process_a_code_is_sent_checked_once_and_each_request_logged_without_the_number() {
    let env = Env::new();
    let k = key(&env, "desk-1", "station");
    let log = with_router(&env, |router, sid| {
        let env = &env;
        let k = &k;
        async move {
            let base = format!("/v2/Services/{sid}");
            let (status, created) = send(
                &router,
                "POST",
                &format!("{base}/Verifications"),
                Some(k),
                &[("To", US_E164), ("Channel", "sms")],
            )
            .await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            assert_eq!(created["status"], "pending");
            assert_eq!(created["to"], US_E164);
            assert_schema("verification", &created);
            let code = env.last_code(US_E164);
            let check = |code: String| {
                let router = router.clone();
                let base = base.clone();
                async move {
                    send(
                        &router,
                        "POST",
                        &format!("{base}/VerificationCheck"),
                        Some(k),
                        &[("To", US_E164), ("Code", &code)],
                    )
                    .await
                }
            };
            let (status, first) = check(code.clone()).await;
            assert_eq!(
                (status, &first["status"]),
                (StatusCode::OK, &"approved".into())
            );
            assert_eq!(first["valid"], true);
            let (status, again) = check(code).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{again}");
            assert_eq!(again["code"], 20404, "{again}");
        }
    });
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
    with_router(&env, |router, sid| {
        let (k, wrong) = (&k, &wrong);
        async move {
            let create = format!("/v2/Services/{sid}/Verifications");
            let to = [("To", US_E164), ("Channel", "sms")];
            let (status, body) = send(&router, "POST", &create, None, &to).await;
            assert_eq!(
                (status, body["code"].as_u64()),
                (StatusCode::UNAUTHORIZED, Some(20003)),
                "{body}"
            );
            let (status, body) = send(&router, "POST", &create, Some(wrong), &to).await;
            assert_eq!(
                (status, body["code"].as_u64()),
                (StatusCode::UNAUTHORIZED, Some(20003)),
                "{body}"
            );
            let (status, body) = send(
                &router,
                "POST",
                &create,
                Some(k),
                &[("To", "+1 555"), ("Channel", "sms")],
            )
            .await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert_schema("error", &body);
            let (status, body) = send(&router, "GET", "/no/such/route", Some(k), &[]).await;
            assert_eq!(
                (status, body["code"].as_u64()),
                (StatusCode::NOT_FOUND, Some(20404)),
                "{body}"
            );
            let (status, _) = send(&router, "GET", "/healthz", None, &[]).await;
            assert_eq!(status, StatusCode::OK);
        }
    });
    assert!(env.outbox().is_empty(), "nothing sent");
    assert_eq!(env.query_i64("SELECT count(*) FROM challenges"), 0);
}

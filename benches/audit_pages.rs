//! Benchmark for the audit pages (issue 23) on the 1,000,000-event log `cargo bench --bench
//! audit` builds (run that first; OTPD_BENCH_ROWS as there): the router in this process over
//! that database, an auditor signed in, then each page timed on the server from request to the
//! last byte of its answer (best of 5, after one warm-up). Run: `cargo bench --bench
//! audit_pages`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;

const SECRET: &str = "otpd-audit-benchmark-secret-0123456789abcdef";

fn main() {
    let rows: i64 = std::env::var("OTPD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-audit");
    let db = dir.join(format!("audit-{rows}.db"));
    assert!(
        db.exists(),
        "run `cargo bench --bench audit` first: it builds {}",
        db.display()
    );
    let args: Vec<OsString> = vec![
        "otpd".into(),
        "--config".into(),
        dir.join("none.toml").into(),
        "--db".into(),
        db.clone().into(),
        "--station".into(),
        "bench".into(),
        "serve".into(),
    ];
    let cli = otpd::cli::parse(&args).expect("arguments");
    let vars = otpd::config::Env {
        secret: Some(SECRET.to_string().into()),
        ..Default::default()
    };
    let dirs = otpd::config::Dirs {
        config: dir.join("home/.config/otpd"),
        data: dir.join("home/.local/share/otpd"),
        state: dir.join("home/.local/state/otpd"),
    };
    let config = otpd::config::Config::load(&cli.global.overrides(), &vars, &dirs).expect("config");
    let key = otpd::app::App::for_process(config.clone())
        .expect("app")
        .create_key("hq", otpd::store::Role::Auditor)
        .expect("key");
    let server = otpd::serve::InProcess::with_pages(
        &config,
        Box::new(std::io::sink()),
        Some(otpd::pages::router),
    )
    .expect("router");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let send = |method: &str, path: &str, cookie: &str, form: String| {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost")
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        let router = server.router.clone();
        runtime.block_on(async move {
            let t = Instant::now();
            let res = router.oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let cookies: Vec<String> = res
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
                .collect();
            let body = axum::body::to_bytes(res.into_body(), 64 << 20)
                .await
                .unwrap();
            (t.elapsed(), status, cookies, body.len())
        })
    };
    let csrf = "c".repeat(64);
    let cookie = format!("otpd_audit_csrf={csrf}");
    let secret = secrecy::ExposeSecret::expose_secret(&key.secret).to_string();
    let (_, status, cookies, _) = send(
        "POST",
        "/audit/sign-in",
        &cookie,
        format!("csrf={csrf}&sid={}&secret={secret}", key.sid),
    );
    assert_eq!(status, 303, "sign-in");
    let session = cookies
        .into_iter()
        .find(|c| c.starts_with("otpd_audit="))
        .unwrap();
    let cookie = format!("{cookie}; {session}");
    println!("audit pages over {rows} events (server time, best of 5):");
    for path in [
        "/audit/?tz=UTC",
        "/audit/?tz=UTC&before=500000",
        "/audit/?tz=UTC&phone=%2B1+415+555+2671",
        "/audit/?tz=UTC&station=desk-3",
        "/audit/?tz=UTC&event=approved",
        "/audit/?tz=UTC&event=locked&event=rate_limited",
        "/audit/?tz=UTC&outcome=refused",
        "/audit/?tz=UTC&since=1d",
        "/audit/?tz=UTC&station=desk-3&until=20d",
        "/audit/stats?tz=UTC",
        "/audit/stats?tz=UTC&since=7d",
    ] {
        let (first, status, _, bytes) = send("GET", path, &cookie, String::new());
        assert_eq!(status, 200, "{path}");
        let best = (0..5)
            .map(|_| send("GET", path, &cookie, String::new()).0)
            .min()
            .unwrap_or(Duration::ZERO);
        println!(
            "{path:<52} {:>8.1} ms  (first: {:.1} ms, {bytes} bytes)",
            best.as_secs_f64() * 1000.0,
            first.as_secs_f64() * 1000.0
        );
    }
    drop(server);
    drop(runtime);
}

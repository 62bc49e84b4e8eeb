//! The web pages `otpd serve` serves beside its API (issue 22's kiosk page): their shared
//! plumbing checked in-process here, the kiosk in [`kiosk`] (in-process) and [`browser`] (a
//! real headless Chromium).

mod browser;
mod kiosk;

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, header};
use tower::ServiceExt;

use crate::harness::Env;

mod audit;
mod audit_browser;

/// A server in this process with the pages mounted, and a runtime to answer on.
pub struct Pages {
    server: Option<otpd::serve::InProcess>,
    runtime: Option<tokio::runtime::Runtime>,
    pub log: Arc<Mutex<Vec<u8>>>,
}

/// The access log's lines, shared with the test.
#[derive(Clone)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One answer: status, headers and body text.
pub struct Answer {
    pub status: u16,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

impl Pages {
    pub fn start(env: &Env) -> Pages {
        Pages::start_with(crate::serve::in_process::config(env))
    }

    /// With the clock read from `clock` (a file holding an RFC 3339 instant) at every look.
    pub fn start_on_clock(env: &Env, clock: &std::path::Path) -> Pages {
        let mut config = crate::serve::in_process::config(env);
        config.fake_now = None;
        config.fake_clock = Some(clock.to_path_buf());
        Pages::start_with(config)
    }

    fn start_with(config: otpd::config::Config) -> Pages {
        let log = Arc::new(Mutex::new(Vec::new()));
        let server = otpd::serve::InProcess::with_pages(
            &config,
            Box::new(Lines(log.clone())),
            Some(otpd::pages::router),
        )
        .expect("the server's router");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        Pages {
            server: Some(server),
            runtime: Some(runtime),
            log,
        }
    }

    /// One request: `cookie` sent as the Cookie header, `form` as an urlencoded body.
    pub fn send(&self, method: &str, path: &str, cookie: Option<&str>, form: &str) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "localhost");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        if method == "POST" {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req.body(Body::from(form.to_string())).unwrap();
        let router = self.server.as_ref().unwrap().router.clone();
        self.runtime.as_ref().unwrap().block_on(async move {
            let res = router.oneshot(req).await.unwrap();
            let status = res.status().as_u16();
            let headers = res.headers().clone();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            Answer {
                status,
                headers,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            }
        })
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        drop(self.server.take());
        drop(self.runtime.take());
    }
}

/// The headers every page and asset carries.
pub fn assert_secure_headers(a: &Answer) {
    let csp = a.header("content-security-policy");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "CSP lacks {part}: {csp}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(a.header("cache-control"), "no-store");
    assert_eq!(a.header("x-content-type-options"), "nosniff");
    assert_eq!(a.header("referrer-policy"), "no-referrer");
}

#[test]
fn pages_the_stylesheet_is_embedded_and_served_with_the_security_headers_and_logged() {
    let env = Env::new();
    let pages = Pages::start(&env);
    let css = pages.send("GET", "/assets/pages.css", None, "");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.body.contains("prefers-reduced-motion"), "{}", css.body);
    assert_secure_headers(&css);
    // The API beside it keeps its own answers (no page headers on them).
    let api = pages.send("GET", "/healthz", None, "");
    assert_eq!(api.status, 200);
    assert_eq!(api.header("content-security-policy"), "");
    let log = pages.log.clone();
    drop(pages); // flushes the access log
    let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
    assert!(log.contains("/assets/pages.css"), "{log}");
}

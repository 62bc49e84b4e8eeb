//! A real browser for the web pages' tests: Debian's `chromedriver` started on a free loopback
//! port, driving a headless Chromium with a fresh profile, through fantoccini (WebDriver).
//! [`Browser::start`] follows the one skip rule (`pg_server::skip`): without chromium,
//! chromedriver or axe-core (`npm ci` in tests/browser) it says `SKIPPED: …` and the test
//! passes — except under `CI=true`, `OTPD_REQUIRE_POSTGRES=1` or `OTPD_REQUIRE_BROWSER=1`,
//! where it fails. [`Browser::axe`] injects axe-core into the page and returns its serious and
//! critical violations; [`Browser::screenshot`] writes a PNG.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// axe-core as `npm ci` installs it from tests/browser/package-lock.json.
pub fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/node_modules/axe-core/axe.min.js")
}

/// Whether a browser test may not skip here.
fn required() -> bool {
    std::env::var("OTPD_REQUIRE_BROWSER").as_deref() == Ok("1")
}

/// Skips through the one rule (and fails with `OTPD_REQUIRE_BROWSER=1` too).
#[track_caller]
fn skip(why: &str) {
    assert!(
        !required(),
        "cannot run here under OTPD_REQUIRE_BROWSER=1: {why}"
    );
    crate::pg_server::skip(why);
}

/// A chromedriver process, killed (and its Chromium with it) on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a browser is started with.
#[derive(Clone, Copy)]
pub struct Options {
    /// JavaScript on (the default) or off.
    pub javascript: bool,
    /// The window's size in CSS px (a portrait kiosk screen by default).
    pub size: (u32, u32),
}

impl Default for Options {
    fn default() -> Options {
        Options {
            javascript: true,
            size: (800, 1280),
        }
    }
}

/// One headless Chromium session.
pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
    _driver: Driver,
}

impl Browser {
    /// A browser, or `None` after skipping (a failure where browser tests must run).
    pub async fn start() -> Option<Browser> {
        Browser::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Option<Browser> {
        for (path, what) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            if !Path::new(path).exists() {
                skip(&format!("no {path} (apt-get install {what})"));
                return None;
            }
        }
        if !axe_path().exists() {
            skip("no axe-core (run npm ci in tests/browser)");
            return None;
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let driver = Driver { child, port };
        wait_for_port(port);
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={},{}", options.size.0, options.size.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"binary": CHROMIUM, "args": args}),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session on chromedriver");
        Some(Browser {
            client,
            _profile: profile,
            _driver: driver,
        })
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The page's visible text (empty while a navigation replaces the page: a redirect, or a
    /// script sending the browser on, leaves no body for a moment).
    pub async fn text(&self) -> String {
        match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits (polling, at most 10 s) until the page's text contains `needle`; the text.
    pub async fn wait_text(&self, needle: &str) -> String {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let text = self.text().await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < until,
                "the page never said {needle:?}; it says:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into the element `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.client.find(Locator::Css(css)).await.expect(css);
        e.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        let e = self.client.find(Locator::Css(css)).await.expect(css);
        e.click().await.expect("click");
    }

    /// Runs `script` in the page.
    pub async fn run(&self, script: &str) -> Value {
        self.client.execute(script, vec![]).await.expect("script")
    }

    /// Injects axe-core and runs it on the page: the serious and critical violations, each as
    /// `id: help (nodes)`.
    pub async fn axe(&self) -> Vec<String> {
        let source = std::fs::read_to_string(axe_path()).expect("axe.min.js");
        self.client
            .execute(&source, vec![])
            .await
            .expect("inject axe-core");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, {resultTypes: ['violations']})\
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,\
                        nodes: v.nodes.map(n => n.target.join(' '))}))))\
                    .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
                vec![],
            )
            .await
            .expect("run axe-core");
        result
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| format!("{}: {} ({})", v["id"], v["help"], v["nodes"]))
            .collect()
    }

    /// A PNG of the window, written to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("screenshot dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the session (the driver and Chromium stop on drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Waits (at most 10 s) for chromedriver to accept connections.
fn wait_for_port(port: u16) {
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

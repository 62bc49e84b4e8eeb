//! The kiosk page's costs (issue 22), in one run against the release binary serving on
//! 127.0.0.1 with the OWASP argon2 parameters, SQLite and the outbox: bytes per screen (HTML,
//! the stylesheet and the script the screen loads), the server's time per page view (the device
//! check — a keyed hash and two store reads — and the render) and per form post, next to the
//! bare argon2id verify that dominates a code check, and — when Debian's chromium and
//! chromedriver are installed — the time to first render in headless Chromium (first
//! contentful paint, median of 20 loads). Prints markdown. Run: `cargo bench --bench pages`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use otpd::crypto::HashParams;

use common::{CODE, Fixture};

const RUNS: usize = 200;

struct Server {
    child: Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn otpd(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_otpd"));
    c.env_clear()
        .env("HOME", dir)
        .env("OTPD_CONFIG", dir.join("otpd.toml"))
        .env("OTPD_DB", dir.join("otpd.db"))
        .env("OTPD_DELIVERY", "outbox")
        .env("OTPD_OUTBOX", dir.join("outbox.jsonl"))
        .env("OTPD_SECRET_FILE", dir.join("secret.key"))
        .env("OTPD_STATION", "lobby");
    c
}

/// A server with two kiosk keys; their enrolment tokens.
fn start() -> (Server, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("otpd.toml"),
        "[phone]\ndefault_region = \"US\"\n[kiosk]\nlocales = [\"en\", \"es\"]\nchannels = [\"sms\", \"call\"]\n\
         [policy]\nmax_attempts = 100\n[limits]\nmax_failures_per_number = 100\n",
    )
    .unwrap();
    let out = otpd(dir.path())
        .args([
            "keys",
            "create",
            "--station",
            "lobby",
            "--role",
            "kiosk",
            "--json",
        ])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = j["enrol_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    // A second kiosk for the browser.
    let out = otpd(dir.path())
        .args([
            "keys",
            "create",
            "--station",
            "lobby-2",
            "--role",
            "kiosk",
            "--json",
        ])
        .output()
        .unwrap();
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let browser_token = j["enrol_url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let mut child = otpd(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap().replace("listening on ", "");
    let _service = lines.next();
    (Server { child, base, dir }, token, browser_token)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..at + 64].to_string()
}

fn main() {
    // reqwest is built without a default TLS provider (the binary picks ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (server, token, browser_token) = start();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |tail: &str| format!("{}{tail}", server.base);
    let enrolled = http
        .get(url(&format!("/kiosk/enrol/{token}")))
        .send()
        .unwrap();
    let cookie = enrolled.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let get = |tail: &str| -> String {
        http.get(url(tail))
            .header("cookie", &cookie)
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let post = |fields: &[(&str, &str)]| {
        let page = get("/kiosk/");
        let mut form: Vec<(&str, String)> = vec![("csrf", csrf(&page))];
        form.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
        let r = http
            .post(url("/kiosk/"))
            .header("cookie", &cookie)
            .form(&form)
            .send()
            .unwrap();
        assert_eq!(r.status(), 303);
    };
    let css = get("/assets/pages.css").len();
    let js = get("/assets/kiosk.js").len();

    // Bytes per screen: walk the flow.
    let mut screens = Vec::new();
    let mut screen = |name: &str, html: String, script: bool| {
        screens.push((
            name.to_string(),
            html.len(),
            css + if script { js } else { 0 },
        ));
    };
    screen("language", get("/kiosk/"), true);
    post(&[("action", "language"), ("lang", "en")]);
    screen("number", get("/kiosk/"), true);
    post(&[("action", "phone"), ("phone", "(415) 555-2671")]);
    screen("channel", get("/kiosk/"), true);
    post(&[("action", "channel"), ("channel", "sms")]);
    screen("code", get("/kiosk/"), true);
    post(&[("action", "code"), ("code", "000000")]);
    screen("wrong code", get("/kiosk/"), true);
    let outbox = std::fs::read_to_string(server.dir.path().join("outbox.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(outbox.lines().last().unwrap()).unwrap();
    let code = last["code"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            let body = last["body"].as_str().unwrap_or_default();
            body.chars().filter(char::is_ascii_digit).take(6).collect()
        });
    post(&[("action", "code"), ("code", &code)]);
    screen("verified", get("/kiosk/"), true);
    let oos = http.get(url("/kiosk/")).send().unwrap().text().unwrap();
    screen("out of service", oos, false);

    // Server time per page view (GET /kiosk/ with the device cookie) and per form post (a
    // step that calls no use case: the device check, the CSRF check, the redirect).
    let time = |f: &dyn Fn()| {
        let mut t: Vec<f64> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        t.sort_by(f64::total_cmp);
        (pct(&t, 0.5), pct(&t, 0.9))
    };
    let view = time(&|| {
        let r = http
            .get(url("/kiosk/"))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes();
    });
    let page = get("/kiosk/");
    let token = csrf(&page);
    let more = time(&|| {
        let r = http
            .post(url("/kiosk/"))
            .header("cookie", &cookie)
            .form(&[("csrf", token.as_str()), ("action", "more")])
            .send()
            .unwrap();
        assert_eq!(r.status(), 303);
    });
    // A wrong code posted: the use case, its argon2id verify, the audit row.
    post(&[("action", "restart")]);
    post(&[("action", "language"), ("lang", "en")]);
    post(&[("action", "phone"), ("phone", "(202) 555-0123")]);
    post(&[("action", "channel"), ("channel", "sms")]);
    let page = get("/kiosk/");
    let token = csrf(&page);
    let mut wrong: Vec<f64> = (0..50)
        .map(|_| {
            let start = Instant::now();
            let r = http
                .post(url("/kiosk/"))
                .header("cookie", &cookie)
                .form(&[
                    ("csrf", token.as_str()),
                    ("action", "code"),
                    ("code", "000000"),
                ])
                .send()
                .unwrap();
            assert_eq!(r.status(), 303);
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    wrong.sort_by(f64::total_cmp);
    let fx = Fixture::new(HashParams::OWASP);
    let mut bare: Vec<f64> = (0..50)
        .map(|_| {
            let start = Instant::now();
            assert!(fx.bare_verify(CODE));
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    bare.sort_by(f64::total_cmp);

    println!("| screen | HTML bytes | + CSS and script | total | ≤ 100 KiB? |");
    println!("|---|---:|---:|---:|---|");
    for (name, html, assets) in &screens {
        let total = html + assets;
        let ok = if total <= 100 * 1024 { "yes" } else { "no" };
        println!("| {name} | {html} | {assets} | {total} | {ok} |");
    }
    println!();
    println!(
        "| server work (loopback HTTP, {RUNS} runs; wrong code and bare hash: 50) | median ms | p90 ms |"
    );
    println!("|---|---:|---:|");
    println!(
        "| page view: GET /kiosk/ (device check + render) | {:.2} | {:.2} |",
        view.0, view.1
    );
    println!(
        "| form post without a use case (device + CSRF check, 303) | {:.2} | {:.2} |",
        more.0, more.1
    );
    println!(
        "| form post of a wrong code (use case, argon2id verify, audit row) | {:.2} | {:.2} |",
        pct(&wrong, 0.5),
        pct(&wrong, 0.9)
    );
    println!(
        "| bare argon2id verify (OWASP: 19 MiB, 2 passes), in process | {:.2} | {:.2} |",
        pct(&bare, 0.5),
        pct(&bare, 0.9)
    );
    first_render(&server.base, &browser_token);
}

/// First contentful paint of /kiosk/ in headless Chromium (needs /usr/bin/chromedriver).
fn first_render(base: &str, enrol_token: &str) {
    if !std::path::Path::new("/usr/bin/chromedriver").exists() {
        println!("\n(no chromedriver: time to first render not measured)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut driver = Command::new("/usr/bin/chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let fcp: Vec<f64> = rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"binary": "/usr/bin/chromium", "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=800,1280", format!("--user-data-dir={}", profile.path().display())]}),
        );
        let c = fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .unwrap();
        c.goto(&format!("{base}/kiosk/enrol/{enrol_token}")).await.unwrap();
        let mut out = Vec::new();
        for _ in 0..20 {
            c.goto(&format!("{base}/kiosk/")).await.unwrap();
            let v = c
                .execute(
                    "const e = performance.getEntriesByName('first-contentful-paint')[0]; return e ? e.startTime : -1;",
                    vec![],
                )
                .await
                .unwrap();
            out.push(v.as_f64().unwrap_or(-1.0));
        }
        let _ = c.close().await;
        out
    });
    let _ = driver.kill();
    let _ = driver.wait();
    let mut fcp: Vec<f64> = fcp.into_iter().filter(|v| *v >= 0.0).collect();
    fcp.sort_by(f64::total_cmp);
    if fcp.is_empty() {
        println!("\n(first contentful paint not reported)");
        return;
    }
    println!(
        "\nTime to first render (first contentful paint of /kiosk/, headless Chromium, {} loads): median {:.0} ms, p90 {:.0} ms.",
        fcp.len(),
        pct(&fcp, 0.5),
        pct(&fcp, 0.9)
    );
}

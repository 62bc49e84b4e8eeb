//! `otpd serve`'s HTTP API (issue 14), checking every body against Twilio's OpenAPI schemas
//! (tests/fixtures/twilio/verify-v2.openapi.json). The handlers' answers are tested in-process
//! ([`Server::in_process`]: the router over a temp store, no port, no child — errors, params,
//! roles, key seals, the master secret, part of flow, `in_process`); what only a socket or a
//! process shows (deadlines, caps, signals, TLS, kill -9, two servers, the flow's whole stderr,
//! and the authorisation matrix, which counts the process's argon2 hashes) spawns the binary
//! ([`Server::start`]:
//! it listens on `127.0.0.1:0`, says where on stdout, and the tests talk to it with a blocking
//! HTTP client and Basic credentials).

mod deadlines;
mod errors;
mod flow;
mod guards;
mod hostile;
pub mod in_process;
mod key_seals;
mod locks;
mod log;
mod master_secret;
mod matrix;
mod params;
mod reconnect;
mod roles;
mod tls;
mod two_servers;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use serde_json::Value;

use crate::harness::Env;

/// A running server; SIGTERM'd (and reaped) on drop.
pub struct Server {
    /// The spawned binary, or `None` for a server in this process.
    child: Option<Child>,
    /// The router in this process ([`Server::in_process`]).
    local: Option<in_process::Local>,
    pub base: String,
    pub service: String,
    /// The HTTP client of a spawned server.
    http: Option<reqwest::blocking::Client>,
    reaped: std::sync::atomic::AtomicBool,
    /// Reads stderr as it comes, so that `stop` can return the log.
    log: Option<std::thread::JoinHandle<String>>,
    /// With [`Server::start_unread`]: stderr's pipe, held open and never read.
    _unread: Option<std::process::ChildStderr>,
}

/// A key as `otpd keys create --json` printed it.
#[derive(Clone)]
pub struct Key {
    pub sid: String,
    pub secret: String,
}

/// One answer: status, `Retry-After`, JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

pub fn key(env: &Env, station: &str, role: &str) -> Key {
    let run = env.run(&[
        "keys",
        "create",
        "--station",
        station,
        "--role",
        role,
        "--json",
    ]);
    let j = run.ok().json();
    assert_eq!(j["outcome"], "key_created", "{run:?}");
    assert_eq!(j["role"], role);
    Key {
        sid: j["sid"].as_str().unwrap().into(),
        secret: j["secret"].as_str().unwrap().into(),
    }
}

impl Server {
    pub fn start(env: &Env) -> Server {
        // reqwest is built without a default TLS provider (the binary picks ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Server::start_with(env, reqwest::blocking::Client::new())
    }

    /// [`Server::start`] with this client (e.g. one trusting a test certificate).
    pub fn start_with(env: &Env, http: reqwest::blocking::Client) -> Server {
        Server::spawn(env, http, true)
    }

    /// [`Server::start`] with a stderr pipe that nobody reads: it fills (4 KiB) and stays full.
    pub fn start_unread(env: &Env) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Server::spawn(env, reqwest::blocking::Client::new(), false)
    }

    /// [`Server::start`] with more `otpd serve` arguments (e.g. `--log-format json`).
    pub fn start_args(env: &Env, args: &[&str]) -> Server {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Server::spawn_args(env, reqwest::blocking::Client::new(), true, args)
    }

    fn spawn(env: &Env, http: reqwest::blocking::Client, read_log: bool) -> Server {
        Server::spawn_args(env, http, read_log, &[])
    }

    fn spawn_args(
        env: &Env,
        http: reqwest::blocking::Client,
        read_log: bool,
        args: &[&str],
    ) -> Server {
        let mut child = env
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn otpd serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a line").expect("utf-8");
        let base = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        let second = lines.next().expect("a line").expect("utf-8");
        let service = second.strip_prefix("service ").unwrap().to_string();
        let mut err = child.stderr.take().unwrap();
        let (log, unread) = if read_log {
            let reader = std::thread::spawn(move || {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut err, &mut text);
                text
            });
            (Some(reader), None)
        } else {
            // The smallest pipe the kernel allows (a page), so a test fills it quickly.
            // SAFETY: fcntl(2) on a pipe descriptor this process owns.
            unsafe {
                libc::fcntl(
                    std::os::fd::AsRawFd::as_raw_fd(&err),
                    libc::F_SETPIPE_SZ,
                    4096,
                )
            };
            (None, Some(err))
        };
        Server {
            log,
            _unread: unread,
            child: Some(child),
            local: None,
            base,
            service,
            http: Some(http),
            reaped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The router of `otpd serve` over `env`'s store in this process: the same handlers, pool
    /// and probe, requests sent with tower's `oneshot`, the access log kept in a buffer
    /// ([`Server::stop`] returns it). No port, no child process.
    pub fn in_process(env: &Env) -> Server {
        let local = in_process::Local::start(env);
        Server {
            base: in_process::BASE.to_string(),
            service: local.service_sid().to_string(),
            child: None,
            local: Some(local),
            http: None,
            reaped: std::sync::atomic::AtomicBool::new(true),
            log: None,
            _unread: None,
        }
    }

    pub fn url(&self, tail: &str) -> String {
        format!("{}/v2/Services/{}{tail}", self.base, self.service)
    }

    fn send(&self, rb: reqwest::blocking::RequestBuilder, key: Option<&Key>) -> Reply {
        let rb = match key {
            Some(k) => rb.basic_auth(&k.sid, Some(&k.secret)),
            None => rb,
        };
        let r = rb.send().expect("HTTP request");
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let text = r.text().unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            retry_after,
            body,
        }
    }

    pub fn post(&self, url: &str, key: Option<&Key>, form: &[(&str, &str)]) -> Reply {
        if let Some(local) = &self.local {
            return local.send("POST", url, key, form);
        }
        self.send(self.client().post(url).form(form), key)
    }

    pub fn get(&self, url: &str, key: Option<&Key>) -> Reply {
        if let Some(local) = &self.local {
            return local.send("GET", url, key, &[]);
        }
        self.send(self.client().get(url), key)
    }

    pub fn create(&self, key: &Key, to: &str) -> Reply {
        self.post(
            &self.url("/Verifications"),
            Some(key),
            &[("To", to), ("Channel", "sms")],
        )
    }

    pub fn check(&self, key: &Key, to: &str, code: &str) -> Reply {
        self.post(
            &self.url("/VerificationCheck"),
            Some(key),
            &[("To", to), ("Code", code)],
        )
    }

    /// The value of one unlabelled series in `GET /metrics`.
    pub fn metric(&self, name: &str) -> f64 {
        let m = self.get(&format!("{}/metrics", self.base), None);
        let text = m.body.as_str().unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    pub fn pid(&self) -> u32 {
        self.child().id()
    }

    fn client(&self) -> &reqwest::blocking::Client {
        self.http.as_ref().expect("a spawned server's client")
    }

    fn child(&self) -> &Child {
        self.child
            .as_ref()
            .expect("a spawned server (Server::start), not an in-process one")
    }

    /// Waits for the server to exit and returns its status (for scoped threads, which hold
    /// only `&self`); the `Drop` then has nothing left to do.
    pub fn wait(&self) -> (i32, String) {
        let mut raw = 0;
        // SAFETY: waitpid(2) on our own child, with a valid pointer to an int.
        let reaped = unsafe { libc::waitpid(self.child().id() as i32, &mut raw, 0) };
        self.reaped.store(true, std::sync::atomic::Ordering::SeqCst);
        let status = if reaped > 0 && libc::WIFEXITED(raw) {
            libc::WEXITSTATUS(raw)
        } else {
            -1
        };
        (status, String::new())
    }

    /// SIGTERM, then the exit status and everything logged on stderr.
    pub fn stop(mut self) -> (i32, String) {
        self.terminate()
    }

    fn terminate(&mut self) -> (i32, String) {
        if let Some(local) = self.local.take() {
            return (0, local.finish());
        }
        let child = self.child.as_mut().expect("a spawned server");
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let status = child.wait().expect("wait");
        let err = self
            .log
            .take()
            .map(|h| h.join().expect("stderr reader"))
            .unwrap_or_default();
        (status.code().unwrap_or(-1), err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if !self.reaped.load(std::sync::atomic::Ordering::SeqCst)
            && self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_none())
        {
            let _ = self.terminate();
        }
    }
}

/// The OpenAPI 3.0 description as JSON Schema: `nullable` becomes a `null` type.
fn nullable(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("nullable") == Some(&Value::Bool(true)) {
                match m.get("type").cloned() {
                    Some(Value::String(t)) => {
                        m.insert("type".into(), serde_json::json!([t, "null"]));
                    }
                    // Untyped or a `$ref`: anything, or null.
                    _ => {
                        if let Some(r) = m.remove("$ref") {
                            m.insert(
                                "anyOf".into(),
                                serde_json::json!([{"$ref": r}, {"type": "null"}]),
                            );
                        }
                    }
                }
            }
            m.values_mut().for_each(nullable);
        }
        Value::Array(a) => a.iter_mut().for_each(nullable),
        _ => {}
    }
}

/// Asserts `body` matches the named component schema (`verification`, `verification_check`)
/// or, for `error`, the error object of the create operation's 429.
#[track_caller]
pub fn assert_schema(which: &str, body: &Value) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/twilio/verify-v2.openapi.json"
    ))
    .unwrap();
    let mut spec: Value = serde_json::from_str(&text).unwrap();
    nullable(&mut spec);
    let mut schema =
        match which {
            "error" => {
                spec["paths"]["/v2/Services/{ServiceSid}/Verifications"]["post"]["responses"]["429"]
                    ["content"]["application/json"]["schema"]
                    .clone()
            }
            name => {
                serde_json::json!({"$ref": format!("#/components/schemas/verify.v2.service.{name}")})
            }
        };
    schema["components"] = spec["components"].clone();
    if which == "error" {
        schema["required"] = serde_json::json!(["code", "message", "more_info", "status"]);
    }
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{which} body {body} does not match: {errors:?}"
    );
}

/// Asserts a Twilio error answer with this HTTP status and code, valid against the schema.
#[track_caller]
pub fn assert_error(r: &Reply, status: u16, code: u64) {
    assert_eq!(
        (r.status, r.body["code"].as_u64()),
        (status, Some(code)),
        "{r:?}"
    );
    assert_eq!(r.body["status"].as_u64(), Some(status as u64), "{r:?}");
    assert_schema("error", &r.body);
}

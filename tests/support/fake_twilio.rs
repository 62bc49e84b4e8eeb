//! The one fake Twilio, shared by the tests (tests/it) and the benches (benches/common): a small
//! HTTP/1.1 server on 127.0.0.1:0 in a thread, answering from a script (or with one standing
//! answer) and recording every request (method, path, headers, form body), plus Twilio's own
//! OpenAPI description of Create Message (vendored in tests/fixtures/twilio) to check the
//! requests otpd makes and to build the responses it must understand.

#![allow(dead_code)]

use std::collections::VecDeque;

use base64::Engine;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read the request and never answer (until the client hangs up).
    Hang,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Http {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string(),
        }
    }

    /// Twilio's error body: `code`, `message`, `more_info`, `status`.
    pub fn error(status: u16, code: u32, message: &str) -> Reply {
        Reply::json(
            status,
            serde_json::json!({
                "code": code,
                "message": message,
                "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
                "status": status,
            }),
        )
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Http { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The form body, decoded, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// The decoded `Authorization: Basic` user and password.
    pub fn basic_auth(&self) -> Option<(String, String)> {
        let encoded = self.header("authorization")?.strip_prefix("Basic ")?;
        let decoded = String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()?,
        )
        .ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    }

    /// The digits of the code in the SMS/WhatsApp `Body` or the call's `Twiml`.
    pub fn code(&self) -> String {
        if let Some(body) = self.field("Body") {
            let start = body.find("code is ").expect("code in Body") + "code is ".len();
            body[start..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect()
        } else {
            let twiml = self.field("Twiml").expect("Body or Twiml");
            // The digits follow the first pause, in a `<Say>` that may name its language.
            let marker = "</Say><Pause length=\"1\"/><Say";
            let start = twiml.find(marker).expect("digits") + marker.len();
            let start = start + twiml[start..].find('>').expect("end of <Say>") + 1;
            twiml[start..]
                .chars()
                .take_while(|c| *c != '<')
                .filter(char::is_ascii_digit)
                .collect()
        }
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    /// The answer once the script is exhausted (a 500 when `None`).
    standing: Option<Reply>,
    requests: Vec<Recorded>,
}

/// The running fake. The server thread lives as long as the test process.
pub struct FakeTwilio {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl FakeTwilio {
    pub fn start() -> FakeTwilio {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        FakeTwilio { port, state }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Queues the next answer.
    pub fn reply(&self, r: Reply) -> &Self {
        self.state.lock().unwrap().script.push_back(r);
        self
    }

    /// Answers `r` to every request the script does not cover (the benches' endless sends).
    pub fn always(&self, r: Reply) -> &Self {
        self.state.lock().unwrap().standing = Some(r);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let reply = {
        let mut s = state.lock().unwrap();
        s.requests.push(Recorded {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            at: Instant::now(),
        });
        let standing = s.standing.clone();
        s.script.pop_front().or(standing).unwrap_or_else(|| {
            Reply::json(
                500,
                serde_json::json!({"code": 20500, "message": "fake Twilio: script exhausted", "status": 500}),
            )
        })
    };
    match reply {
        Reply::Hang => {
            // Hold the connection open until the client gives up.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        }
        Reply::Http {
            status,
            headers,
            body,
        } => {
            let mut out = format!("HTTP/1.1 {status} Fake\r\n");
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ));
            let mut stream = reader.into_inner();
            let _ = stream.write_all(out.as_bytes());
            let _ = stream.flush();
        }
    }
}

/// Twilio's OpenAPI description of Create Message, vendored with its SOURCE.md.
pub fn spec() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/twilio/messages-create.openapi.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("vendored Twilio spec"))
        .expect("spec is JSON")
}

pub const MESSAGES_PATH: &str = "/2010-04-01/Accounts/{AccountSid}/Messages.json";

fn create_message(spec: &serde_json::Value) -> &serde_json::Value {
    &spec["paths"][MESSAGES_PATH]["post"]
}

/// The `CreateMessageRequest` schema.
pub fn create_message_request(spec: &serde_json::Value) -> &serde_json::Value {
    &create_message(spec)["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
}

/// The spec's `201` examples, by name.
pub fn created_examples(spec: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    create_message(spec)["responses"]["201"]["content"]["application/json"]["examples"]
        .as_object()
        .expect("201 examples")
        .iter()
        .map(|(k, v)| (k.clone(), v["value"].clone()))
        .collect()
}

/// A `201` built from the spec's first example, with our SID, status and recipient.
pub fn created(sid: &str, status: &str, to: &str) -> Reply {
    let spec = spec();
    let mut v = created_examples(&spec)
        .into_iter()
        .find(|(k, _)| k == "create")
        .expect("the create example")
        .1;
    v["sid"] = sid.into();
    v["status"] = status.into();
    v["to"] = to.into();
    Reply::json(201, v)
}

/// Checks a recorded Create Message request against Twilio's description: the path and its
/// `AccountSid` pattern, HTTP Basic auth, the form content type, every field a property of
/// `CreateMessageRequest` with the declared type and pattern, required fields present, plus the
/// rules the schema cannot express (From or MessagingServiceSid; a Body).
#[track_caller]
pub fn assert_conforms_to_create_message(r: &Recorded) {
    let spec = spec();
    assert_eq!(r.method, "POST");
    let account = r
        .path
        .strip_prefix("/2010-04-01/Accounts/")
        .and_then(|p| p.strip_suffix("/Messages.json"))
        .unwrap_or_else(|| panic!("path {} is not {MESSAGES_PATH}", r.path));
    assert!(
        account.len() == 34
            && account.starts_with("AC")
            && account[2..].chars().all(|c| c.is_ascii_hexdigit()),
        "AccountSid {account} does not match ^AC[0-9a-fA-F]{{32}}$"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["accountSid_authToken"]["scheme"],
        "basic"
    );
    assert!(r.basic_auth().is_some(), "no Basic auth: {r:?}");
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")),
        "{r:?}"
    );
    let schema = create_message_request(&spec);
    assert_eq!(schema["title"], "CreateMessageRequest");
    let props = schema["properties"].as_object().expect("properties");
    let form = r.form();
    for (k, v) in &form {
        let prop = props
            .get(k)
            .unwrap_or_else(|| panic!("{k} is not a CreateMessageRequest field"));
        match prop["type"].as_str() {
            Some("integer") => assert!(v.parse::<i64>().is_ok(), "{k}={v} is not an integer"),
            Some("string") => {}
            other => panic!("unexpected type {other:?} for {k}"),
        }
        if let Some(p) = prop["pattern"].as_str() {
            // The SID patterns are all ^XX[0-9a-fA-F]{32}$.
            let prefix = &p[1..3];
            assert!(
                v.len() == 34
                    && v.starts_with(prefix)
                    && v[2..].chars().all(|c| c.is_ascii_hexdigit()),
                "{k}={v} does not match {p}"
            );
        }
    }
    for req in schema["required"].as_array().expect("required") {
        let name = req.as_str().unwrap();
        assert!(form.iter().any(|(k, _)| k == name), "{name} is required");
    }
    assert!(
        form.iter()
            .any(|(k, _)| k == "From" || k == "MessagingServiceSid"),
        "From or MessagingServiceSid is required (Twilio error 21603)"
    );
    assert!(form.iter().any(|(k, _)| k == "Body"), "a Body is required");
    let validity: i64 = r
        .field("ValidityPeriod")
        .expect("ValidityPeriod")
        .parse()
        .unwrap();
    assert!(
        (1..=36_000).contains(&validity),
        "ValidityPeriod {validity} outside 1..=36000"
    );
}

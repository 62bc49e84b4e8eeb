//! The station boundary, generated from the server's own route table (`otpd::serve::ROUTES`) and
//! request list (the variants `/otpd/v1/execute` accepts): every endpoint and every request kind,
//! for each role — the owning station's key, another station's key, an auditor key, an admin
//! key — against one pending verification of the owning station, with the expected answer for
//! each. A route or request kind this table does not state fails the test, so none can be added
//! without being covered. Another station must get exactly what an unknown number (or SID) gets:
//! the same status, the same body, the same number of argon2 hashes, and the owner's verification
//! unchanged.

use serde_json::{Value, json};

use super::{Key, Reply, Server, key};
use crate::harness::{Env, US_E164, US2_E164};

/// No limit gets in the way of the calls (each cell re-creates the owner's verification).
const CONFIG: &str = "[policy]\nmax_attempts = 100\nresend_cooldown_seconds = 0\n\
     [limits]\nper_number_per_hour = 1000000\nper_number_per_day = 1000000\n\
     per_prefix_per_hour = 1000000\nper_station_per_hour = 1000000\nglobal_per_hour = 1000000\n\
     min_conversion = 0\nmax_failures_per_number = 100\n";

/// The number the owner is verifying, and one nobody is.
const P: &str = US_E164;
const UNKNOWN: &str = US2_E164;
/// A well-formed SID no verification has.
const UNKNOWN_SID: &str = "VE00000000000000000000000000000000";
/// A well-formed rate limit SID no rate limit has.
const UNKNOWN_RATE_LIMIT: &str = "RK00000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Owner,
    Other,
    Auditor,
    Admin,
    /// A kiosk key of the owner's station (issue 22), presenting its real secret (which no
    /// command ever shows): only its enrolled browser acts as it, so every API route refuses it.
    Kiosk,
}

const EVERYONE: [Who; 5] = [Who::Auditor, Who::Other, Who::Admin, Who::Owner, Who::Kiosk];

/// One call: method, URL tail and form (`{P}` and `{SID}` filled in).
struct Call {
    method: &'static str,
    url: String,
    form: Vec<(String, String)>,
}

struct World {
    env: Env,
    server: Server,
    owner: Key,
    other: Key,
    auditor: Key,
    admin: Key,
    kiosk: Key,
}

impl World {
    fn new() -> World {
        let env = Env::with_config(CONFIG);
        let owner = key(&env, "desk-1", "station");
        let other = key(&env, "desk-2", "station");
        let auditor = key(&env, "audit", "auditor");
        let admin = key(&env, "hq", "admin");
        let kiosk = {
            use secrecy::ExposeSecret;
            let config = super::in_process::config(&env);
            let mut app = otpd::app::App::for_process(config).expect("the store");
            let k = app
                .create_key("desk-1", otpd::domain::Role::Kiosk)
                .expect("a kiosk key");
            Key {
                sid: k.sid,
                secret: k.secret.expose_secret().to_string(),
            }
        };
        // A process of its own: the cells count argon2 hashes in `/metrics`, a per-process
        // counter that in-process tests running beside this one would move.
        let server = Server::start(&env);
        World {
            env,
            server,
            owner,
            other,
            auditor,
            admin,
            kiosk,
        }
    }

    fn key(&self, who: Who) -> &Key {
        match who {
            Who::Owner => &self.owner,
            Who::Other => &self.other,
            Who::Auditor => &self.auditor,
            Who::Admin => &self.admin,
            Who::Kiosk => &self.kiosk,
        }
    }

    /// The owner's pending verification of P (renewed, or started anew); its SID.
    fn pending(&self) -> String {
        let r = self.server.create(&self.owner, P);
        assert_eq!(r.status, 201, "{r:?}");
        r.body["sid"].as_str().unwrap().to_string()
    }

    /// The owner's newest verification as stored: what another station must never change.
    fn owner_row(&self) -> Vec<String> {
        self.env.query_strings(
            "SELECT id || ' ' || state || ' ' || attempts || ' ' || resends || ' ' || generation
             FROM challenges WHERE station = 'desk-1' ORDER BY id DESC LIMIT 1",
        )
    }

    fn hashes(&self) -> f64 {
        self.server.metric("otpd_argon2_hashes_total")
    }

    fn send(&self, call: &Call, who: Who) -> Reply {
        let url = format!("{}{}", self.server.base, call.url);
        let form: Vec<(&str, &str)> = call
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match call.method {
            "GET" => self.server.get(&url, Some(self.key(who))),
            "DELETE" => self.server.delete(&url, Some(self.key(who))),
            _ => self.server.post(&url, Some(self.key(who)), &form),
        }
    }
}

/// Fills a route's template for this server, the owner's SID and the number.
fn fill(text: &str, service: &str, sid: &str, phone: &str) -> String {
    text.replace("{ServiceSid}", service)
        .replace("{Sid}", sid)
        .replace("{SID}", sid)
        .replace("{RateLimitSid}", UNKNOWN_RATE_LIMIT)
        .replace("{P}", phone)
}

/// The calls one route stands for (some routes take several shapes of form).
fn calls_for_route(
    method: &'static str,
    path: &'static str,
) -> Vec<(String, Vec<(&'static str, &'static str)>)> {
    let name = |suffix: &str| format!("{method} {path}{suffix}");
    match (method, path) {
        ("POST", "/v2/Services/{ServiceSid}/Verifications") => {
            vec![(name(""), vec![("To", "{P}"), ("Channel", "sms")])]
        }
        ("POST", "/v2/Services/{ServiceSid}/VerificationCheck") => vec![
            (name(" by To"), vec![("To", "{P}"), ("Code", "000000")]),
            (
                name(" by Sid"),
                vec![("VerificationSid", "{SID}"), ("Code", "000000")],
            ),
        ],
        ("GET", "/v2/Services/{ServiceSid}/Verifications/{Sid}") => vec![(name(""), vec![])],
        ("POST", "/v2/Services/{ServiceSid}/Verifications/{Sid}") => vec![
            (name(" canceled"), vec![("Status", "canceled")]),
            (name(" approved"), vec![("Status", "approved")]),
        ],
        // Issue 26: the Service, its rate limits and buckets, the attempts.
        ("GET", "/v2/Services")
        | ("GET", "/v2/Services/{ServiceSid}")
        | ("GET", "/v2/Services/{ServiceSid}/RateLimits")
        | ("GET", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}")
        | ("DELETE", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}")
        | ("GET", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets")
        | ("GET", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid}")
        | ("DELETE", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid}")
        | ("GET", "/v2/Attempts")
        | ("GET", "/v2/Attempts/Summary")
        | ("GET", "/v2/Attempts/{Sid}") => vec![(name(""), vec![])],
        ("POST", "/v2/Services/{ServiceSid}") => vec![(name(""), vec![("FriendlyName", "Acme")])],
        ("POST", "/v2/Services/{ServiceSid}/RateLimits") => {
            vec![(name(""), vec![("UniqueName", "end_user_ip_address")])]
        }
        ("POST", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}") => {
            vec![(name(""), vec![("Description", "web")])]
        }
        ("POST", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets")
        | ("POST", "/v2/Services/{ServiceSid}/RateLimits/{RateLimitSid}/Buckets/{Sid}") => {
            vec![(name(""), vec![("Max", "3"), ("Interval", "60")])]
        }
        ("GET", "/otpd/v1/status") => vec![(name(""), vec![])],
        ("GET", "/otpd/v1/limits") => vec![(name(""), vec![])],
        ("POST", "/otpd/v1/limits") => {
            vec![(name(""), vec![]), (name(" Phone"), vec![("Phone", "{P}")])]
        }
        ("POST", "/otpd/v1/unlock") => vec![(name(""), vec![("Phone", "{P}")])],
        ("GET", "/otpd/v1/audit") => vec![(name(""), vec![])],
        ("POST", "/otpd/v1/audit") => vec![(name(""), vec![("Args", "--event sent")])],
        ("POST", "/otpd/v1/execute") => vec![], // one call per request kind, below
        ("GET", "/healthz") | ("GET", "/metrics") => vec![(name(""), vec![])],
        ("POST", "/otpd/v1/twilio/status") => vec![(
            name(""),
            vec![
                ("MessageSid", "SM00000000000000000000000000000000"),
                ("MessageStatus", "undelivered"),
            ],
        )],
        _ => panic!("the matrix states nothing for {method} {path}: add its answers"),
    }
}

/// The request kinds `/otpd/v1/execute` accepts, read from its own refusal of an unknown kind
/// (serde lists every variant), so a new kind cannot be missed.
fn request_kinds() -> Vec<String> {
    let err = serde_json::from_str::<otpd::request::wire::Wire>(r#"{"request":"?"}"#)
        .err()
        .expect("an unknown kind is refused")
        .to_string();
    let list = err
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no variant list in {err:?}"));
    list.split(", ")
        .map(|v| {
            v.trim_matches(|c: char| c == '`' || c.is_whitespace())
                .to_string()
        })
        .map(|v| v.split('`').next().unwrap_or_default().to_string())
        .collect()
}

/// The wire request of each kind, about P.
fn request_of(kind: &str) -> Value {
    match kind {
        "send" => json!({"request": "send", "phone": "{P}"}),
        "resend" => json!({"request": "resend", "phone": "{P}"}),
        "verify" => json!({"request": "verify", "code": "000000", "phone": "{P}"}),
        "status" => json!({"request": "status", "phone": "{P}"}),
        "cancel" => json!({"request": "cancel", "phone": "{P}"}),
        "limits" => json!({"request": "limits", "phone": "{P}"}),
        "resume_sending" => json!({"request": "resume_sending"}),
        "unlock" => json!({"request": "unlock", "phone": "{P}"}),
        "audit" => json!({"request": "audit", "words": [], "json": true}),
        "station" => json!({"request": "station"}),
        other => {
            panic!("the matrix states nothing for the request kind {other:?}: add its answers")
        }
    }
}

/// The expected HTTP status (and, for `/otpd/v1/execute`, the outcome) of `name` for `who`.
fn expected(name: &str, who: Who) -> (u16, Option<&'static str>) {
    use Who::*;
    fn pick<T>(who: Who, owner: T, other: T, auditor: T, admin: T) -> T {
        match who {
            Owner => owner,
            Other => other,
            Auditor => auditor,
            Admin => admin,
            Kiosk => unreachable!("a kiosk key is answered above"),
        }
    }
    if who == Kiosk {
        return match name {
            "GET /healthz" | "GET /metrics" => (200, None),
            // Not a key's route at all (see below): the same answer for every caller.
            "POST /otpd/v1/twilio/status" => (404, None),
            _ => (401, None),
        };
    }
    let by = |a: u16, b: u16, c: u16, d: u16| pick(who, a, b, c, d);
    type Ex = (u16, Option<&'static str>);
    let byx = |a: Ex, b: Ex, c: Ex, d: Ex| pick(who, a, b, c, d);
    let svc = "/v2/Services/{ServiceSid}";
    let plain = |s| (s, None);
    match name {
        n if n == format!("POST {svc}/Verifications") => plain(by(201, 201, 403, 201)),
        n if n == format!("POST {svc}/VerificationCheck by To") => plain(by(200, 404, 403, 404)),
        n if n == format!("POST {svc}/VerificationCheck by Sid") => plain(by(200, 404, 403, 200)),
        n if n == format!("GET {svc}/Verifications/{{Sid}}") => plain(by(200, 404, 403, 200)),
        n if n == format!("POST {svc}/Verifications/{{Sid}} canceled") => {
            plain(by(200, 404, 403, 200))
        }
        n if n == format!("POST {svc}/Verifications/{{Sid}} approved") => {
            plain(by(403, 403, 403, 200))
        }
        // Any key reads the service; only admins change it and its rate limits (an unknown
        // rate limit or bucket is "not found" to them); auditors and admins read attempts.
        "GET /v2/Services" => plain(200),
        n if n == format!("GET {svc}") => plain(200),
        n if n == format!("POST {svc}") => plain(by(403, 403, 403, 200)),
        n if n == format!("POST {svc}/RateLimits") => plain(by(403, 403, 403, 201)),
        n if n == format!("GET {svc}/RateLimits") => plain(by(403, 403, 403, 200)),
        n if n.contains("/RateLimits/{RateLimitSid}") => plain(by(403, 403, 403, 404)),
        "GET /v2/Attempts" | "GET /v2/Attempts/Summary" => plain(by(403, 403, 200, 200)),
        "GET /v2/Attempts/{Sid}" => plain(by(403, 403, 404, 404)),
        "GET /otpd/v1/status" | "GET /otpd/v1/limits" | "POST /otpd/v1/limits" => {
            plain(by(200, 200, 403, 200))
        }
        "POST /otpd/v1/limits Phone" | "POST /otpd/v1/unlock" => plain(by(403, 403, 403, 200)),
        "GET /otpd/v1/audit" | "POST /otpd/v1/audit" => plain(by(403, 403, 200, 200)),
        "GET /healthz" | "GET /metrics" => plain(200),
        // Authenticated by Twilio's signature, never by a key: the same for every key. This
        // server takes no callbacks (no twilio.status_callback_url): 404; with them, a request
        // without Twilio's signature is 403 (tests/it/serve/callbacks.rs).
        "POST /otpd/v1/twilio/status" => plain(404),
        "execute send" => byx(
            (200, Some("sent")),
            (200, Some("sent")),
            (403, None),
            (200, Some("sent")),
        ),
        "execute resend" => byx(
            (200, Some("sent")),
            (200, Some("no_pending")),
            (403, None),
            (200, Some("no_pending")),
        ),
        "execute verify" => byx(
            (200, Some("invalid")),
            (200, Some("no_pending")),
            (403, None),
            (200, Some("no_pending")),
        ),
        "execute status" => byx(
            (200, Some("status")),
            (200, Some("status")),
            (403, None),
            (200, Some("status")),
        ),
        "execute cancel" => byx(
            (200, Some("cancelled")),
            (200, Some("no_pending")),
            (403, None),
            (200, Some("no_pending")),
        ),
        "execute limits" => byx((403, None), (403, None), (403, None), (200, Some("limits"))),
        "execute resume_sending" => byx(
            (403, None),
            (403, None),
            (403, None),
            (200, Some("resumed")),
        ),
        "execute unlock" => byx(
            (403, None),
            (403, None),
            (403, None),
            (200, Some("unlocked")),
        ),
        "execute audit" => byx((403, None), (403, None), (200, None), (200, None)),
        "execute station" => plain(200),
        _ => panic!("the matrix states nothing for {name:?}"),
    }
}

/// Calls whose answer to another station is "you started your own", not "nothing there".
fn starts_its_own(name: &str) -> bool {
    name.ends_with("/Verifications") || name == "execute send"
}

/// Runs one cell and checks it; another station's call is also compared with the same call
/// about an unknown number and SID.
fn cell(
    world: &World,
    name: &str,
    method: &'static str,
    url: &str,
    form: &[(String, String)],
    who: Who,
) {
    let sid = world.pending();
    let service = world.server.service.clone();
    let make = |phone: &str, sid: &str| Call {
        method,
        url: fill(url, &service, sid, phone),
        form: form
            .iter()
            .map(|(k, v)| (k.clone(), fill(v, &service, sid, phone)))
            .collect(),
    };
    let before = world.owner_row();
    let hashes = world.hashes();
    let got = world.send(&make(P, &sid), who);
    let hashed = world.hashes() - hashes;
    let (status, outcome) = expected(name, who);
    assert_eq!(got.status, status, "{name} as {who:?}: {got:?}");
    if let Some(o) = outcome {
        assert_eq!(got.body["outcome"], o, "{name} as {who:?}: {got:?}");
    }
    if got.status == 403 {
        assert_eq!(got.body["code"], 20403, "{name} as {who:?}: {got:?}");
        let message = got.body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with("This key's role may not ") && !message.contains('\n'),
            "one sentence: {got:?}"
        );
    }
    if who != Who::Other {
        return;
    }
    assert_eq!(
        world.owner_row(),
        before,
        "{name}: another station changed the owner's verification"
    );
    if starts_its_own(name) {
        return;
    }
    let hashes = world.hashes();
    let unknown = world.send(&make(UNKNOWN, UNKNOWN_SID), who);
    let hashed_unknown = world.hashes() - hashes;
    let normalise = |r: &Reply, phone: &str, sid: &str| {
        (
            r.status,
            r.body
                .to_string()
                .replace(phone, "{P}")
                .replace(sid, "{SID}")
                .replace(&otpd_masked(phone), "{masked}"),
        )
    };
    assert_eq!(
        normalise(&got, P, &sid),
        normalise(&unknown, UNKNOWN, UNKNOWN_SID),
        "{name}: another station's verification must look exactly like an unknown one"
    );
    assert_eq!(
        hashed, hashed_unknown,
        "{name}: argon2 hashes differ from an unknown number's"
    );
}

/// How otpd masks a number in an answer (its last four digits stay).
fn otpd_masked(e164: &str) -> String {
    format!("•••-{}", &e164[e164.len() - 4..])
}

#[test]
fn every_route_and_request_for_every_role_and_station() {
    let mut covered = 0;
    for route in otpd::serve::ROUTES {
        for (name, form) in calls_for_route(route.method, route.path) {
            let world = World::new();
            let form: Vec<(String, String)> = form
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            for who in EVERYONE {
                cell(&world, &name, route.method, route.path, &form, who);
                covered += 1;
            }
        }
    }
    let kinds = request_kinds();
    assert!(kinds.len() >= 10, "{kinds:?}");
    for kind in &kinds {
        let world = World::new();
        let name = format!("execute {kind}");
        let form = vec![("Request".to_string(), request_of(kind).to_string())];
        for who in EVERYONE {
            cell(&world, &name, "POST", "/otpd/v1/execute", &form, who);
            covered += 1;
        }
    }
    assert!(
        covered >= EVERYONE.len() * (otpd::serve::ROUTES.len() + kinds.len()),
        "{covered}"
    );
}

#[test]
fn another_stations_check_costs_what_a_wrong_code_costs() {
    let world = World::new();
    let sid = world.pending();
    // Status, hashes, and the audit rows the check appended (event, station, detail).
    let check = |who: Who, to: &str| {
        let before = world.hashes();
        let rows = world.env.audit_events().len();
        let r = world.server.check(world.key(who), to, "000000");
        let audited = world.env.query_strings(&format!(
            "SELECT event || ' ' || station || ' ' || detail FROM audit_events WHERE id > {rows} ORDER BY id"
        ));
        (r.status, world.hashes() - before, audited)
    };
    // A wrong code for the owner's own verification: one hash, answered (pending).
    let own = check(Who::Owner, P);
    assert_eq!((own.0, own.1), (200, 1.0), "{own:?}");
    // Another station's number and an unknown one: one (decoy) hash each, "not found", and
    // the same one audit row.
    let nothing = vec!["no_pending desk-2 ".to_string()];
    assert_eq!(check(Who::Other, P), (404, 1.0, nothing.clone()));
    assert_eq!(check(Who::Other, UNKNOWN), (404, 1.0, nothing));
    // The owner's verification is still there, and still answers the owner.
    let r = world.server.get(
        &world.server.url(&format!("/Verifications/{sid}")),
        Some(&world.owner),
    );
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("pending")),
        "{r:?}"
    );
}

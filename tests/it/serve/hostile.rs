//! Reliability proofs over real HTTP (RELIABILITY.md, server section): 10,000 malformed
//! requests each get a 4xx Twilio error object (or, for bytes that are not HTTP, a closed
//! connection or hyper's bare 400), nothing panics and no secret leaks; and a `kill -9` during
//! concurrent checks loses no single use: after a restart on the same database no verification
//! is approved twice and the audit chain verifies.
//!
//! SQLite only: the malformed requests never reach the store, and the kill -9 proof's checks
//! (rows and MAC chain read straight from the file, `reliability_core`'s helpers) are
//! SQLite's; on PostgreSQL a killed server's open transactions are rolled back by the server,
//! and the lost-connection case is `serve::reconnect`'s.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;

use super::{Key, Server, key};
use crate::harness::{Env, UK_E164, US_E164, US2_E164};

/// A tiny deterministic generator, so a failure names a reproducible request.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The `i`-th malformed request: (method, url, Authorization, body).
fn malformed(
    s: &Server,
    k: &Key,
    i: usize,
    rng: &mut Lcg,
) -> (reqwest::Method, String, Option<String>, Vec<u8>) {
    let good = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", k.sid, k.secret))
    );
    let verifications = s.url("/Verifications");
    let post = reqwest::Method::POST;
    match i % 10 {
        // Bad encodings: broken percent-escapes, bytes that are not UTF-8, a bad phone.
        0 => (
            post,
            verifications,
            Some(good),
            b"To=%ZZ%&Channel=%F0%28".to_vec(),
        ),
        1 => (post, verifications, Some(good), {
            let mut b = b"To=".to_vec();
            b.extend(rng.bytes(40));
            b
        }),
        // A body over 16 KiB.
        2 => (post, verifications, Some(good), vec![b'A'; 17 * 1024]),
        // A service SID that is not ours.
        3 => (
            post,
            s.url("/Verifications")
                .replace(&s.service, "VA00000000000000000000000000000000"),
            Some(good),
            b"To=%2B12025550123&Channel=sms".to_vec(),
        ),
        // Bad credentials: a wrong secret, garbage base64, another scheme, none.
        4 => (
            post,
            verifications,
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{}:Zq9sEcReT{i}", k.sid))
            )),
            b"To=%2B12025550123&Channel=sms".to_vec(),
        ),
        5 => (
            post,
            verifications,
            Some(format!("Basic !!{i}!!")),
            Vec::new(),
        ),
        6 => (post, verifications, Some("Bearer x".into()), Vec::new()),
        // Unknown paths and wrong methods.
        7 => (
            reqwest::Method::GET,
            format!("{}/v2/Nope/{i}/%00%ff", s.base),
            Some(good),
            Vec::new(),
        ),
        8 => (
            reqwest::Method::DELETE,
            s.url("/VerificationCheck"),
            Some(good),
            Vec::new(),
        ),
        // A check with no code, or a SID that is not one.
        _ => (
            post,
            s.url("/VerificationCheck"),
            Some(good),
            format!("VerificationSid=VE{i}&Code=").into_bytes(),
        ),
    }
}

// It once stalled: the harness never read the server's stderr, the pipe filled after ~900 log
// lines and the server's logging blocked. `Server` now drains it; 1.7 s in debug.
#[test]
fn ten_thousand_malformed_requests_get_twilio_errors_and_leak_nothing() {
    let env = Env::new();
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    let started = Instant::now();
    const THREADS: usize = 4;
    const PER_THREAD: usize = 2_450;
    const GARBAGE: usize = 200;
    let bodies: Vec<String> = std::thread::scope(|scope| {
        let hs: Vec<_> = (0..THREADS)
            .map(|t| {
                let (server, k) = (&server, &k);
                scope.spawn(move || {
                    // A stall is a failure that names the request, not a hung test.
                    let http = reqwest::blocking::Client::builder()
                        .timeout(Duration::from_secs(10))
                        .build()
                        .unwrap();
                    let mut rng = Lcg(t as u64 + 1);
                    let mut seen = Vec::new();
                    for n in 0..PER_THREAD {
                        let i = t * PER_THREAD + n;
                        let (method, url, auth, body) = malformed(server, k, i, &mut rng);
                        let mut rb = http
                            .request(method, &url)
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(body);
                        if let Some(a) = auth {
                            rb = rb.header("authorization", a);
                        }
                        let r = rb.send().unwrap_or_else(|e| panic!("request {i}: {e:?}"));
                        let status = r.status().as_u16();
                        let text = r.text().unwrap_or_default();
                        assert!((400..500).contains(&status), "request {i}: {status} {text}");
                        let j: serde_json::Value = serde_json::from_str(&text)
                            .unwrap_or_else(|_| panic!("request {i}: not JSON: {text}"));
                        assert!(j["code"].is_u64() && j["message"].is_string(), "{i}: {j}");
                        assert_eq!(j["status"].as_u64(), Some(status as u64), "{i}: {j}");
                        assert!(j["more_info"].is_string(), "{i}: {j}");
                        if n % 10 == 0 || !seen.iter().any(|s| s == &text) {
                            seen.push(text);
                        }
                    }
                    seen
                })
            })
            .collect();
        let garbage = scope.spawn(|| {
            let addr = server.base.trim_start_matches("http://").to_string();
            let mut rng = Lcg(99);
            for g in 0..GARBAGE {
                let mut c = TcpStream::connect(&addr).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
                let mut junk = rng.bytes(1 + g % 300);
                junk[0] = b'\x16'; // never a method's first letter
                let _ = c.write_all(&junk);
                let mut back = Vec::new();
                let _ = c.read_to_end(&mut back);
                let text = String::from_utf8_lossy(&back);
                assert!(
                    back.is_empty() || text.starts_with("HTTP/1.1 400"),
                    "garbage {g}: {text}"
                );
            }
        });
        let mut all: Vec<String> = hs.into_iter().flat_map(|h| h.join().unwrap()).collect();
        garbage.join().unwrap();
        all.dedup();
        all
    });
    let elapsed = started.elapsed();
    let total = THREADS * PER_THREAD + GARBAGE;
    assert_eq!(total, 10_000);
    eprintln!(
        "{total} malformed requests in {:.2} s",
        elapsed.as_secs_f64()
    );
    // Lines the log writer could not keep up with are counted, not lost silently.
    let dropped = server.metric("otpd_log_lines_dropped_total") as usize;
    let (status, log) = server.stop();
    assert_eq!(status, 0, "{log}");
    assert!(!log.contains("panic"), "{log}");
    assert!(
        log.ends_with("otpd serve: stopped\n"),
        "the log ends in order"
    );
    let pepper = std::fs::read_to_string(env.secret_path()).unwrap_or_default();
    for text in bodies.iter().map(String::as_str).chain([log.as_str()]) {
        assert!(!text.contains(&k.secret), "the key's secret leaked: {text}");
        assert!(
            !text.contains("Zq9sEcReT"),
            "a sent secret was echoed: {text}"
        );
        assert!(!text.contains("2025550123"), "a number was echoed: {text}");
        let p = pepper.trim();
        assert!(p.len() < 8 || !text.contains(p), "the pepper leaked");
    }
    // One line per HTTP request reached the log (or was counted as dropped).
    assert!(
        log.lines().count() + dropped >= THREADS * PER_THREAD,
        "{} lines, {dropped} dropped",
        log.lines().count()
    );
}

#[test]
fn a_refused_oversized_body_is_413_and_the_connection_closes_without_reading_the_rest() {
    let env = Env::new();
    let k = key(&env, "desk-1", "station");
    let server = Server::start(&env);
    let addr = server.base.trim_start_matches("http://").to_string();
    let path = server.url("/Verifications");
    let path = path.trim_start_matches(&server.base);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", k.sid, k.secret));
    let mut c = TcpStream::connect(&addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Announces 8 MiB but sends 20 KiB, then waits for the answer: the server must not wait
    // for the rest.
    write!(
        c,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        8 << 20
    )
    .unwrap();
    c.write_all(&vec![b'A'; 20 * 1024]).unwrap();
    let mut back = Vec::new();
    let read = c.read_to_end(&mut back);
    let text = String::from_utf8_lossy(&back);
    assert!(read.is_ok(), "no answer and no close: {read:?} {text}");
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("\"code\":20413"), "{text}");
}

#[test]
fn kill_9_during_concurrent_checks_then_restart_approves_each_code_once() {
    let env = Env::with_config(
        "[policy]\nmax_attempts = 100\n[limits]\nmax_failures_per_number = 100\nfailures_before_unlock = 100\n",
    );
    let k = key(&env, "desk-1", "station");
    let phones = [US_E164, US2_E164, UK_E164];
    let server = Server::start(&env);
    for p in phones {
        assert_eq!(server.create(&k, p).status, 201);
    }
    let codes: Vec<String> = phones.iter().map(|p| env.last_code(p)).collect();
    let wrong: Vec<String> = phones.iter().map(|p| env.wrong_code(p)).collect();
    // Every check before the kill is a wrong code: each one a write (an attempt counted and an
    // `invalid` audit row in one transaction), so a request cut off is cut off mid-write.
    let answered = AtomicUsize::new(0);
    let cut = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..12 {
            let (server, k, wrong, answered, cut) = (&server, &k, &wrong, &answered, &cut);
            scope.spawn(move || {
                for n in 0.. {
                    let i = (t + n) % phones.len();
                    let form = [("To", phones[i]), ("Code", wrong[i].as_str())];
                    let sent = reqwest::blocking::Client::new()
                        .post(server.url("/VerificationCheck"))
                        .basic_auth(&k.sid, Some(&k.secret))
                        .form(&form)
                        .send();
                    match sent {
                        Ok(r) => assert_eq!(r.status(), 200, "a wrong code is answered"),
                        // Sent, then the connection died before an answer: in flight at the kill.
                        Err(e) if !e.is_connect() => {
                            cut.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        Err(_) => return, // the server was already gone
                    }
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        // Killed while the others are mid-request: after a few answers, not after a sleep.
        while answered.load(Ordering::SeqCst) < 4 {
            std::thread::yield_now();
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(server.pid() as i32, libc::SIGKILL) };
        server.wait();
    });
    let cut = cut.into_inner();
    assert!(
        cut >= 1,
        "no check was in flight when the server was killed: the test proved nothing"
    );
    let invalid = env.query_i64("SELECT count(*) FROM audit_events WHERE event = 'invalid'");
    let answered = answered.into_inner() as i64;
    assert!(
        (answered..=answered + cut as i64).contains(&invalid),
        "{invalid} invalid rows for {answered} answered and {cut} cut checks"
    );
    // An attempt is counted before its hash runs: a kill between the two leaves it counted
    // without its `invalid` row, never the other way round.
    let attempts = env.query_i64("SELECT sum(attempts) FROM challenges");
    assert!(
        (invalid..=answered + cut as i64).contains(&attempts),
        "{attempts} attempts, {invalid} invalid rows, {answered} answered, {cut} cut"
    );
    // After the restart, the right codes race: each approved exactly once.
    let server = Server::start(&env);
    std::thread::scope(|scope| {
        for t in 0..12 {
            let (server, k, codes) = (&server, &k, &codes);
            scope.spawn(move || {
                let i = t % phones.len();
                let r = server.check(k, phones[i], &codes[i]);
                assert!(
                    (r.status == 200 && r.body["status"] == "approved") || r.status == 404,
                    "{r:?}"
                );
            });
        }
    });
    let server = Server::start(&env);
    for (p, code) in phones.iter().zip(&codes) {
        let r = server.check(&k, p, code);
        assert!(
            (r.status == 200 && r.body["status"] == "approved") || r.status == 404,
            "{r:?}"
        );
    }
    drop(server);
    let twice = env.query_i64(
        "SELECT count(*) FROM (SELECT challenge_id FROM audit_events WHERE event = 'approved' \
         GROUP BY challenge_id HAVING count(*) > 1)",
    );
    assert_eq!(twice, 0, "a code was approved twice");
    let approved = env.query_i64(
        "SELECT count(DISTINCT challenge_id) FROM audit_events WHERE event = 'approved'",
    );
    assert_eq!(approved, 3);
    let verify = env.run(&["audit", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
}

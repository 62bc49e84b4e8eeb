//! Whole-process figures: what running `otpd` as a command adds to the argon2 cost —
//! start-up, configuration, opening the database, the durable commits — plus throughput with
//! several terminals on one database and the peak memory of one verify. Not a criterion bench:
//! it spawns the release binary and prints a table. Run: `scripts/bench-process.sh`.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use otpd::clock::SystemClock;
use otpd::crypto::{CodeHasher, HashParams};
use otpd::delivery::OutboxDelivery;
use otpd::domain::{PhoneNumber, Policy};
use otpd::service::Service;

use common::twilio::FakeTwilio;
use common::{CODE, Fixture, SECRET, STATION};

/// Repeated sends must not be refused by the abuse limits (a refusal costs no hash).
const BASE_CONFIG: &str = "[policy]\nresend_cooldown_seconds = 0\nmax_attempts = 100\n\
[limits]\nmax_cooldown_seconds = 0\nper_number_per_hour = 0\nper_number_per_day = 0\n\
per_prefix_per_hour = 0\nper_station_per_hour = 0\nglobal_per_hour = 0\nmin_conversion = 0.0\n";
const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";

struct Stats {
    median: f64,
    p10: f64,
    p90: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Stats {
        median: at(0.5),
        p10: at(0.1),
        p90: at(0.9),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

struct Bench {
    fx: Fixture,
    bin: &'static str,
    runs: usize,
}

impl Bench {
    fn otpd(&self, station: &str) -> Command {
        let dir = self.fx.dir.path();
        let mut c = Command::new(self.bin);
        c.env_clear()
            .env("HOME", dir)
            .env("OTPD_CONFIG", dir.join("otpd.toml"))
            .env("OTPD_DB", self.fx.db_path())
            .env("OTPD_SECRET", SECRET)
            .env("OTPD_DELIVERY", "outbox")
            .env("OTPD_OUTBOX", dir.join("outbox.jsonl"))
            .env("OTPD_STATION", station)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }

    /// Wall time of one run; panics if otpd failed (a failing command measures nothing).
    fn time(&self, mut c: Command, want: i32) -> f64 {
        let start = Instant::now();
        let out = c.output().expect("spawn otpd");
        let t = ms(start.elapsed());
        assert_eq!(
            out.status.code(),
            Some(want),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn repeat(&self, mut f: impl FnMut() -> f64) -> Stats {
        let _ = f(); // warm the page cache
        stats((0..self.runs).map(|_| f()).collect())
    }
}

fn main() {
    // The reqwest client below, like otpd's, uses rustls with ring (plain HTTP here, but the
    // client is built with TLS support and needs a provider).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runs = std::env::var("OTPD_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let b = Bench {
        fx: Fixture::new(HashParams::OWASP),
        bin: env!("CARGO_BIN_EXE_otpd"),
        runs,
    };
    std::fs::write(b.fx.dir.path().join("otpd.toml"), BASE_CONFIG).expect("config");
    let twilio = FakeTwilio::start();
    twilio.always(common::twilio::created(
        "SM0123456789abcdef0123456789abcdef",
        "queued",
        "+14155552600",
    ));
    std::fs::write(
        b.fx.dir.path().join("otpd-twilio.toml"),
        format!(
            "{BASE_CONFIG}[twilio]\napi_base = \"{}\"\ntimeout_seconds = 5\n",
            twilio.base_url()
        ),
    )
    .expect("twilio config");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // One number per verification: the rows above, then the throughput runs (3 x runs + 2 x runs).
    let phones = common::phones(runs * 8 + 100);
    let mut next_phone = phones.iter();
    let mut store = b.fx.store();

    println!("otpd whole-process figures: {runs} runs each, median [p10 p90] in ms, {cores} cores");
    println!("database: {}", b.fx.db_path().display());
    let row = |name: &str, s: &Stats, note: String| {
        println!(
            "| {name:<34} | {:>7.2} | [{:>6.2} {:>6.2}] | {note}",
            s.median, s.p10, s.p90
        );
    };

    let bare = b.repeat(|| {
        let t = Instant::now();
        assert!(b.fx.bare_verify(CODE));
        ms(t.elapsed())
    });
    row("bare argon2id verify (in-process)", &bare, String::new());

    interleaved(&b.fx, &mut store, runs);

    let version = b.repeat(|| {
        let mut c = b.otpd("idle");
        c.arg("--version");
        b.time(c, 0)
    });
    row("otpd --version (exec floor)", &version, String::new());

    // A station with nothing pending: start-up, config, secret, open, migrations check.
    let status_empty = b.repeat(|| {
        let mut c = b.otpd("idle");
        c.arg("status");
        b.time(c, 0)
    });
    row(
        "otpd status (nothing pending)",
        &status_empty,
        "start-up+open+migrations: target <= 10 ms".to_string(),
    );

    let shown = next_phone.next().expect("phone");
    b.fx.insert(&mut store, shown, Utc::now(), 600);
    let status_one = b.repeat(|| {
        let mut c = b.otpd(STATION);
        c.arg("status");
        b.time(c, 0)
    });
    row(
        "otpd status (one pending)",
        &status_one,
        format!(
            "+{:.2} ms to show one stored number",
            status_one.median - status_empty.median
        ),
    );

    let send_to = next_phone.next().expect("phone").e164().to_string();
    let send = b.repeat(|| {
        let mut c = b.otpd("sender");
        c.args(["send", &send_to]);
        b.time(c, 0)
    });
    row(
        "otpd send (outbox)",
        &send,
        format!("added over the hash: {:.2} ms", send.median - bare.median),
    );

    // Send through the twilio delivery to a fake Twilio on loopback, against the bare hash
    // plus one HTTP round trip (a fresh client and connection each time, as a process has).
    let url = format!(
        "{}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json",
        twilio.base_url()
    );
    let http = b.repeat(|| {
        let t = Instant::now();
        let client = reqwest::blocking::Client::new();
        let r = client
            .post(&url)
            .basic_auth(TWILIO_SID, Some("bench-token"))
            .form(&[
                ("To", send_to.as_str()),
                ("From", "+14155550100"),
                ("Body", "x"),
            ])
            .send()
            .expect("fake Twilio");
        assert_eq!(r.status().as_u16(), 201);
        let _ = r.bytes().expect("body");
        ms(t.elapsed())
    });
    row("HTTP round trip, new reqwest client", &http, String::new());
    // The floor: one POST and its 201 over a fresh std TcpStream, no HTTP library.
    let raw = b.repeat(|| {
        use std::io::{Read, Write};
        let t = Instant::now();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", twilio.port())).expect("connect");
        let _ = s.set_nodelay(true);
        let body = format!(
            "To={}&From=%2B14155550100&Body=x",
            send_to.replace('+', "%2B")
        );
        write!(
            s,
            "POST /2010-04-01/Accounts/{TWILIO_SID}/Messages.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("request");
        let mut reply = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = s.read(&mut buf).expect("reply");
            reply.extend_from_slice(&buf[..n]);
            if n == 0 || reply.ends_with(b"}") {
                break;
            }
        }
        assert!(reply.starts_with(b"HTTP/1.1 201"));
        ms(t.elapsed())
    });
    row("HTTP round trip, raw (fresh conn.)", &raw, String::new());
    let twilio_to = next_phone.next().expect("phone").e164().to_string();
    let twilio_send = b.repeat(|| {
        let mut c = b.otpd("twilio");
        c.args(["send", &twilio_to])
            .env("OTPD_CONFIG", b.fx.dir.path().join("otpd-twilio.toml"))
            .env("OTPD_DELIVERY", "twilio")
            .env("TWILIO_ACCOUNT_SID", TWILIO_SID)
            .env("TWILIO_AUTH_TOKEN", "bench-token")
            .env("TWILIO_FROM", "+14155550100");
        b.time(c, 0)
    });
    // What was timed is a request Twilio would take.
    let sent: Vec<_> = twilio
        .requests()
        .into_iter()
        .filter(|r| r.field("To").as_deref() == Some(twilio_to.as_str()))
        .collect();
    assert_eq!(
        sent.len(),
        runs + 1,
        "one request per otpd send, the warm-up too"
    );
    sent.iter()
        .for_each(common::twilio::assert_conforms_to_create_message);
    row(
        "otpd send (fake Twilio, loopback)",
        &twilio_send,
        format!(
            "added over hash + round trip: {:.2} ms",
            twilio_send.median - bare.median - raw.median
        ),
    );

    let repl = b.repeat(|| repl_to_prompt(&b));
    row(
        "otpd repl: start to first prompt",
        &repl,
        "pseudo-terminal; banner + prompt".to_string(),
    );

    let verify = b.repeat(|| {
        let p = next_phone.next().expect("phone");
        b.fx.insert(&mut store, p, Utc::now(), 600);
        let mut c = b.otpd(STATION);
        c.args(["verify", CODE, "--phone", p.e164()]);
        b.time(c, 0)
    });
    row(
        "otpd verify (right code)",
        &verify,
        format!("added over the hash: {:.2} ms", verify.median - bare.median),
    );

    // Peak memory of one verify. GNU time forks from a small process, so the child's high-water
    // mark is otpd's own; wait4(2) from here would count this (large) process's pages at fork.
    let p = next_phone.next().expect("phone");
    b.fx.insert(&mut store, p, Utc::now(), 600);
    let m_cost = HashParams::OWASP.memory_kib as f64 / 1024.0;
    let c = b.otpd(STATION);
    let mut timed = Command::new("/usr/bin/time");
    timed.env_clear();
    for (k, v) in c.get_envs() {
        if let Some(v) = v {
            timed.env(k, v);
        }
    }
    timed
        .args(["-f", "%M", b.bin, "verify", CODE, "--phone", p.e164()])
        .stdin(Stdio::null());
    match timed.output() {
        Ok(out) if out.status.success() => {
            let kib: f64 = String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(f64::NAN);
            let rss = kib / 1024.0;
            println!(
                "| peak RSS of one verify             | {rss:>7.1} MiB | m_cost {m_cost:.1} MiB; target <= {:.1} MiB",
                m_cost + 16.0
            );
        }
        _ => println!("| peak RSS of one verify             | (needs GNU time at /usr/bin/time) |"),
    }

    // Throughput, processes: `cores` terminals at once, each verifying its own numbers.
    let per_worker = (runs / 2).max(4);
    let work: Vec<Vec<PhoneNumber>> = (0..cores)
        .map(|_| {
            (0..per_worker)
                .map(|_| {
                    let p = next_phone.next().expect("phone").clone();
                    b.fx.insert(&mut store, &p, Utc::now(), 600);
                    p
                })
                .collect()
        })
        .collect();
    let limit = cores as f64 * 1e3 / bare.median;
    let start = Instant::now();
    std::thread::scope(|s| {
        for mine in &work {
            let b = &b;
            s.spawn(move || {
                for p in mine {
                    let mut c = b.otpd(STATION);
                    c.args(["verify", CODE, "--phone", p.e164()]);
                    b.time(c, 0);
                }
            });
        }
    });
    let n = (cores * per_worker) as f64;
    let rate = n / start.elapsed().as_secs_f64();
    println!(
        "| throughput, {cores} processes at once   | {rate:>7.1} /s | limit cores/hash = {limit:.1} /s: {:.0}%",
        100.0 * rate / limit
    );

    // Throughput, long-lived terminals: 1, then `cores` threads, each with its own connection
    // (as the prompt keeps one), so only the hash and the database are measured, not exec.
    for threads in [1, cores] {
        let work: Vec<Vec<PhoneNumber>> = (0..threads)
            .map(|_| {
                (0..per_worker * 2)
                    .map(|_| {
                        let p = next_phone.next().expect("phone").clone();
                        b.fx.insert(&mut store, &p, Utc::now(), 600);
                        p
                    })
                    .collect()
            })
            .collect();
        let fx = &b.fx;
        let start = Instant::now();
        std::thread::scope(|s| {
            for mine in &work {
                s.spawn(move || verify_all(fx, mine));
            }
        });
        let n = (threads * per_worker * 2) as f64;
        let rate = n / start.elapsed().as_secs_f64();
        let limit = threads as f64 * 1e3 / bare.median;
        println!(
            "| throughput, {threads} connection(s) in-process | {rate:>7.1} /s | limit {threads}/hash = {limit:.1} /s: {:.0}%",
            100.0 * rate / limit
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at the end: {}", load.trim());
}

/// Starts `otpd repl` on a fresh pseudo-terminal and returns the milliseconds until its first
/// prompt is on the screen; then types `quit`. Answers the terminal's cursor-position query
/// (which line editors may send) the way a terminal would.
fn repl_to_prompt(b: &Bench) -> f64 {
    use std::io::{Read, Write};
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let mut c = b.otpd("repl");
    c.arg("repl")
        .env("TERM", "xterm")
        .env("NO_COLOR", "1")
        .stdin(Stdio::from(pty.slave.try_clone().expect("pty")))
        .stdout(Stdio::from(pty.slave.try_clone().expect("pty")))
        .stderr(Stdio::from(pty.slave));
    let mut screen = std::fs::File::from(pty.master);
    let start = Instant::now();
    let mut child = c.spawn().expect("spawn otpd repl");
    drop(c); // closes this process's copies of the terminal's slave side
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let t = loop {
        let n = screen.read(&mut buf).expect("the prompt before otpd exits");
        assert!(n > 0, "otpd repl exited before its prompt");
        seen.extend_from_slice(&buf[..n]);
        if seen.windows(4).any(|w| w == b"\x1b[6n") {
            seen.clear();
            screen.write_all(b"\x1b[1;1R").expect("answer the query");
        }
        if seen.windows(6).any(|w| w == b"otpd> ") {
            break ms(start.elapsed());
        }
    };
    screen.write_all(b"quit\r").expect("type quit");
    // Drain until the child closes the terminal, so it never blocks on a full pty buffer.
    while matches!(screen.read(&mut buf), Ok(n) if n > 0) {}
    let status = child.wait().expect("wait for otpd repl");
    assert!(status.success(), "otpd repl: {status}");
    t
}

/// Verifies each number's pending code through the library, on this thread's own connection.
fn verify_all(fx: &Fixture, phones: &[PhoneNumber]) {
    let mut store = fx.store();
    let hasher = CodeHasher::new(fx.params, &fx.secrets).expect("hasher");
    let delivery = OutboxDelivery::new(fx.dir.path().join("outbox.jsonl"));
    let policy = Policy::default();
    let code = common::code();
    for p in phones {
        let mut service = Service::new(&mut store, fx.ctx(&hasher, &delivery, &policy));
        let o = service
            .verify(&SystemClock, Some(p), &code)
            .expect("verify");
        assert_eq!(o.name(), "approved");
    }
}

/// The in-process verify use case for a right, wrong, expired and unknown code, and the bare
/// hash, measured in turn within each round, so drift in a shared machine's load hits every
/// case alike: the ratio to the bare hash (what otpd adds to the hash) and the spread by outcome
/// (the time of a verify must not tell a right code from a wrong, expired or unknown one).
fn interleaved(fx: &Fixture, store: &mut otpd::store::sqlite::SqliteStore, rounds: usize) {
    let hasher = CodeHasher::new(fx.params, &fx.secrets).expect("hasher");
    let delivery = OutboxDelivery::new(fx.dir.path().join("outbox.jsonl"));
    let policy = Policy {
        max_attempts: 100,
        ..Policy::default()
    };
    let phone = PhoneNumber::parse("+1 415 555 2671").expect("phone");
    let stranger = PhoneNumber::parse("+1 202 555 0123").expect("phone");
    let (right, wrong) = (common::code(), common::wrong());
    let names = ["bare", "right", "wrong", "expired", "unknown"];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..=rounds {
        for (i, name) in names.iter().enumerate() {
            let t = if *name == "bare" {
                let t = Instant::now();
                assert!(fx.bare_verify(CODE));
                ms(t.elapsed())
            } else {
                let ttl = if *name == "expired" { 0 } else { 300 };
                fx.insert(
                    store,
                    &phone,
                    Utc::now() - chrono::TimeDelta::seconds(1),
                    ttl,
                );
                let (who, code, want) = match *name {
                    "right" => (&phone, &right, "approved"),
                    "wrong" => (&phone, &wrong, "invalid"),
                    "expired" => (&phone, &right, "expired"),
                    _ => (&stranger, &right, "no_pending"),
                };
                let mut service = Service::new(store, fx.ctx(&hasher, &delivery, &policy));
                let t = Instant::now();
                let o = service
                    .verify(&SystemClock, Some(who), code)
                    .expect("verify");
                let t = ms(t.elapsed());
                assert_eq!(o.name(), want);
                t
            };
            if round > 0 {
                times[i].push(t);
            }
        }
    }
    let medians: Vec<Stats> = times.into_iter().map(stats).collect();
    let bare = medians[0].median;
    for (name, s) in names.iter().zip(&medians) {
        println!(
            "| in-process verify, {name:<15} | {:>7.2} | [{:>6.2} {:>6.2}] | ratio to bare hash {:.3}",
            s.median,
            s.p10,
            s.p90,
            s.median / bare
        );
    }
    let outcomes = &medians[1..];
    let spread = outcomes.iter().map(|s| s.median).fold(f64::MIN, f64::max)
        - outcomes.iter().map(|s| s.median).fold(f64::MAX, f64::min);
    println!(
        "| spread of the 4 outcomes' medians   | {spread:>7.2} | target <= 2 ms (outcome not timeable)"
    );
}

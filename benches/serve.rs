//! `otpd serve` under load (issue 14), in one run: the release binary serves on 127.0.0.1 with
//! the OWASP argon2 parameters, SQLite and the outbox, and this program is its clients. Checks
//! per second with 2, 8 and 64 closed-loop clients against the ideal (cores ÷ bare hash time);
//! an open-loop load at 2× that rate (p50/p99 latency); and at 10× (share answered 20429, the
//! server's peak RSS, and every accepted check found approved afterwards). Not a criterion
//! bench: it prints markdown tables. Run: `scripts/bench-serve.sh` or `cargo bench --bench serve`.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use otpd::crypto::HashParams;

use common::{CODE, Fixture, SECRET, STATION};

/// Limits relaxed so that no send or check is refused by them (a refusal costs no hash).
const BASE_CONFIG: &str = "[policy]\nresend_cooldown_seconds = 0\nmax_attempts = 100\n\
[limits]\nmax_cooldown_seconds = 0\nper_number_per_hour = 0\nper_number_per_day = 0\n\
per_prefix_per_hour = 0\nper_station_per_hour = 0\nglobal_per_hour = 0\nmin_conversion = 0.0\n";

/// A pending verification: its number and the code the outbox holds for it.
type Pending = (String, String);

struct Server {
    child: Child,
    base: String,
    service: String,
    sid: String,
    secret: String,
    http: reqwest::blocking::Client,
}

/// One answer, reduced to what the figures need.
struct Answer {
    status: u16,
    code: Option<i64>,
    retry_after: bool,
    body: serde_json::Value,
}

impl Server {
    fn url(&self, tail: &str) -> String {
        format!("{}/v2/Services/{}{tail}", self.base, self.service)
    }

    fn post(&self, tail: &str, form: &[(&str, &str)]) -> Result<Answer, reqwest::Error> {
        self.answer(
            self.http
                .post(self.url(tail))
                .basic_auth(&self.sid, Some(&self.secret))
                .form(form),
        )
    }

    fn get(&self, tail: &str) -> Result<Answer, reqwest::Error> {
        self.answer(
            self.http
                .get(self.url(tail))
                .basic_auth(&self.sid, Some(&self.secret)),
        )
    }

    fn answer(&self, rb: reqwest::blocking::RequestBuilder) -> Result<Answer, reqwest::Error> {
        let r = rb.send()?;
        let status = r.status().as_u16();
        let retry_after = r.headers().contains_key("retry-after");
        let body: serde_json::Value = r.json().unwrap_or(serde_json::Value::Null);
        Ok(Answer {
            status,
            code: body["code"].as_i64(),
            retry_after,
            body,
        })
    }

    fn check(&self, p: &Pending) -> Result<Answer, reqwest::Error> {
        self.post("/VerificationCheck", &[("To", &p.0), ("Code", &p.1)])
    }

    /// CPU time the server process has used so far (user + system), in seconds.
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which may hold spaces): utime and stime are the
        // 12th and 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<f64> = rest
            .split_whitespace()
            .map(|x| x.parse().unwrap_or(f64::NAN))
            .collect();
        // SAFETY: sysconf(3) has no preconditions.
        let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        (f.get(11).copied().unwrap_or(f64::NAN) + f.get(12).copied().unwrap_or(f64::NAN)) / tick
    }

    /// Peak and current resident set of the server process, in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(f64::NAN, |kib| kib / 1024.0)
        };
        (field("VmHWM:"), field("VmRSS:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

fn otpd(fx: &Fixture, bin: &str) -> Command {
    let dir = fx.dir.path();
    let mut c = Command::new(bin);
    c.env_clear()
        .env("HOME", dir)
        .env("OTPD_CONFIG", dir.join("otpd.toml"))
        .env("OTPD_DB", fx.db_path())
        .env("OTPD_SECRET", SECRET)
        .env("OTPD_DELIVERY", "outbox")
        .env("OTPD_OUTBOX", dir.join("outbox.jsonl"))
        .env("OTPD_STATION", STATION)
        .stdin(Stdio::null());
    c
}

fn start(fx: &Fixture, bin: &str) -> Server {
    let out = otpd(fx, bin)
        .args(["keys", "create", "--station", STATION, "--json"])
        .output()
        .expect("otpd keys create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key: serde_json::Value = serde_json::from_slice(&out.stdout).expect("key JSON");
    // One log line per request: to a file, so a full pipe never stalls the server.
    let log = std::fs::File::create(fx.dir.path().join("serve.log")).expect("log");
    let mut child = otpd(fx, bin)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .expect("spawn otpd serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("utf-8");
    let base = next()
        .strip_prefix("listening on ")
        .expect("listening on …")
        .to_string();
    let service = next()
        .strip_prefix("service ")
        .expect("service …")
        .to_string();
    Server {
        child,
        base,
        service,
        sid: key["sid"].as_str().expect("sid").into(),
        secret: key["secret"].as_str().expect("secret").into(),
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client"),
    }
}

/// Creates a verification for each number through the API (`threads` at a time) and returns
/// them with the codes the outbox holds.
fn create(s: &Server, fx: &Fixture, numbers: &[String], threads: usize) -> Vec<Pending> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|sc| {
        for _ in 0..threads {
            sc.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(to) = numbers.get(i) else { break };
                    loop {
                        let a = s
                            .post("/Verifications", &[("To", to), ("Channel", "sms")])
                            .expect("create");
                        match a.status {
                            201 => break,
                            429 if a.code == Some(20429) => {
                                std::thread::sleep(Duration::from_millis(20))
                            }
                            st => panic!("create {st}: {}", a.body),
                        }
                    }
                }
            });
        }
    });
    let outbox = std::fs::read_to_string(fx.dir.path().join("outbox.jsonl")).expect("outbox");
    let mut codes = HashMap::new();
    for line in outbox.lines() {
        let j: serde_json::Value = serde_json::from_str(line).expect("outbox line");
        codes.insert(
            j["to"].as_str().expect("to").to_string(),
            j["code"].as_str().expect("code").to_string(),
        );
    }
    numbers
        .iter()
        .map(|to| (to.clone(), codes[to].clone()))
        .collect()
}

fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// What an open-loop run saw.
#[derive(Default)]
struct Open {
    offered: usize,
    approved: usize,
    saturated: usize,
    saturated_with_retry_after: usize,
    other: usize,
    errors: usize,
    out_of_numbers: usize,
    /// Latency of approved checks, from the moment each was due (no coordinated omission).
    latency_ms: Vec<f64>,
    /// Latency of 20429 answers.
    refused_ms: Vec<f64>,
    /// The SIDs of the accepted checks.
    accepted: Vec<String>,
}

/// Offers checks at `rate` per second for `secs` seconds, whatever the answers; a check
/// answered 20429 puts its number back for a later one.
fn open_loop(s: &Server, pool: &Mutex<Vec<Pending>>, rate: f64, secs: f64) -> Open {
    let total = (rate * secs).round() as usize;
    let out = Mutex::new(Open {
        offered: total,
        ..Open::default()
    });
    let (tx, rx) = std::sync::mpsc::channel::<Instant>();
    let rx = Arc::new(Mutex::new(rx));
    let senders = 256;
    std::thread::scope(|sc| {
        for _ in 0..senders {
            let rx = rx.clone();
            let out = &out;
            sc.spawn(move || {
                loop {
                    let due = match rx.lock().unwrap().recv() {
                        Ok(d) => d,
                        Err(_) => break,
                    };
                    let Some(p) = pool.lock().unwrap().pop() else {
                        out.lock().unwrap().out_of_numbers += 1;
                        continue;
                    };
                    let a = s.check(&p);
                    let ms = due.elapsed().as_secs_f64() * 1e3;
                    let mut o = out.lock().unwrap();
                    match a {
                        Ok(a) if a.status == 200 && a.body["status"] == "approved" => {
                            o.approved += 1;
                            o.latency_ms.push(ms);
                            o.accepted
                                .push(a.body["sid"].as_str().unwrap_or_default().to_string());
                        }
                        Ok(a) if a.status == 429 && a.code == Some(20429) => {
                            o.saturated += 1;
                            o.saturated_with_retry_after += usize::from(a.retry_after);
                            o.refused_ms.push(ms);
                            drop(o);
                            pool.lock().unwrap().push(p);
                        }
                        Ok(a) => {
                            o.other += 1;
                            if o.other <= 3 {
                                eprintln!("unexpected answer {}: {}", a.status, a.body);
                            }
                        }
                        Err(e) => {
                            o.errors += 1;
                            if o.errors <= 3 {
                                eprintln!("request failed: {e}");
                            }
                        }
                    }
                }
            });
        }
        let start = Instant::now();
        for i in 0..total {
            let due = start + Duration::from_secs_f64(i as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            tx.send(due).expect("senders alive");
        }
        drop(tx);
    });
    let mut o = out.into_inner().unwrap();
    o.latency_ms.sort_by(|a, b| a.total_cmp(b));
    o.refused_ms.sort_by(|a, b| a.total_cmp(b));
    o
}

/// CPU time this process (the clients) has used so far, in seconds.
fn own_cpu_seconds() -> f64 {
    // SAFETY: getrusage(2) fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a rusage struct.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// Bare hashes per second with `threads` threads hashing at once, each `BARE_SAMPLES` times:
/// what the cores can hash together (they share caches and memory bandwidth).
fn parallel_bare(fx: &Fixture, threads: usize) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..BARE_SAMPLES {
                    assert!(fx.bare_verify(CODE));
                }
            });
        }
    });
    (threads * BARE_SAMPLES) as f64 / t.elapsed().as_secs_f64()
}

/// Bare hashes per timing.
const BARE_SAMPLES: usize = 15;

/// The median time of one argon2 verify in this process, in ms.
fn bare_ms(fx: &Fixture) -> f64 {
    let mut bare: Vec<f64> = (0..BARE_SAMPLES)
        .map(|_| {
            let t = Instant::now();
            assert!(fx.bare_verify(CODE));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    bare.sort_by(|a, b| a.total_cmp(b));
    pct(&bare, 0.5)
}

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    // reqwest is built with rustls and no default provider (plain HTTP here, but it needs one).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let checks = env_num("OTPD_BENCH_CHECKS", 384.0) as usize;
    let secs = env_num("OTPD_BENCH_SECS", 5.0);
    let fx = Fixture::new(HashParams::OWASP);
    std::fs::write(fx.dir.path().join("otpd.toml"), BASE_CONFIG).expect("config");
    // OTPD_BENCH_BIN: another build of otpd to compare (e.g. the previous commit's).
    let bin_override = std::env::var("OTPD_BENCH_BIN").ok();
    let bin = bin_override
        .as_deref()
        .unwrap_or(env!("CARGO_BIN_EXE_otpd"));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = loadavg();

    // The ideal: every core hashing all the time, nothing else. The bare hash is timed again
    // around each closed-loop run (this machine's CPU speed drifts), and each run is compared
    // with the mean of the two timings either side of it.
    let _ = fx.bare_verify(CODE);
    let first_bare = bare_ms(&fx);
    let parallel = parallel_bare(&fx, cores);

    let s = start(&fx, bin);
    let phones: Vec<String> = common::phones(7000)
        .iter()
        .map(|p| p.e164().to_string())
        .collect();
    let mut unused = phones.iter().cloned();
    println!(
        "otpd serve: OWASP argon2id, SQLite, outbox, {cores} cores, default workers and queue; \
         load average before {load_before}"
    );
    println!("database: {}", fx.db_path().display());
    println!(
        "bare argon2id verify: in-process, median of {BARE_SAMPLES}, timed before and after each run"
    );
    println!(
        "bare hashes with all {cores} cores hashing at once (in-process, nothing else): {parallel:.1}/s \
         = {:.0} % of cores ÷ the single-thread hash time {first_bare:.2} ms\n",
        100.0 * parallel * first_bare / (cores as f64 * 1e3)
    );

    // Closed loop: n clients, each checking its own numbers with the right code.
    println!(
        "| clients | checks | seconds | checks/s | bare hash before / after | cores ÷ hash time | of it | of the parallel bare rate | 20429 retried |"
    );
    println!(
        "|--------:|-------:|--------:|---------:|-------------------------:|------------------:|------:|--------------------------:|--------------:|"
    );
    let mut best = 0.0f64;
    let mut before = first_bare;
    let mut cpu_rows = Vec::new();
    for clients in [2usize, 8, 64] {
        let per = checks.div_ceil(clients);
        let numbers: Vec<String> = unused.by_ref().take(per * clients).collect();
        let t = Instant::now();
        let pending = create(&s, &fx, &numbers, 8);
        let created_in = t.elapsed().as_secs_f64();
        let retries = AtomicUsize::new(0);
        let (server_cpu, own_cpu) = (s.cpu_seconds(), own_cpu_seconds());
        let t = Instant::now();
        std::thread::scope(|sc| {
            for mine in pending.chunks(per) {
                let (s, retries) = (&s, &retries);
                sc.spawn(move || {
                    for p in mine {
                        // A client that is told 20429 tries again (counted), as Twilio's would.
                        let a = loop {
                            let a = s.check(p).expect("check");
                            if a.status == 429 && a.code == Some(20429) {
                                retries.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            break a;
                        };
                        assert_eq!(
                            (a.status, a.body["status"].as_str()),
                            (200, Some("approved")),
                            "{}",
                            a.body
                        );
                    }
                });
            }
        });
        let wall = t.elapsed().as_secs_f64();
        let per_check = |cpu: f64| cpu * 1e3 / pending.len() as f64;
        cpu_rows.push((
            clients,
            per_check(s.cpu_seconds() - server_cpu),
            per_check(own_cpu_seconds() - own_cpu),
        ));
        let after = bare_ms(&fx);
        let ideal = cores as f64 * 1e3 / ((before + after) / 2.0);
        let rate = pending.len() as f64 / wall;
        best = best.max(rate);
        println!(
            "| {clients:>7} | {:>6} | {wall:>7.2} | {rate:>8.1} | {before:>8.2} / {after:>5.2} ms | {ideal:>15.1}/s | {:>4.1} % | {:>23.1} % | {:>13} |",
            pending.len(),
            100.0 * rate / ideal,
            100.0 * rate / parallel,
            retries.load(Ordering::Relaxed)
        );
        before = after;
        eprintln!(
            "({} verifications created through the API in {created_in:.1} s)",
            pending.len()
        );
    }

    // Where the CPU went. A hash costs more CPU when every core hashes (shared caches and
    // memory bus): cores ÷ the all-cores bare rate. The server's CPU per check beyond that is
    // otpd's own work (HTTP, the two transactions, the audit row).
    let contended = cores as f64 * 1e3 / parallel;
    println!();
    println!(
        "| clients | server CPU per check | beyond a hash with every core hashing ({contended:.2} ms) | clients' CPU per check |"
    );
    println!(
        "|--------:|---------------------:|----------------------------------------------:|-----------------------:|"
    );
    for (clients, server, own) in &cpu_rows {
        println!(
            "| {clients:>7} | {server:>17.2} ms | {:>42.2} ms | {own:>19.2} ms |",
            server - contended
        );
    }

    // Open loop at 2x and 10x the best measured rate; numbers answered 20429 are reused.
    let mut report = Vec::new();
    for factor in [2.0, 10.0] {
        let rate = best * factor;
        // Enough numbers for every check the server could accept (with a margin).
        let need = (best * secs * 1.5) as usize + 64;
        let numbers: Vec<String> = unused.by_ref().take(need).collect();
        assert_eq!(numbers.len(), need, "not enough distinct numbers");
        let pool = Mutex::new(create(&s, &fx, &numbers, 8));
        let o = open_loop(&s, &pool, rate, secs);
        let (hwm, rss) = s.memory();
        report.push((factor, rate, o, hwm, rss));
    }

    println!();
    println!(
        "| offered load | offered | approved | 20429 (with Retry-After) | other | p50 / p99 ms (approved) | p50 / p99 ms (20429) |"
    );
    println!(
        "|-------------:|--------:|---------:|-------------------------:|------:|------------------------:|---------------------:|"
    );
    for (factor, rate, o, _, _) in &report {
        println!(
            "| {factor:>4}x = {rate:>5.0}/s | {:>7} | {:>8} | {:>5} = {:>4.1} % ({:>5}) | {:>5} | {:>9.1} / {:>9.1} | {:>7.1} / {:>7.1} |",
            o.offered,
            o.approved,
            o.saturated,
            100.0 * o.saturated as f64 / o.offered as f64,
            o.saturated_with_retry_after,
            o.other + o.errors + o.out_of_numbers,
            pct(&o.latency_ms, 0.5),
            pct(&o.latency_ms, 0.99),
            pct(&o.refused_ms, 0.5),
            pct(&o.refused_ms, 0.99),
        );
    }

    // Zero accepted requests lost: every check answered "approved" is approved in the store.
    let accepted: Vec<&String> = report.iter().flat_map(|r| &r.2.accepted).collect();
    let mut found = 0;
    for sid in &accepted {
        let a = s.get(&format!("/Verifications/{sid}")).expect("fetch");
        if a.status == 200 && a.body["status"] == "approved" {
            found += 1;
        }
    }
    let (hwm, rss) = (report[1].3, report[1].4);
    let m_cost = HashParams::OWASP.memory_kib as f64 / 1024.0;
    println!();
    println!(
        "accepted (approved) checks in the open-loop runs: {}; found approved by GET afterwards: {found}; lost: {}",
        accepted.len(),
        accepted.len() - found
    );
    println!(
        "server memory after the 10x overload: peak (VmHWM) {hwm:.1} MiB, now (VmRSS) {rss:.1} MiB; \
         workers × m_cost = {cores} × {m_cost:.1} MiB"
    );
    println!("load average after: {}", loadavg());
    assert_eq!(found, accepted.len(), "an accepted check was lost");
}

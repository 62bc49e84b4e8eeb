//! PostgreSQL against SQLite, as ratios measured in one run (issue 13): a one-shot `otpd verify`
//! on PostgreSQL over its Unix socket and over TCP against the same on SQLite; N terminals
//! verifying at once against cores ÷ hash time; `otpd audit verify` rows per second on a
//! 1,000,000-row log on both stores. Not a criterion bench: it spawns the release binary and
//! prints tables. Run `scripts/bench-postgres.sh`, which starts a throwaway cluster (fsync on)
//! and passes its URLs in `OTPD_BENCH_PG_SOCKET` and `OTPD_BENCH_PG_TCP`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use chrono::Utc;
use otpd::config::Database;
use otpd::crypto::HashParams;
use otpd::domain::PhoneNumber;
use otpd::store::any::AnyStore;

use common::{CODE, Fixture, SECRET, STATION};

/// Repeated verifications must not be refused by the abuse limits.
const CONFIG: &str = "[policy]\nmax_attempts = 100\n";

/// One store under test: a name for the tables and the `OTPD_DB` value that selects it.
struct Target {
    name: &'static str,
    db: String,
}

impl Target {
    fn database(&self) -> Database {
        otpd::config::database::target(Path::new(&self.db), None).expect("database")
    }

    fn open(&self) -> AnyStore {
        AnyStore::open(&self.database()).expect("open store")
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn otpd(fx: &Fixture, t: &Target, args: &[&str]) -> Command {
    let dir = fx.dir.path();
    let mut c = Command::new(env!("CARGO_BIN_EXE_otpd"));
    c.env_clear()
        .env("HOME", dir)
        .env("OTPD_CONFIG", dir.join("otpd.toml"))
        .env("OTPD_DB", &t.db)
        .env("OTPD_SECRET", SECRET)
        .env("OTPD_DELIVERY", "outbox")
        .env("OTPD_OUTBOX", dir.join("outbox.jsonl"))
        .env("OTPD_STATION", STATION)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

/// Runs one command to completion; panics if it failed (a failure measures nothing).
fn run(mut c: Command) {
    let out = c.output().expect("spawn otpd");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn verify_cmd(fx: &Fixture, t: &Target, phone: &PhoneNumber) -> Command {
    otpd(fx, t, &["verify", CODE, "--phone", phone.e164()])
}

fn main() {
    let socket = std::env::var("OTPD_BENCH_PG_SOCKET")
        .expect("OTPD_BENCH_PG_SOCKET: run scripts/bench-postgres.sh, which starts a server");
    let tcp = std::env::var("OTPD_BENCH_PG_TCP").expect("OTPD_BENCH_PG_TCP");
    let runs: usize = std::env::var("OTPD_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let rows: i64 = std::env::var("OTPD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let fx = Fixture::new(HashParams::OWASP);
    std::fs::write(fx.dir.path().join("otpd.toml"), CONFIG).expect("config");
    let targets = [
        Target {
            name: "SQLite (file)",
            db: fx.db_path().display().to_string(),
        },
        Target {
            name: "PostgreSQL (Unix socket)",
            db: socket,
        },
        Target {
            name: "PostgreSQL (TCP 127.0.0.1)",
            db: tcp,
        },
    ];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "otpd on PostgreSQL against SQLite: {runs} runs, {cores} cores, load {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let mut stores: Vec<AnyStore> = targets.iter().map(Target::open).collect();
    let bare = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                assert!(fx.bare_verify(CODE));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    );
    println!("\nbare argon2id verify (in-process, OWASP parameters): {bare:.2} ms");

    // One-shot verify, interleaved (one run of each store in turn) so that a change of load
    // during the run weighs on every store alike.
    let phones = common::phones(runs + 8 * runs + 10);
    let (oneshot, rest) = phones.split_at(runs);
    for (store, _) in stores.iter_mut().zip(&targets) {
        for p in oneshot {
            fx.insert_into(store.backend(), p, Utc::now(), 3600);
        }
    }
    let mut times = vec![Vec::new(); targets.len()];
    for p in oneshot {
        for (i, t) in targets.iter().enumerate() {
            let c = verify_cmd(&fx, t, p);
            let start = Instant::now();
            run(c);
            times[i].push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let medians: Vec<f64> = times.into_iter().map(median).collect();
    println!("\none-shot `otpd verify` (right code; whole process), median of {runs}:");
    println!("| store | median ms | ÷ SQLite | over the bare hash |");
    println!("|---|---|---|---|");
    for (t, m) in targets.iter().zip(&medians) {
        println!(
            "| {} | {m:.2} | {:.3} | +{:.2} ms |",
            t.name,
            m / medians[0],
            m - bare
        );
    }

    // N terminals at once, each running one-shot verifies of its own numbers one after another.
    let ceiling = cores as f64 * 1000.0 / bare;
    println!(
        "\nthroughput: N terminals, each running one-shot `otpd verify` back to back; \
         ceiling = cores ÷ hash time = {ceiling:.1} verifies/s"
    );
    println!("| store | N | verifies/s | ÷ ceiling |");
    println!("|---|---|---|---|");
    let per_terminal = runs.div_ceil(4).max(4);
    let mut pool = rest.iter();
    for n in [1usize, 2, 4] {
        let batch: Vec<Vec<PhoneNumber>> = (0..n)
            .map(|_| pool.by_ref().take(per_terminal).cloned().collect())
            .collect();
        for ((store, t), _) in stores.iter_mut().zip(&targets).zip(0..2) {
            for p in batch.iter().flatten() {
                fx.insert_into(store.backend(), p, Utc::now(), 3600);
            }
            let start = Instant::now();
            std::thread::scope(|s| {
                for mine in &batch {
                    let (fx, t) = (&fx, t);
                    s.spawn(move || {
                        for p in mine {
                            run(verify_cmd(fx, t, p));
                        }
                    });
                }
            });
            let rate = (n * per_terminal) as f64 / start.elapsed().as_secs_f64();
            println!(
                "| {} | {n} | {rate:.1} | {:.0} % |",
                t.name,
                100.0 * rate / ceiling
            );
        }
    }
    drop(stores);

    // `otpd audit verify` on a 1,000,000-row log, one log per store, the same rows.
    println!("\n`otpd audit verify` on {rows} rows (release binary, whole process, best of 3):");
    println!("| store | seconds | rows/s |");
    println!("|---|---|---|");
    for t in [&targets[0], &targets[1]] {
        let audit_db = match t.name {
            "SQLite (file)" => fx.dir.path().join("audit.db").display().to_string(),
            _ => std::env::var("OTPD_BENCH_PG_AUDIT").expect("OTPD_BENCH_PG_AUDIT"),
        };
        let at = Target {
            name: t.name,
            db: audit_db,
        };
        let build = Instant::now();
        let mut store = at.open();
        common::append_audit_rows(store.backend(), &fx.secrets, rows);
        // A real log's small commits are folded into the file by SQLite's automatic
        // checkpoint; fold the bulk load's WAL once, as that would (see benches/audit.rs).
        if let otpd::store::any::AnyStore::Sqlite(s) = &mut store {
            s.connection()
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .expect("checkpoint");
        }
        drop(store);
        eprintln!(
            "built {} rows on {} in {:.1} s",
            rows,
            at.name,
            build.elapsed().as_secs_f64()
        );
        let best = (0..3)
            .map(|_| {
                let c = otpd(&fx, &at, &["audit", "verify", "--no-head-file"]);
                let start = Instant::now();
                run(c);
                start.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min);
        println!("| {} | {best:.2} | {:.0} |", at.name, rows as f64 / best);
    }
    println!(
        "\nload average at the end: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
}

//! Benchmark (not a timed test) for a 1,000,000-event audit log: builds the log once through
//! the library, then times the release binary end to end — listing with and without filters,
//! paging, stats, verify (rows/s) and CSV export — plus verify in-process, and prints the
//! query plans so a missing index shows. Run: `cargo bench --bench audit` (OTPD_BENCH_ROWS to
//! change the size).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use otpd::crypto::Secrets;
use otpd::store::Backend;
use otpd::store::audit::AuditBatch;
use otpd::store::audit_query::Filter;
use otpd::store::sqlite::SqliteStore;

mod common;

const SECRET: &str = "otpd-audit-benchmark-secret-0123456789abcdef";

fn main() {
    let rows: i64 = std::env::var("OTPD_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-audit");
    std::fs::create_dir_all(&dir).expect("bench dir");
    std::fs::write(dir.join("none.toml"), "").expect("empty config");
    let db = dir.join(format!("audit-{rows}.db"));
    let secrets = Secrets::load(Some(SECRET), &dir.join("unused.key")).expect("secret");
    build(&db, &secrets, rows);

    let mut store = SqliteStore::open(&db).expect("open");
    let t = Instant::now();
    let report = otpd::audit::verify::verify(&mut store, &secrets, None).expect("verify");
    let took = t.elapsed();
    assert!(report.broken.is_none(), "the generated log must verify");
    println!(
        "in-process verify: {} rows in {:.3} s = {:.0} rows/s",
        report.rows,
        took.as_secs_f64(),
        report.rows as f64 / took.as_secs_f64()
    );
    let t = Instant::now();
    let mut after = 0;
    let mut page = AuditBatch::default();
    let backend: &mut dyn Backend = &mut store;
    backend
        .snapshot(|tx| {
            loop {
                tx.audit_scan(&Filter::default(), Some(after), 4096, &mut page)?;
                for r in page.iter() {
                    after = r.map_or_else(|id| id, |r| r.id);
                }
                if page.len() < 4096 {
                    return Ok(());
                }
            }
        })
        .expect("scan");
    let took = t.elapsed();
    println!(
        "  of which reading rows (no MAC): {:.3} s = {:.0} rows/s",
        took.as_secs_f64(),
        rows as f64 / took.as_secs_f64()
    );
    plans(&store);
    drop(store);

    println!("\nrelease binary, end to end (best of 3, including process start):");
    let bin = env!("CARGO_BIN_EXE_otpd");
    let cases: &[(&str, &[&str])] = &[
        ("audit --limit 50", &["audit", "--limit", "50"]),
        (
            "audit --limit 50 --phone",
            &["audit", "--limit", "50", "--phone", "+1 415 555 2671"],
        ),
        (
            "audit --limit 50 --station desk-3",
            &["audit", "--limit", "50", "--station", "desk-3"],
        ),
        (
            "audit --limit 50 --event approved",
            &["audit", "--limit", "50", "--event", "approved"],
        ),
        (
            "audit --limit 50 --event locked --event rate_limited",
            &[
                "audit",
                "--limit",
                "50",
                "--event",
                "locked",
                "--event",
                "rate_limited",
            ],
        ),
        (
            "audit --limit 50 --since 1d",
            &["audit", "--limit", "50", "--since", "1d"],
        ),
        (
            "audit --limit 50 --until 20d",
            &["audit", "--limit", "50", "--until", "20d"],
        ),
        (
            "audit --limit 50 --station desk-3 --until 20d",
            &[
                "audit",
                "--limit",
                "50",
                "--station",
                "desk-3",
                "--until",
                "20d",
            ],
        ),
        (
            "audit --limit 50 --before 500000",
            &["audit", "--limit", "50", "--before", "500000"],
        ),
        ("audit stats", &["audit", "stats"]),
        (
            "audit stats --since 7d",
            &["audit", "stats", "--since", "7d"],
        ),
        ("audit verify", &["audit", "verify"]),
        (
            "audit export --format csv",
            &["audit", "export", "--format", "csv"],
        ),
    ];
    for (name, args) in cases {
        let best = (0..3)
            .map(|_| time(bin, &db, &dir, args))
            .min()
            .unwrap_or_default();
        let per = match *name {
            "audit verify" | "audit export --format csv" => {
                format!("  ({:.0} rows/s)", rows as f64 / best.as_secs_f64())
            }
            _ => String::new(),
        };
        println!("{name:<52} {:>9.1} ms{per}", best.as_secs_f64() * 1000.0);
    }
}

/// Appends `rows` varied events (spread over the last 30 days) unless the file already has them.
fn build(db: &Path, secrets: &Secrets, rows: i64) {
    let mut store = SqliteStore::open(db).expect("open");
    let have = (&mut store as &mut dyn Backend)
        .snapshot(|tx| tx.audit_head_id())
        .expect("count");
    if have == rows {
        store
            .connection()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
        println!("reusing {} ({rows} rows)", db.display());
        return;
    }
    drop(store);
    let _ = std::fs::remove_file(db);
    let mut store = SqliteStore::open(db).expect("open");
    store
        .connection()
        .execute_batch("PRAGMA synchronous = OFF")
        .expect("pragma");
    let t = Instant::now();
    common::append_audit_rows(&mut store, secrets, rows);
    // The bulk load leaves tens of MiB of WAL (20,000-row transactions); every process that
    // opens the database first re-reads and checksums the WAL since the last checkpoint (~2 µs
    // a page here), which a real log never has this much of: its small commits are folded into
    // the database by the automatic checkpoint every 1000 pages. Fold it once, as that would.
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    println!(
        "built {} with {rows} rows in {:.1} s",
        db.display(),
        t.elapsed().as_secs_f64()
    );
}

fn plans(store: &SqliteStore) {
    let c = store.connection();
    let queries = [
        "SELECT * FROM audit_events ORDER BY id DESC LIMIT 51",
        "SELECT * FROM audit_events WHERE phone_key = 'x' ORDER BY id DESC LIMIT 51",
        "SELECT * FROM audit_events WHERE station = 'x' AND at < 5 ORDER BY id DESC LIMIT 51",
        "SELECT * FROM audit_events WHERE event IN ('a', 'b') ORDER BY id DESC LIMIT 51",
        "SELECT * FROM audit_events WHERE at >= 5 ORDER BY id DESC LIMIT 51",
        "SELECT at / 900000, event, count(*) FROM audit_events WHERE at >= 0 AND +event IN ('a') GROUP BY 1, 2",
    ];
    println!("query plans:");
    for q in queries {
        let mut stmt = c.prepare(&format!("EXPLAIN QUERY PLAN {q}")).expect("plan");
        let detail: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .expect("plan")
            .map(|r| r.unwrap_or_default())
            .collect();
        println!("  {q}\n    → {}", detail.join("; "));
    }
}

fn time(bin: &str, db: &Path, dir: &Path, args: &[&str]) -> Duration {
    let t = Instant::now();
    let status = Command::new(bin)
        .args(args)
        .env("OTPD_DB", db)
        .env("OTPD_SECRET", SECRET)
        .env("OTPD_CONFIG", dir.join("none.toml"))
        .env("OTPD_STATION", "bench")
        .env("OTPD_SECRET_FILE", dir.join("unused.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run otpd");
    let took = t.elapsed();
    assert!(status.success(), "{args:?} failed");
    took
}

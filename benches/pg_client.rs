//! Is the synchronous `postgres` client worth replacing (issue 25)? It runs tokio-postgres on a
//! private current-thread runtime per connection, driven by whichever thread holds the
//! connection; otpd's server holds it on a worker of its bounded blocking pool, never on a task
//! of the server's runtime. Measured on one throwaway server, side by side:
//! - the round trip of a prepared one-row statement: the sync client on a plain thread (what
//!   otpd does) against tokio-postgres awaited on a multi-thread runtime (what an async store
//!   would do), alone and with 8 at once (8 threads with a connection each, 8 tasks with one
//!   each);
//! - what 32 open connections cost the process: threads and resident memory, each way.
//!
//! Not a criterion bench: it prints a table. `scripts/bench-postgres.sh pg_client` starts the
//! cluster and passes its URL in `OTPD_BENCH_PG_TCP`.

use std::time::{Duration, Instant};

const ROUNDS: usize = 20_000;
const PARALLEL: usize = 8;
const HELD: usize = 32;

fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn sync_round_trips(url: &str, rounds: usize) -> Duration {
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
    let st = c.prepare("SELECT $1::int8").expect("prepare");
    let started = Instant::now();
    for i in 0..rounds as i64 {
        let row = c.query_one(&st, &[&i]).expect("query");
        assert_eq!(row.get::<_, i64>(0), i);
    }
    started.elapsed()
}

async fn async_round_trips(url: &str, rounds: usize) -> Duration {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let st = c.prepare("SELECT $1::int8").await.expect("prepare");
    let started = Instant::now();
    for i in 0..rounds as i64 {
        let row = c.query_one(&st, &[&i]).await.expect("query");
        assert_eq!(row.get::<_, i64>(0), i);
    }
    started.elapsed()
}

fn micros(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let Ok(url) = std::env::var("OTPD_BENCH_PG_TCP") else {
        eprintln!(
            "pg_client: OTPD_BENCH_PG_TCP is not set; run scripts/bench-postgres.sh pg_client"
        );
        return;
    };
    // What otpd's server runs next to the workers: a multi-thread runtime for the sockets.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    // Warm both paths (connections, the server's plan cache).
    sync_round_trips(&url, 500);
    rt.block_on(async_round_trips(&url, 500));

    let sync_one = micros(sync_round_trips(&url, ROUNDS), ROUNDS);
    let async_one = micros(rt.block_on(async_round_trips(&url, ROUNDS)), ROUNDS);

    let per = ROUNDS / PARALLEL;
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| sync_round_trips(&url, per));
        }
    });
    let sync_many = started.elapsed();
    let started = Instant::now();
    rt.block_on(async {
        let tasks: Vec<_> = (0..PARALLEL)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { async_round_trips(&url, per).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    let async_many = started.elapsed();

    let (threads0, rss0) = (status("Threads:"), status("VmRSS:"));
    let held: Vec<postgres::Client> = (0..HELD)
        .map(|_| postgres::Client::connect(&url, postgres::NoTls).expect("connect"))
        .collect();
    let (threads1, rss1) = (status("Threads:"), status("VmRSS:"));
    drop(held);
    let (threads2, rss2) = (status("Threads:"), status("VmRSS:"));
    let held = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..HELD {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            v.push(c);
        }
        v
    });
    let (threads3, rss3) = (status("Threads:"), status("VmRSS:"));
    drop(held);

    println!("| measure | sync `postgres` on a thread (otpd) | tokio-postgres on the runtime |");
    println!("|---|---|---|");
    println!("| one connection, µs per round trip ({ROUNDS}) | {sync_one:.1} | {async_one:.1} |");
    println!(
        "| {PARALLEL} at once, round trips per second | {:.0} | {:.0} |",
        ROUNDS as f64 / sync_many.as_secs_f64(),
        ROUNDS as f64 / async_many.as_secs_f64()
    );
    println!(
        "| {HELD} open connections: threads added | {} | {} |",
        threads1 as i64 - threads0 as i64,
        threads3 as i64 - threads2 as i64
    );
    println!(
        "| {HELD} open connections: resident memory added, KiB | {} | {} |",
        rss1 as i64 - rss0 as i64,
        rss3 as i64 - rss2 as i64
    );
}

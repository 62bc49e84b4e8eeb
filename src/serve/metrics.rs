//! `GET /metrics`: counters in Prometheus's text format — sends and checks by outcome, how long
//! a check's use case took (argon2 dominates it), the queue depth, the requests in flight, the
//! argon2 memory held and the access-log lines dropped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// Upper bounds of the check-time histogram, in seconds.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
pub struct Metrics {
    pub in_flight: AtomicI64,
    counts: Mutex<Counts>,
    /// The Verify Events task's counters.
    pub events: std::sync::Arc<super::events::EventCounters>,
}

#[derive(Default)]
struct Counts {
    sends: BTreeMap<&'static str, u64>,
    checks: BTreeMap<&'static str, u64>,
    /// Per bucket (cumulative at render), then the sum and the count.
    hash: [u64; BUCKETS.len()],
    hash_sum: f64,
    hash_count: u64,
    /// Twilio status callbacks, by result (`accepted`, `unknown`, `forbidden`, `invalid`).
    callbacks: BTreeMap<&'static str, u64>,
}

impl Metrics {
    pub fn send(&self, outcome: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.sends.entry(outcome).or_default() += 1;
        }
    }

    pub fn check(&self, outcome: &'static str, took: Duration) {
        if let Ok(mut c) = self.counts.lock() {
            *c.checks.entry(outcome).or_default() += 1;
            let s = took.as_secs_f64();
            if let Some(i) = BUCKETS.iter().position(|b| s <= *b) {
                c.hash[i] += 1;
            }
            c.hash_sum += s;
            c.hash_count += 1;
        }
    }

    pub fn callback(&self, result: &'static str) {
        if let Ok(mut c) = self.counts.lock() {
            *c.callbacks.entry(result).or_default() += 1;
        }
    }

    /// The Verify Events lines.
    fn render_events(&self, out: &mut String) {
        let e = &self.events;
        let load = |a: &AtomicI64| a.load(Ordering::Relaxed);
        let count = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP otpd_events_pending Verify Events queued for their sinks (all servers), at the last look.\n# TYPE otpd_events_pending gauge\notpd_events_pending {}",
            load(&e.pending)
        );
        let _ = writeln!(
            out,
            "# HELP otpd_events_parked Verify Events parked as failed after their last attempt (all servers).\n# TYPE otpd_events_parked gauge\notpd_events_parked {}",
            load(&e.parked)
        );
        let _ = writeln!(
            out,
            "# HELP otpd_events_dropped Verify Events not queued because their sink's queue was full (all servers).\n# TYPE otpd_events_dropped gauge\notpd_events_dropped {}",
            load(&e.dropped)
        );
        let _ = writeln!(
            out,
            "# HELP otpd_events_delivered_total Verify Events this server delivered.\n# TYPE otpd_events_delivered_total counter\notpd_events_delivered_total {}",
            count(&e.delivered)
        );
        let _ = writeln!(
            out,
            "# HELP otpd_events_retries_total Verify Events deliveries that failed and will be retried.\n# TYPE otpd_events_retries_total counter\notpd_events_retries_total {}",
            count(&e.retries)
        );
        let _ = writeln!(
            out,
            "# HELP otpd_events_failed_total Verify Events parked as failed by this server.\n# TYPE otpd_events_failed_total counter\notpd_events_failed_total {}",
            count(&e.failed)
        );
    }

    /// The exposition text.
    pub fn render(&self, queue_depth: usize, log_dropped: u64) -> String {
        let mut out = String::new();
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        let (arrays, bytes) = crate::crypto::argon2_memory_held();
        let _ = writeln!(
            out,
            "# HELP otpd_requests_in_flight HTTP requests being answered.\n# TYPE otpd_requests_in_flight gauge\notpd_requests_in_flight {in_flight}"
        );
        let _ = writeln!(
            out,
            "# HELP otpd_queue_depth Use cases waiting for a worker.\n# TYPE otpd_queue_depth gauge\notpd_queue_depth {queue_depth}"
        );
        let _ = writeln!(
            out,
            "# HELP otpd_log_lines_dropped_total Access-log lines dropped because stderr was not keeping up.\n# TYPE otpd_log_lines_dropped_total counter\notpd_log_lines_dropped_total {log_dropped}"
        );
        let _ = writeln!(
            out,
            "# HELP otpd_argon2_memory_arrays argon2 working-memory arrays held (at most the hashing workers).\n# TYPE otpd_argon2_memory_arrays gauge\notpd_argon2_memory_arrays {arrays}"
        );
        let _ = writeln!(
            out,
            "# HELP otpd_argon2_memory_bytes Bytes in the argon2 arrays held, hashing or idle.\n# TYPE otpd_argon2_memory_bytes gauge\notpd_argon2_memory_bytes {bytes}"
        );
        let _ = writeln!(
            out,
            "# HELP otpd_argon2_hashes_total argon2 hashes started (real and decoy).\n# TYPE otpd_argon2_hashes_total counter\notpd_argon2_hashes_total {}",
            crate::crypto::argon2_hashes()
        );
        self.render_events(&mut out);
        let Ok(c) = self.counts.lock() else {
            return out;
        };
        let _ = writeln!(
            out,
            "# HELP otpd_twilio_callbacks_total Twilio status callbacks, by result (forbidden: a wrong or missing X-Twilio-Signature).\n# TYPE otpd_twilio_callbacks_total counter"
        );
        for (k, v) in &c.callbacks {
            let _ = writeln!(out, "otpd_twilio_callbacks_total{{result=\"{k}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP otpd_sends_total Verifications created, by outcome.\n# TYPE otpd_sends_total counter"
        );
        for (k, v) in &c.sends {
            let _ = writeln!(out, "otpd_sends_total{{outcome=\"{k}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP otpd_checks_total Verification checks, by outcome.\n# TYPE otpd_checks_total counter"
        );
        for (k, v) in &c.checks {
            let _ = writeln!(out, "otpd_checks_total{{outcome=\"{k}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP otpd_check_hash_seconds Time of a check's use case on its worker (argon2 dominates it).\n# TYPE otpd_check_hash_seconds histogram"
        );
        let mut cumulative = 0;
        for (b, n) in BUCKETS.iter().zip(c.hash.iter()) {
            cumulative += n;
            let _ = writeln!(
                out,
                "otpd_check_hash_seconds_bucket{{le=\"{b}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "otpd_check_hash_seconds_bucket{{le=\"+Inf\"}} {}\notpd_check_hash_seconds_sum {}\notpd_check_hash_seconds_count {}",
            c.hash_count, c.hash_sum, c.hash_count
        );
        out
    }
}

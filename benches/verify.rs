//! In-process cost of a verification and whether its time gives the outcome away: the
//! whole use case — store, hash, audit — against a bare argon2id verify, same parameters, same
//! run. `cargo bench --bench verify`; ratios: `scripts/bench-process.sh --ratios`.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use otpd::clock::SystemClock;
use otpd::crypto::{CodeHasher, HashParams};
use otpd::delivery::OutboxDelivery;
use otpd::domain::{Outcome, PhoneNumber, Policy};
use otpd::service::Service;

use common::Fixture;

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn verify(c: &mut Criterion) {
    let fx = Fixture::new(HashParams::OWASP);
    let store = std::cell::RefCell::new(fx.store());
    let hasher = CodeHasher::new(fx.params, &fx.secrets).expect("hasher");
    let delivery = OutboxDelivery::new(fx.dir.path().join("outbox.jsonl"));
    let policy = Policy {
        max_attempts: 100,
        ..Policy::default()
    };
    let phone = PhoneNumber::parse("+1 415 555 2671").expect("phone");
    let stranger = PhoneNumber::parse("+1 202 555 0123").expect("phone");
    let code = common::code();
    let wrong = common::wrong();

    let mut g = c.benchmark_group("verify");
    g.sample_size(40)
        .measurement_time(Duration::from_secs(8))
        .warm_up_time(Duration::from_secs(2));

    g.bench_function("bare_argon2id", |b| {
        b.iter(|| assert!(fx.bare_verify(common::CODE)))
    });

    // Each case gets a fresh pending verification (inserted untimed, with a precomputed hash).
    let mut case =
        |name: &str, ttl: i64, who: &PhoneNumber, code: &otpd::domain::Code, want: &str| {
            g.bench_function(name, |b| {
                b.iter_batched(
                    || {
                        fx.insert(
                            &mut store.borrow_mut(),
                            &phone,
                            now() - chrono::TimeDelta::seconds(1),
                            ttl,
                        )
                    },
                    |()| {
                        let mut store = store.borrow_mut();
                        let mut service =
                            Service::new(&mut *store, fx.ctx(&hasher, &delivery, &policy));
                        let o: Outcome = service
                            .verify(&SystemClock, Some(who), code)
                            .expect("verify");
                        assert_eq!(o.name(), want);
                    },
                    BatchSize::PerIteration,
                )
            });
        };
    case("service_right_code", 300, &phone, &code, "approved");
    case("service_wrong_code", 300, &phone, &wrong, "invalid");
    case("service_expired_code", 0, &phone, &code, "expired");
    case(
        "service_unknown_number",
        300,
        &stranger,
        &code,
        "no_pending",
    );
    g.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);

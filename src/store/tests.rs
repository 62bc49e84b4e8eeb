//! The conditional updates of [`Tx`] through the [`Backend`] API: what a resend or a close
//! does when an approval, a cancel or another resend got there first. Their `bool` is the
//! store's word on whether the row changed, so a race is pinned here, not only in SQL.

use chrono::{DateTime, TimeDelta, Utc};

use super::sqlite::SqliteStore;
use super::{Backend, NewChallenge, Reissue, Tx};
use crate::domain::{Channel, PhoneNumber, State};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn start(tx: &mut dyn Tx, phone: &str) -> i64 {
    let phone = PhoneNumber::parse(phone).unwrap();
    tx.insert_challenge(&NewChallenge {
        phone: &phone,
        station: "desk-1",
        channel: Channel::Sms,
        code_hash: "hash-0",
        code_length: 6,
        now: t0(),
        expires_at: t0() + TimeDelta::seconds(300),
        max_attempts: 5,
        locale: None,
    })
    .unwrap()
}

fn resend(tx: &mut dyn Tx, id: i64, hash: &str) -> bool {
    tx.reissue(&Reissue {
        id,
        channel: Channel::Whatsapp,
        code_hash: hash,
        now: t0() + TimeDelta::seconds(10),
        expires_at: t0() + TimeDelta::seconds(310),
        locale: Some("es"),
        keep_replaced: true,
    })
    .unwrap()
}

/// (state, generation, code_hash, channel); a new verification is generation 1.
fn row(tx: &mut dyn Tx, id: i64) -> (State, i64, String, Channel) {
    let ch = tx.challenge(id).unwrap().unwrap();
    (ch.state, ch.generation, ch.code_hash, ch.channel)
}

fn with_tx(f: impl FnOnce(&mut dyn Tx)) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
    let backend: &mut dyn Backend = &mut store;
    let mut tx = backend.begin_write().unwrap();
    f(&mut *tx);
    tx.commit().unwrap();
}

#[test]
fn a_resend_racing_an_approval_or_a_cancel_changes_nothing_and_says_so() {
    with_tx(|tx| {
        let a = start(tx, "+1 415 555 2671");
        assert!(resend(tx, a, "hash-1"), "a pending code is replaced");
        assert_eq!(
            row(tx, a),
            (State::Pending, 2, "hash-1".into(), Channel::Whatsapp)
        );
        // The approval wins; the resend that was decided before it must not revive the row.
        assert!(tx.consume(a, 2, t0() + TimeDelta::seconds(20)).unwrap());
        assert!(!resend(tx, a, "hash-2"));
        assert_eq!(
            row(tx, a),
            (State::Approved, 2, "hash-1".into(), Channel::Whatsapp)
        );

        let b = start(tx, "+1 202 555 0123");
        assert!(tx.close(b, 1, State::Cancelled).unwrap());
        assert!(!resend(tx, b, "hash-1"));
        assert_eq!(
            row(tx, b),
            (State::Cancelled, 1, "hash-0".into(), Channel::Sms)
        );
    });
}

#[test]
fn close_ends_only_the_generation_still_pending_and_says_whether_it_did() {
    with_tx(|tx| {
        // A delivery failure of code 1 reported after a resend replaced it: the new code stays.
        let c = start(tx, "+1 415 555 2671");
        assert!(resend(tx, c, "hash-1"));
        assert!(!tx.close(c, 1, State::Failed).unwrap());
        assert_eq!(row(tx, c).0, State::Pending);
        assert!(tx.close(c, 2, State::Failed).unwrap());
        assert_eq!(row(tx, c).0, State::Failed);
        // A cancel after the failure closed it changes nothing.
        assert!(!tx.close(c, 2, State::Cancelled).unwrap());
        assert_eq!(row(tx, c).0, State::Failed);

        // A cancel racing an approval: the approval stands.
        let d = start(tx, "+44 7911 123456");
        assert!(tx.consume(d, 1, t0() + TimeDelta::seconds(5)).unwrap());
        assert!(!tx.close(d, 1, State::Cancelled).unwrap());
        assert_eq!(row(tx, d).0, State::Approved);
    });
}

#[test]
fn conflicts_are_retried_a_bounded_number_of_times_and_other_errors_not_at_all() {
    use super::{CONFLICT_ATTEMPTS, StoreError, retrying};
    let conflict = || StoreError::Conflict {
        path: "db".into(),
        detail: "could not serialize access".into(),
    };
    let mut calls = 0;
    let r = retrying(|| {
        calls += 1;
        if calls < 3 {
            Err(conflict())
        } else {
            Ok(calls)
        }
    });
    assert_eq!(r.unwrap(), 3);
    let mut calls = 0;
    let r: super::Result<()> = retrying(|| {
        calls += 1;
        Err(conflict())
    });
    assert!(matches!(r, Err(StoreError::Conflict { .. })));
    assert_eq!(calls, CONFLICT_ATTEMPTS);
    let mut calls = 0;
    let r: super::Result<()> = retrying(|| {
        calls += 1;
        Err(StoreError::ReadOnlyServer { path: "db".into() })
    });
    assert!(r.is_err());
    assert_eq!(calls, 1, "a read-only server is not retried");
}

#[test]
fn rows_after_pages_through_the_chain_in_id_order() {
    use super::audit::{Event, NewEvent};
    use super::sqlite::audit::rows_after;
    let secrets = crate::crypto::Secrets::from_master(b"0123456789abcdef0123456789abcdef");
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
    let backend: &mut dyn Backend = &mut store;
    let mut tx = backend.begin_write().unwrap();
    for detail in ["a", "b", "c"] {
        let e = NewEvent {
            at: t0(),
            station: "desk-1",
            event: Event::NoPending,
            phone: None,
            challenge_id: None,
            detail: detail.into(),
        };
        tx.append_event(&secrets, &e).unwrap();
    }
    tx.commit().unwrap();
    let c = store.connection();
    let page = |after, limit| -> Vec<(i64, String)> {
        let rows = rows_after(c, after, limit).unwrap();
        rows.into_iter().map(|r| (r.id, r.detail)).collect()
    };
    assert_eq!(page(0, 2), [(1, "a".into()), (2, "b".into())]);
    assert_eq!(page(2, 10), [(3, "c".to_string())]);
    assert!(page(3, 10).is_empty());
}

//! Unit tests of the chain checker: each kind of tampering, chunk and batch boundaries, heads,
//! keys, retention anchors (sealed, forged, heads judged by them), one batch per read
//! transaction, and the bounded check that `prune` runs inside its transaction.

use super::*;
use chrono::{DateTime, Utc};

use crate::store::audit::{Event, NewEvent};
use crate::store::sqlite::SqliteStore;

fn setup(n: usize) -> (tempfile::TempDir, SqliteStore, Secrets) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
    let secrets = Secrets::from_master(b"0123456789abcdef0123456789abcdef-test");
    let at: DateTime<Utc> = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let backend: &mut dyn Backend = &mut store;
    backend
        .transaction(|tx| {
            for i in 0..n {
                tx.append_event(
                    &secrets,
                    &NewEvent {
                        at,
                        station: "desk",
                        event: Event::Sent,
                        phone: None,
                        challenge_id: Some(i as i64),
                        detail: format!("row {i}"),
                    },
                )?;
            }
            Ok(())
        })
        .unwrap();
    (dir, store, secrets)
}

fn broken(
    store: &mut SqliteStore,
    secrets: &Secrets,
    head: Option<&Head>,
) -> Option<(i64, String)> {
    let r = verify(store, secrets, head).unwrap();
    r.broken.map(|b| (b.row, b.problem.name().to_string()))
}

#[test]
fn each_kind_of_tampering_names_the_first_bad_row() {
    let cases: &[(&str, Option<(i64, &str)>)] = &[
        ("", None),
        ("UPDATE audit_events SET station = 'x' WHERE id = 4", Some((4, "changed"))),
        ("UPDATE audit_events SET at = at + 1 WHERE id = 1", Some((1, "changed"))),
        ("UPDATE audit_events SET phone_key = '' WHERE id = 6", Some((6, "changed"))),
        ("UPDATE audit_events SET challenge_id = NULL WHERE id = 2", Some((2, "changed"))),
        ("UPDATE audit_events SET mac = upper(mac) WHERE id = 8", Some((8, "changed"))),
        (
            "UPDATE audit_events SET prev_mac = (SELECT prev_mac FROM audit_events WHERE id = 2) WHERE id = 5",
            Some((5, "changed")),
        ),
        ("UPDATE audit_events SET prev_mac = 'x' || substr(prev_mac, 2) WHERE id = 3", Some((3, "changed"))),
        ("DELETE FROM audit_events WHERE id = 5", Some((5, "deleted"))),
        ("DELETE FROM audit_events WHERE id <= 2", Some((1, "deleted"))),
        (
            "DELETE FROM audit_events WHERE id = 5; UPDATE audit_events SET id = id - 1 WHERE id > 5",
            Some((5, "deleted")),
        ),
        (
            "UPDATE audit_events SET id = id + 100 WHERE id >= 4;
             UPDATE audit_events SET id = id - 99 WHERE id >= 100;
             INSERT INTO audit_events (id, at, station, event, outcome, detail, prev_mac, mac)
               SELECT 4, at, station, event, outcome, 'forged', mac, mac FROM audit_events WHERE id = 3",
            Some((4, "inserted")),
        ),
        ("UPDATE audit_events SET detail = CAST(x'ff' AS TEXT) WHERE id = 6", Some((6, "changed"))),
        (
            "INSERT INTO audit_events (id, at, station, event, outcome, detail, prev_mac, mac)
               SELECT 0, at, station, event, outcome, detail, prev_mac, mac FROM audit_events WHERE id = 1",
            Some((0, "inserted")),
        ),
        ("UPDATE audit_events SET at = 'soon' WHERE id = 2", Some((2, "changed"))),
        (
            "DELETE FROM audit_events WHERE id = 5; UPDATE audit_events SET detail = CAST(x'ff' AS TEXT) WHERE id = 6",
            Some((5, "deleted")),
        ),
        (
            "UPDATE audit_events SET id = -3 WHERE id = 3; UPDATE audit_events SET id = 3 WHERE id = 7;
             UPDATE audit_events SET id = 7 WHERE id = -3",
            Some((3, "reordered")),
        ),
    ];
    for (sql, want) in cases {
        let (_dir, mut store, secrets) = setup(10);
        store.connection().execute_batch(sql).unwrap();
        let got = broken(&mut store, &secrets, None);
        assert_eq!(got, want.map(|(r, p)| (r, p.to_string())), "{sql}");
    }
}

#[test]
fn breaks_are_found_across_chunk_and_batch_boundaries() {
    let (_dir, mut store, secrets) = setup(1500);
    let r = verify(&mut store, &secrets, None).unwrap();
    assert_eq!((r.rows, r.broken), (1500, None));
    for id in [1, 63, 64, 65, 128, 699, 700, 701, 1400, 1401, 1499, 1500] {
        let c = store.connection();
        c.execute(
            "UPDATE audit_events SET detail = detail || '!' WHERE id = ?1",
            [id],
        )
        .unwrap();
        let r = verify(&mut store, &secrets, None).unwrap();
        assert_eq!(
            r.broken.map(|b| (b.row, b.problem)),
            Some((id, Problem::Changed)),
            "{id}"
        );
        assert_eq!(r.rows, id as u64 - 1);
        store
            .connection()
            .execute(
                "UPDATE audit_events SET detail = rtrim(detail, '!') WHERE id = ?1",
                [id],
            )
            .unwrap();
    }
    store
        .connection()
        .execute("DELETE FROM audit_events WHERE id = 701", [])
        .unwrap();
    let r = verify(&mut store, &secrets, None).unwrap();
    assert_eq!(
        r.broken.map(|b| (b.row, b.problem)),
        Some((701, Problem::Deleted { from: 701, to: 701 }))
    );
}

#[test]
fn a_truncated_tail_is_found_only_against_a_head() {
    let (_dir, mut store, secrets) = setup(5);
    let backend: &mut dyn Backend = &mut store;
    let (id, mac) = backend.snapshot(|tx| tx.audit_head()).unwrap().unwrap();
    let head = Head::parse(&format!("{id}:{mac}")).unwrap();
    assert_eq!(broken(&mut store, &secrets, Some(&head)), None);
    store
        .connection()
        .execute_batch("DELETE FROM audit_events WHERE id >= 4")
        .unwrap();
    assert_eq!(broken(&mut store, &secrets, None), None);
    assert_eq!(
        broken(&mut store, &secrets, Some(&head)),
        Some((4, "truncated".into()))
    );
    let wrong = Head::parse(&format!("3:{}", "0".repeat(64))).unwrap();
    assert_eq!(
        broken(&mut store, &secrets, Some(&wrong)),
        Some((3, "head_mismatch".into()))
    );
}

#[test]
fn a_different_key_breaks_the_first_row_and_heads_parse_strictly() {
    let (_dir, mut store, _) = setup(3);
    let other = Secrets::from_master(b"another-secret-0123456789abcdef-xx");
    assert_eq!(
        broken(&mut store, &other, None),
        Some((1, "changed".into()))
    );
    for bad in ["", "3", "x:ab", "3:abc", &format!("0:{}", "a".repeat(64))] {
        assert!(Head::parse(bad).is_err(), "{bad}");
    }
    let h = Head::parse(&format!("12:{} 2026-11-28T10:00:00Z", "AB".repeat(32))).unwrap();
    assert_eq!(h.id, 12);
    assert_eq!(h.mac, "ab".repeat(32));
    assert_eq!(
        Head::parse(&format!("1:{}", "c".repeat(64)))
            .ok()
            .map(|h| h.id),
        Some(1)
    );
}

#[test]
fn the_bounded_check_reads_through_its_row_and_no_further() {
    let (_dir, mut store, secrets) = setup(1500);
    let through = |store: &mut SqliteStore, t: i64| {
        let backend: &mut dyn Backend = store;
        backend
            .transaction(|tx| verify_through(tx, &secrets, t))
            .unwrap()
            .map(|b| (b.row, b.problem))
    };
    store
        .connection()
        .execute("UPDATE audit_events SET detail = 'x' WHERE id = 900", [])
        .unwrap();
    assert_eq!(
        through(&mut store, 899),
        None,
        "row 900 is beyond the bound"
    );
    assert_eq!(through(&mut store, 900), Some((900, Problem::Changed)));
    assert_eq!(through(&mut store, 1500), Some((900, Problem::Changed)));
    // The bound row missing: the gap is found at the next row read.
    store
        .connection()
        .execute("DELETE FROM audit_events WHERE id = 10", [])
        .unwrap();
    assert_eq!(
        through(&mut store, 10),
        Some((10, Problem::Deleted { from: 10, to: 10 }))
    );
    assert!(is_mac(&"ab".repeat(32)) && !is_mac(&"AB".repeat(32)) && !is_mac("ab"));
}

/// Seals an anchor over rows `1..=last_id` as retention does, then deletes those rows.
fn retain_through(store: &mut SqliteStore, secrets: &Secrets, last_id: i64) -> String {
    let c = store.connection();
    let last_mac: String = c
        .query_row(
            "SELECT mac FROM audit_events WHERE id = ?1",
            [last_id],
            |r| r.get(0),
        )
        .unwrap();
    let at = 1_800_000_000_000_i64;
    c.execute(
        "INSERT INTO audit_anchor (last_id, last_mac, removed, at, mac) VALUES (?1, ?2, ?1, ?3, ?4)",
        rusqlite::params![
            last_id,
            last_mac,
            at,
            audit::anchor_mac(secrets, last_id, &last_mac, last_id, at)
        ],
    )
    .unwrap();
    c.execute("DELETE FROM audit_events WHERE id <= ?1", [last_id])
        .unwrap();
    last_mac
}

#[test]
fn after_retention_the_chain_continues_from_the_anchor_and_heads_are_judged_by_it() {
    let (_dir, mut store, secrets) = setup(10);
    let mac4 = retain_through(&mut store, &secrets, 4);
    let r = verify(&mut store, &secrets, None).unwrap();
    assert_eq!(
        (r.rows, r.first_id, r.last_id, r.anchor_last_id, r.broken),
        (6, Some(5), Some(10), Some(4), None)
    );
    // A head on the anchor's row: vouched for when the MACs agree, a mismatch otherwise.
    let at_anchor = Head::parse(&format!("4:{mac4}")).unwrap();
    let r = verify(&mut store, &secrets, Some(&at_anchor)).unwrap();
    assert_eq!(
        (r.broken, r.head.map(|h| h.1)),
        (None, Some(HeadStatus::BeforeAnchor))
    );
    let wrong = Head::parse(&format!("4:{}", "0".repeat(64))).unwrap();
    assert_eq!(
        broken(&mut store, &secrets, Some(&wrong)),
        Some((4, "head_mismatch".into()))
    );
    // Older than the anchor: the anchor vouches for it, whatever its MAC.
    let older = Head::parse(&format!("2:{}", "0".repeat(64))).unwrap();
    let r = verify(&mut store, &secrets, Some(&older)).unwrap();
    assert_eq!(
        (r.broken, r.head.map(|h| h.1)),
        (None, Some(HeadStatus::BeforeAnchor))
    );
    // Every remaining row gone too: a head at the anchor still holds, a later one is truncation
    // right after the anchor.
    store
        .connection()
        .execute("DELETE FROM audit_events", [])
        .unwrap();
    let r = verify(&mut store, &secrets, Some(&at_anchor)).unwrap();
    assert_eq!(
        (r.rows, r.broken, r.head.map(|h| h.1)),
        (0, None, Some(HeadStatus::BeforeAnchor))
    );
    let later = Head::parse(&format!("7:{}", "0".repeat(64))).unwrap();
    let r = verify(&mut store, &secrets, Some(&later)).unwrap();
    assert_eq!(
        r.broken,
        Some(Broken {
            row: 5,
            problem: Problem::Truncated {
                head_id: 7,
                last_id: 4
            }
        })
    );
}

#[test]
fn a_forged_or_malformed_anchor_and_rows_below_it_break_the_chain() {
    // The anchor's seal edited: anchor_changed at the first row after it.
    let (_dir, mut store, secrets) = setup(10);
    retain_through(&mut store, &secrets, 4);
    store
        .connection()
        .execute("UPDATE audit_anchor SET removed = removed + 1", [])
        .unwrap();
    assert_eq!(
        broken(&mut store, &secrets, None),
        Some((5, "anchor_changed".into()))
    );
    // Sealed by the key but over a last_mac that is no MAC.
    let (_dir, mut store, secrets) = setup(10);
    retain_through(&mut store, &secrets, 4);
    let bogus = "ab".repeat(31);
    store
        .connection()
        .execute(
            "UPDATE audit_anchor SET last_mac = ?1, mac = ?2",
            rusqlite::params![
                bogus,
                audit::anchor_mac(&secrets, 4, &bogus, 4, 1_800_000_000_000)
            ],
        )
        .unwrap();
    assert_eq!(
        broken(&mut store, &secrets, None),
        Some((5, "anchor_changed".into()))
    );
    // A row at the anchor's own id, or the first row after it deleted.
    let (_dir, mut store, secrets) = setup(10);
    retain_through(&mut store, &secrets, 4);
    store
        .connection()
        .execute_batch(
            "INSERT INTO audit_events (id, at, station, event, outcome, detail, prev_mac, mac)
               SELECT 4, at, station, event, outcome, detail, prev_mac, mac FROM audit_events WHERE id = 5",
        )
        .unwrap();
    assert_eq!(
        broken(&mut store, &secrets, None),
        Some((4, "inserted".into()))
    );
    store
        .connection()
        .execute("DELETE FROM audit_events WHERE id <= 5", [])
        .unwrap();
    let r = verify(&mut store, &secrets, None).unwrap();
    assert_eq!(
        r.broken,
        Some(Broken {
            row: 5,
            problem: Problem::Deleted { from: 5, to: 5 }
        })
    );
}

#[test]
fn gaps_are_reported_with_their_extent_and_an_empty_log_against_a_head_is_truncated() {
    // An unreadable row after a gap: the gap, with its extent, comes first.
    let (_dir, mut store, secrets) = setup(10);
    store
        .connection()
        .execute_batch(
            "DELETE FROM audit_events WHERE id IN (4, 5);
             UPDATE audit_events SET detail = CAST(x'ff' AS TEXT) WHERE id = 6",
        )
        .unwrap();
    let r = verify(&mut store, &secrets, None).unwrap();
    assert_eq!((r.rows, r.first_id, r.last_id), (3, Some(1), Some(3)));
    assert_eq!(
        r.broken,
        Some(Broken {
            row: 4,
            problem: Problem::Deleted { from: 4, to: 5 }
        })
    );
    // Every row deleted, a head on record: truncated from row 1.
    let head = Head::parse(&format!("1:{}", "a".repeat(64))).unwrap();
    store
        .connection()
        .execute("DELETE FROM audit_events", [])
        .unwrap();
    let r = verify(&mut store, &secrets, Some(&head)).unwrap();
    assert_eq!((r.rows, r.first_id, r.last_id), (0, None, None));
    assert_eq!(
        r.broken,
        Some(Broken {
            row: 1,
            problem: Problem::Truncated {
                head_id: 1,
                last_id: 0
            }
        })
    );
}

#[test]
fn two_adjacent_rows_swapped_are_reordered_after_the_later_one() {
    let (_dir, mut store, secrets) = setup(10);
    store
        .connection()
        .execute_batch(
            "UPDATE audit_events SET id = -3 WHERE id = 3; UPDATE audit_events SET id = 3 WHERE id = 4;
             UPDATE audit_events SET id = 4 WHERE id = -3",
        )
        .unwrap();
    let r = verify(&mut store, &secrets, None).unwrap();
    assert_eq!(
        r.broken,
        Some(Broken {
            row: 3,
            problem: Problem::Reordered { follows: 4 }
        })
    );
}

/// The store as a [`Source`] that counts its read transactions.
struct Counting<'a> {
    store: &'a mut SqliteStore,
    reads: usize,
}

impl Source for Counting<'_> {
    fn read<T>(
        &mut self,
        f: impl FnMut(&mut dyn Tx) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.reads += 1;
        let backend: &mut dyn Backend = self.store;
        backend.snapshot(f)
    }
}

#[test]
fn a_long_verify_reads_one_batch_per_read_transaction() {
    let (_dir, mut store, secrets) = setup(1500);
    let mut source = Counting {
        store: &mut store,
        reads: 0,
    };
    let r = verify_from(&mut source, &secrets, None, None).unwrap();
    assert_eq!((r.rows, r.broken), (1500, None));
    // The anchor, the lowest id, then batches of 700, 700 and 100 rows.
    assert_eq!(source.reads, 2 + 3);
}

//! Unit tests of the chain checker: each kind of tampering, chunk and batch boundaries, heads,
//! keys, and the bounded check that `prune` runs inside its transaction.

use super::*;
use chrono::{DateTime, Utc};

use crate::store::Store;
use crate::store::audit::{Event, NewEvent};

fn setup(n: usize) -> (tempfile::TempDir, Store, Secrets) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("otpd.db")).unwrap();
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

fn broken(store: &mut Store, secrets: &Secrets, head: Option<&Head>) -> Option<(i64, String)> {
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
}

#[test]
fn the_bounded_check_reads_through_its_row_and_no_further() {
    let (_dir, mut store, secrets) = setup(1500);
    let through = |store: &mut Store, t: i64| {
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

//! The audit chain against a known-answer vector computed outside otpd
//! (`scripts/audit-chain-vector.py`, Python's `hmac` and `hashlib` from the written format):
//! fails if the canonical encoding, the key derivation, the chaining or the phone key drift from
//! what every stored chain was sealed with.

use super::*;
use crate::clock::from_ms;

/// The master secret the script uses (as `OTPD_SECRET` would give it).
pub(crate) const MASTER: &str = "otpd-audit-known-answer-master-secret-0001";

// Pasted from `python3 scripts/audit-chain-vector.py`.
const PHONE_KEY_US: &str = "3cb94f37c8f2be84837dcd166642ad6c";
const CANONICAL_1: &str = "6f7470642d61756469742d7631000000080000000000000001000000080000019afb420800000000066465736b2d310000000473656e74000000026f6b0000001b2b3120e280a2e280a2e280a22de280a2e280a2e280a22d3236373100000020336362393466333763386632626538343833376463643136363634326164366300000008000000000000000100000003736d73";
const MAC_1: &str = "112644b2dfd28c2afb342e4ae87bc5c5185164fd4fb6940e415d5df6557609d2";
const MAC_2: &str = "2435e4af2f91728de83b4abaeda93a830df93253886aceb0015fe2a11adc0346";
const MAC_3: &str = "f00cb214743207b8d21b3d1e634f882fd885262528b75f41bb8bca26860ced76";

/// The script's three rows, without their MACs.
fn rows() -> Vec<AuditRow> {
    let row =
        |id, at, station: &str, event: &str, outcome: &str, phone: bool, cid, detail: &str| {
            AuditRow {
                id,
                at,
                station: station.into(),
                event: event.into(),
                outcome: outcome.into(),
                phone_masked: phone.then(|| "+1 •••-•••-2671".to_string()),
                phone_key: phone.then(|| PHONE_KEY_US.to_string()),
                challenge_id: cid,
                detail: detail.into(),
                prev_mac: String::new(),
                mac: String::new(),
            }
        };
    vec![
        row(
            1,
            1765152000000,
            "desk-1",
            "sent",
            "ok",
            true,
            Some(1),
            "sms",
        ),
        row(
            2,
            1765152000250,
            "desk-1",
            "delivered",
            "ok",
            true,
            Some(1),
            "outbox",
        ),
        row(
            3,
            1765152061000,
            "kiosk é",
            "invalid",
            "refused",
            false,
            None,
            "",
        ),
    ]
}

#[test]
fn the_chain_matches_a_vector_computed_outside_otpd() {
    let secrets = Secrets::from_master(MASTER.as_bytes());
    assert_eq!(secrets.phone_key("+14155552671"), PHONE_KEY_US);
    let rows = rows();
    assert_eq!(hex::encode(canonical(&rows[0])), CANONICAL_1);
    let mut prev = GENESIS_MAC.to_string();
    for (row, expected) in rows.iter().zip([MAC_1, MAC_2, MAC_3]) {
        let mac = row_mac(&secrets, &prev, row);
        assert_eq!(mac, expected, "row {}", row.id);
        prev = mac;
    }
}

#[test]
fn a_new_row_is_chained_exactly_as_the_vector_says() {
    let secrets = Secrets::from_master(MASTER.as_bytes());
    let phone = PhoneNumber::parse("+1 415 555 2671").unwrap();
    let e = NewEvent {
        at: from_ms(1765152000000),
        station: "desk-1",
        event: Event::Sent,
        phone: Some(&phone),
        challenge_id: Some(1),
        detail: "sms".into(),
    };
    let made = chain_row(&secrets, 0, GENESIS_MAC.to_string(), &e);
    let mut expected = rows().remove(0);
    expected.prev_mac = GENESIS_MAC.into();
    expected.mac = MAC_1.into();
    assert_eq!(made, expected);
}

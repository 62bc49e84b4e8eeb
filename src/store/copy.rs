//! What `otpd store copy` needs from a store, in a vocabulary every store can speak: every table
//! read page by page in key order as rows of neutral values ([`CopyTx::dump_rows`]), rows
//! inserted with their ids as they are ([`CopyTx::load_rows`]), and whether a store is still
//! empty. [`copy`] moves one store into another in one transaction on each side, so the copy's
//! audit chain verifies with the original's head.

use super::{Backend, Result};

/// The tables a store holds, in the order [`copy`] fills them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Challenges,
    AuditEvents,
    AuditAnchor,
    LimitSends,
    LimitNumbers,
    /// One row (id 1) that a fresh schema already holds: loading it replaces that row.
    LimitPause,
    LimitPauses,
    /// `otpd serve`'s API keys (hashed secrets), each verification's `VE…` SID and the
    /// server's settings (its service SID): a copied server answers the same clients.
    ApiKeys,
    VerificationSids,
    ServerSettings,
    /// The programmable rate limits, their buckets and the creates counted (issue 26).
    RateLimits,
    RateLimitBuckets,
    RateLimitHits,
    /// Verify Events not yet delivered (or parked as failed): the copy delivers them.
    EventOutbox,
}

impl Table {
    pub const ALL: [Table; 14] = [
        Table::Challenges,
        Table::AuditEvents,
        Table::AuditAnchor,
        Table::LimitSends,
        Table::LimitNumbers,
        Table::LimitPause,
        Table::LimitPauses,
        Table::ApiKeys,
        Table::VerificationSids,
        Table::ServerSettings,
        Table::RateLimits,
        Table::RateLimitBuckets,
        Table::RateLimitHits,
        Table::EventOutbox,
    ];

    /// The table's name in the schema.
    pub fn name(self) -> &'static str {
        match self {
            Table::Challenges => "challenges",
            Table::AuditEvents => "audit_events",
            Table::AuditAnchor => "audit_anchor",
            Table::LimitSends => "limit_sends",
            Table::LimitNumbers => "limit_numbers",
            Table::LimitPause => "limit_pause",
            Table::LimitPauses => "limit_pauses",
            Table::ApiKeys => "api_keys",
            Table::VerificationSids => "verification_sids",
            Table::ServerSettings => "server_settings",
            Table::RateLimits => "rate_limits",
            Table::RateLimitBuckets => "rate_limit_buckets",
            Table::RateLimitHits => "rate_limit_hits",
            Table::EventOutbox => "event_outbox",
        }
    }

    /// Every column, in the order of a dumped [`Row`]; the first [`Table::key_len`] of them
    /// are the primary key.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Challenges => &[
                "id",
                "phone",
                "station",
                "channel",
                "code_hash",
                "code_length",
                "generation",
                "created_at",
                "sent_at",
                "expires_at",
                "attempts",
                "max_attempts",
                "resends",
                "state",
                "used_at",
                "delivery_status",
                "provider_ref",
                "locale",
                "replaced_hash",
                "replaced_expires_at",
            ],
            Table::AuditEvents => &[
                "id",
                "at",
                "station",
                "event",
                "outcome",
                "phone_masked",
                "phone_key",
                "challenge_id",
                "detail",
                "prev_mac",
                "mac",
            ],
            Table::AuditAnchor => &["seq", "last_id", "last_mac", "removed", "at", "mac"],
            Table::LimitSends => &[
                "id",
                "at",
                "phone_key",
                "prefix_key",
                "station",
                "challenge_id",
                "converted",
            ],
            Table::LimitNumbers => &[
                "phone_key",
                "phone_masked",
                "streak",
                "last_send_at",
                "failures",
                "locked_until",
                "needs_unlock",
            ],
            Table::LimitPause => &["id", "paused_at", "reason", "resumed_at"],
            Table::LimitPauses => &["scope", "key", "name", "paused_at", "reason"],
            Table::ApiKeys => &[
                "sid",
                "secret_hash",
                "station",
                "role",
                "created_at",
                "revoked_at",
                "mac",
            ],
            Table::VerificationSids => &["sid", "challenge_id"],
            Table::ServerSettings => &["name", "value"],
            Table::RateLimits => &[
                "sid",
                "unique_name",
                "description",
                "created_at",
                "updated_at",
            ],
            Table::RateLimitBuckets => &[
                "sid",
                "rate_limit_sid",
                "max",
                "interval_s",
                "created_at",
                "updated_at",
            ],
            Table::RateLimitHits => &["id", "rate_limit_sid", "value_key", "at"],
            Table::EventOutbox => &[
                "id",
                "sink",
                "event_type",
                "audit_id",
                "challenge_id",
                "created_at",
                "data",
                "attempts",
                "next_at",
                "lease_until",
                "state",
                "last_error",
            ],
        }
    }

    /// How many leading columns form the primary key (the order rows are dumped in).
    pub fn key_len(self) -> usize {
        match self {
            Table::LimitPauses => 2,
            _ => 1,
        }
    }
}

/// One stored value, as every store can hold it: otpd writes only integers, text and NULL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Integer(i64),
    Text(String),
}

/// One row: a value per column of its [`Table::columns`], in that order.
pub type Row = Vec<Value>;

/// What copying asks of a store inside one transaction (every [`super::Tx`] is one).
pub trait CopyTx {
    /// Whether the store holds nothing but what a freshly created schema holds (no row in any
    /// table, and the one `limit_pause` row with every column but its id NULL).
    fn is_empty(&mut self) -> Result<bool>;
    /// Up to `limit` rows of `table` in ascending primary-key order, starting after the row
    /// whose key (its first [`Table::key_len`] values) is `after` — from the first row when
    /// `None`. Fewer than `limit` rows means the end was reached.
    fn dump_rows(
        &mut self,
        table: Table,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Row>>;
    /// Inserts `rows` as [`CopyTx::dump_rows`] returned them, ids and keys preserved, into a
    /// store that [`CopyTx::is_empty`] found empty (write transactions only). A store whose
    /// ids come from sequences moves them past the ids loaded.
    fn load_rows(&mut self, table: Table, rows: &[Row]) -> Result<()>;
}

/// Rows per [`CopyTx::dump_rows`] call.
const PAGE: usize = if cfg!(test) { 3 } else { 1000 };

/// What [`copy`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copied {
    /// Every table copied: how many rows each held.
    Done(Vec<(Table, u64)>),
    /// Nothing was written: the target already holds data.
    TargetNotEmpty,
}

/// Copies every row of `from` (one read snapshot) into `to` (one write transaction), refusing
/// a target that is not empty. On any error the target is rolled back, left as it was.
pub fn copy(from: &mut dyn Backend, to: &mut dyn Backend) -> Result<Copied> {
    let mut dst = to.begin_write()?;
    if !dst.is_empty()? {
        return Ok(Copied::TargetNotEmpty);
    }
    let mut src = from.begin_read()?;
    let mut counts = Vec::with_capacity(Table::ALL.len());
    for table in Table::ALL {
        let mut after: Option<Row> = None;
        let mut n = 0u64;
        loop {
            let key = after.as_deref().map(|r| &r[..table.key_len()]);
            let rows = src.dump_rows(table, key, PAGE)?;
            dst.load_rows(table, &rows)?;
            n += rows.len() as u64;
            if rows.len() < PAGE {
                break;
            }
            after = rows.into_iter().last();
        }
        counts.push((table, n));
    }
    src.commit()?;
    dst.commit()?;
    Ok(Copied::Done(counts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn all_rows(store: &SqliteStore) -> Vec<Vec<rusqlite::types::Value>> {
        let c = store.connection();
        let mut out = Vec::new();
        for t in Table::ALL {
            let mut stmt = c
                .prepare(&format!("SELECT * FROM {} ORDER BY 1, 2", t.name()))
                .unwrap();
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| (0..n).map(|i| r.get(i)).collect())
                .unwrap();
            for row in rows {
                let mut row: Vec<rusqlite::types::Value> = row.unwrap();
                row.insert(0, rusqlite::types::Value::Text(t.name().into()));
                out.push(row);
            }
        }
        out
    }

    #[test]
    fn copies_every_table_page_by_page_with_ids_and_refuses_a_store_with_data() {
        let dir = tempfile::tempdir().unwrap();
        let mut from = SqliteStore::open(&dir.path().join("a.db")).unwrap();
        let mut to = SqliteStore::open(&dir.path().join("b.db")).unwrap();
        // More rows than a page in each table, ids with gaps, keys of one and two columns.
        from.connection()
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8)
                 INSERT INTO challenges (id, phone, station, channel, code_hash, code_length,
                     created_at, sent_at, expires_at, max_attempts)
                     SELECT i * 3, '+14155552671', 'desk', 'sms', 'h', 6, i, i, i + 300, 5 FROM n;
                 INSERT INTO audit_events (id, at, station, event, outcome, phone_masked, detail,
                     prev_mac, mac)
                     SELECT id + 40, created_at, station, 'sent', 'ok', NULL, '', 'p', 'm'
                     FROM challenges;
                 INSERT INTO audit_anchor (last_id, last_mac, removed, at, mac)
                     VALUES (40, 'l', 40, 1, 'a'), (41, 'l', 1, 2, 'b');
                 INSERT INTO limit_sends (at, phone_key, prefix_key, station, challenge_id)
                     SELECT created_at, 'k', 'p', station, id FROM challenges;
                 INSERT INTO limit_numbers (phone_key, phone_masked, locked_until)
                     SELECT 'k' || id, '+1 415 ••• ••71', NULL FROM challenges;
                 UPDATE limit_pause SET resumed_at = 7;
                 INSERT INTO limit_pauses (scope, key, name, paused_at, reason) VALUES
                     ('station', 'a', 'a', 1, 'r'), ('station', 'b', 'b', 1, 'r'),
                     ('station', 'c', 'c', 1, 'r'), ('prefix', 'a', 'x', 1, 'r'),
                     ('prefix', 'b', 'y', 1, 'r'), ('global', '', '', 1, 'r');
                 INSERT INTO api_keys (sid, secret_hash, station, role, created_at) VALUES
                     ('SK' || printf('%032x', 1), 'h', 'kiosk-1', 'station', 1),
                     ('SK' || printf('%032x', 2), 'h', 'desk', 'admin', 1),
                     ('SK' || printf('%032x', 3), 'h', 'audit', 'auditor', 1),
                     ('SK' || printf('%032x', 4), 'h', 'kiosk-2', 'station', 1);
                 INSERT INTO verification_sids (sid, challenge_id)
                     SELECT 'VE' || printf('%032x', id), id FROM challenges;
                 INSERT INTO server_settings (name, value) VALUES ('service_sid', 'VA1');
                 INSERT INTO rate_limits (sid, unique_name, description, created_at, updated_at)
                     SELECT 'RK' || printf('%032x', id), 'ip' || id, NULL, 1, 2
                     FROM challenges WHERE id <= 12;
                 INSERT INTO rate_limit_buckets
                     (sid, rate_limit_sid, max, interval_s, created_at, updated_at)
                     SELECT 'BL' || printf('%032x', id), 'RK' || printf('%032x', 3), 5, id, 1, 1
                     FROM challenges;
                 INSERT INTO rate_limit_hits (id, rate_limit_sid, value_key, at)
                     SELECT id * 2, 'RK' || printf('%032x', 3), 'v', id FROM challenges;
                 INSERT INTO event_outbox (id, sink, event_type, audit_id, challenge_id,
                     created_at, data, next_at)
                     SELECT id * 2, 'https://hooks.example/otpd', 'pending', id + 40, id,
                         created_at, '{}', created_at FROM challenges WHERE id <= 12;",
            )
            .unwrap();
        let copied = copy(&mut from, &mut to).unwrap();
        let counts: Vec<u64> = match &copied {
            Copied::Done(t) => t.iter().map(|(_, n)| *n).collect(),
            Copied::TargetNotEmpty => panic!("the new store is empty"),
        };
        assert_eq!(counts, vec![8, 8, 2, 8, 8, 1, 6, 4, 8, 1, 4, 8, 8, 4]);
        assert_eq!(all_rows(&to), all_rows(&from));
        assert_eq!(copy(&mut from, &mut to).unwrap(), Copied::TargetNotEmpty);
        assert_eq!(all_rows(&to), all_rows(&from), "nothing written twice");
        // An empty source copies into an empty target: nothing but the pause row.
        let mut empty = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        let mut fresh = SqliteStore::open(&dir.path().join("d.db")).unwrap();
        let copied = copy(&mut empty, &mut fresh).unwrap();
        assert_eq!(
            copied,
            Copied::Done(
                Table::ALL
                    .iter()
                    .map(|&t| (t, u64::from(t == Table::LimitPause)))
                    .collect()
            )
        );
        let backend: &mut dyn Backend = &mut fresh;
        assert!(backend.snapshot(|tx| tx.is_empty()).unwrap());
    }
}

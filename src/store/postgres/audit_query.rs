//! PostgreSQL's SQL for the audit review's reads ([`crate::store::AuditTx`]), query for query
//! SQLite's ([`crate::store::sqlite::audit`], [`crate::store::sqlite::audit_query`]): the chain
//! head and anchor, single rows, a page of matching rows in id order (chain verifier, export),
//! the newest-first listing and the per-bucket counts behind `audit stats`.

use postgres::Row;
use postgres::types::ToSql;

use super::conn::{Conn, PgResult};
use crate::store::audit::{Anchor, AuditBatch, AuditRow, RowRef};
use crate::store::audit_query::{BucketCount, Filter};

const ROW_COLUMNS: &str =
    "id, at, station, event, outcome, phone_masked, phone_key, challenge_id, detail, prev_mac, mac";

/// One bound value of a built query.
#[derive(Debug)]
enum Arg {
    Int(i64),
    Text(String),
}

fn refs(args: &[Arg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| match a {
            Arg::Int(n) => n as &(dyn ToSql + Sync),
            Arg::Text(s) => s as &(dyn ToSql + Sync),
        })
        .collect()
}

/// `filter` (and `id > after_id`) as a `WHERE` clause with numbered parameters.
fn where_clause(f: &Filter, after_id: Option<i64>) -> (String, Vec<Arg>) {
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut push = |sql: &str, v: Arg, parts: &mut Vec<String>| {
        args.push(v);
        parts.push(format!("{sql} ${}", args.len()));
    };
    if let Some(k) = &f.phone_key {
        push("phone_key =", Arg::Text(k.clone()), &mut parts);
    }
    if let Some(s) = &f.station {
        push("station =", Arg::Text(s.clone()), &mut parts);
    }
    if let Some(o) = f.outcome {
        push("outcome =", Arg::Text(o.to_string()), &mut parts);
    }
    if let Some(t) = f.since_ms {
        push("at >=", Arg::Int(t), &mut parts);
    }
    if let Some(t) = f.until_ms {
        push("at <", Arg::Int(t), &mut parts);
    }
    if let Some(id) = f.before_id {
        push("id <", Arg::Int(id), &mut parts);
    }
    if let Some(id) = after_id {
        push("id >", Arg::Int(id), &mut parts);
    }
    if !f.events.is_empty() {
        let mut marks = Vec::new();
        for e in &f.events {
            args.push(Arg::Text((*e).to_string()));
            marks.push(format!("${}", args.len()));
        }
        parts.push(format!("event IN ({})", marks.join(", ")));
    }
    let sql = if parts.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", parts.join(" AND "))
    };
    (sql, args)
}

fn from_row(r: &Row) -> PgResult<AuditRow> {
    Ok(AuditRow {
        id: r.try_get(0)?,
        at: r.try_get(1)?,
        station: r.try_get(2)?,
        event: r.try_get(3)?,
        outcome: r.try_get(4)?,
        phone_masked: r.try_get(5)?,
        phone_key: r.try_get(6)?,
        challenge_id: r.try_get(7)?,
        detail: r.try_get(8)?,
        prev_mac: r.try_get(9)?,
        mac: r.try_get(10)?,
    })
}

/// Adds a row selected with [`ROW_COLUMNS`] to `out`, borrowing its fields from the row.
fn push_row(out: &mut AuditBatch, r: &Row) -> PgResult<()> {
    fn fields(r: &Row, id: i64) -> Result<RowRef<'_>, postgres::Error> {
        Ok(RowRef {
            id,
            at: r.try_get(1)?,
            station: r.try_get(2)?,
            event: r.try_get(3)?,
            outcome: r.try_get(4)?,
            phone_masked: r.try_get(5)?,
            phone_key: r.try_get(6)?,
            challenge_id: r.try_get(7)?,
            detail: r.try_get(8)?,
            prev_mac: r.try_get(9)?,
            mac: r.try_get(10)?,
        })
    }
    let id: i64 = r.try_get(0)?;
    match fields(r, id) {
        Ok(row) => out.push(&row),
        Err(_) => out.push_unreadable(id),
    }
    Ok(())
}

fn one_row(c: &mut Conn<'_>, sql: &str, id: i64) -> PgResult<Option<AuditRow>> {
    c.query_opt(sql, &[&id])?.as_ref().map(from_row).transpose()
}

/// The newest row's id alone, 0 when the log is empty.
pub fn head_id(c: &mut Conn<'_>) -> PgResult<i64> {
    Ok(
        c.query_one("SELECT coalesce(max(id), 0) FROM audit_events", &[])?
            .try_get(0)?,
    )
}

pub fn min_id(c: &mut Conn<'_>) -> PgResult<Option<i64>> {
    Ok(c.query_one("SELECT min(id) FROM audit_events", &[])?
        .try_get(0)?)
}

pub fn row(c: &mut Conn<'_>, id: i64) -> PgResult<Option<AuditRow>> {
    let sql = format!("SELECT {ROW_COLUMNS} FROM audit_events WHERE id = $1");
    one_row(c, &sql, id)
}

pub fn next_row(c: &mut Conn<'_>, id: i64) -> PgResult<Option<AuditRow>> {
    let sql = format!("SELECT {ROW_COLUMNS} FROM audit_events WHERE id > $1 ORDER BY id LIMIT 1");
    one_row(c, &sql, id)
}

pub fn id_with_mac(c: &mut Conn<'_>, mac: &str) -> PgResult<Option<i64>> {
    match c.query_opt(
        "SELECT id FROM audit_events WHERE mac = $1 ORDER BY id LIMIT 1",
        &[&mac],
    )? {
        Some(r) => Ok(Some(r.try_get(0)?)),
        None => Ok(None),
    }
}

pub fn latest_anchor(c: &mut Conn<'_>) -> PgResult<Option<Anchor>> {
    match c.query_opt(
        "SELECT seq, last_id, last_mac, removed, at, mac FROM audit_anchor
         ORDER BY seq DESC LIMIT 1",
        &[],
    )? {
        Some(r) => Ok(Some(Anchor {
            seq: r.try_get(0)?,
            last_id: r.try_get(1)?,
            last_mac: r.try_get(2)?,
            removed: r.try_get(3)?,
            at: r.try_get(4)?,
            mac: r.try_get(5)?,
        })),
        None => Ok(None),
    }
}

/// The newest `limit` rows matching `f`, newest first.
pub fn list(c: &mut Conn<'_>, f: &Filter, limit: i64) -> PgResult<Vec<AuditRow>> {
    let (clause, mut args) = where_clause(f, None);
    args.push(Arg::Int(limit));
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM audit_events {clause} ORDER BY id DESC LIMIT ${}",
        args.len()
    );
    c.query(&sql, &refs(&args))?.iter().map(from_row).collect()
}

/// Fills `out` (cleared first) with up to `limit` rows matching `f` after `after_id`, in id
/// order.
pub fn scan(
    c: &mut Conn<'_>,
    f: &Filter,
    after_id: Option<i64>,
    limit: usize,
    out: &mut AuditBatch,
) -> PgResult<()> {
    out.clear();
    let (clause, mut args) = where_clause(f, after_id);
    args.push(Arg::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM audit_events {clause} ORDER BY id LIMIT ${}",
        args.len()
    );
    for r in c.query(&sql, &refs(&args))? {
        push_row(out, &r)?;
    }
    Ok(())
}

/// Per (bucket, event) counts between `since_ms` (inclusive) and `until_ms` (exclusive); the
/// bucket is `at / bucket_ms` rounded towards zero, as on SQLite.
pub fn bucket_counts(
    c: &mut Conn<'_>,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    bucket_ms: i64,
    events: &[&'static str],
) -> PgResult<Vec<BucketCount>> {
    let f = Filter {
        since_ms: Some(since_ms.unwrap_or(i64::MIN)),
        until_ms,
        events: events.to_vec(),
        ..Filter::default()
    };
    let (clause, mut args) = where_clause(&f, None);
    args.push(Arg::Int(bucket_ms.max(1)));
    let sql = format!(
        "SELECT at / ${n}, event, count(*) FROM audit_events {clause} GROUP BY 1, 2 ORDER BY 1",
        n = args.len()
    );
    c.query(&sql, &refs(&args))?
        .iter()
        .map(|r| {
            Ok(BucketCount {
                bucket: r.try_get(0)?,
                event: r.try_get(1)?,
                count: r.try_get(2)?,
            })
        })
        .collect()
}

//! SQLite's SQL for the audit review's filtered reads: the newest-first listing, a page of
//! matching rows in id order (chain verifier, export) and the per-bucket counts behind `audit
//! stats`. Every query is shaped to use an index from 0001/0003.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::audit::{ROW_COLUMNS, from_row, push_row};
use crate::store::audit::{AuditBatch, AuditRow};
use crate::store::audit_query::{BucketCount, Filter};

/// `filter` (and `id > after_id`) as a `WHERE` clause with numbered parameters.
fn where_clause(f: &Filter, after_id: Option<i64>) -> (String, Vec<Value>) {
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut push = |sql: &str, v: Value, parts: &mut Vec<String>| {
        args.push(v);
        parts.push(sql.replace('?', &format!("?{}", args.len())));
    };
    if let Some(k) = &f.phone_key {
        push("phone_key = ?", Value::Text(k.clone()), &mut parts);
    }
    if let Some(s) = &f.station {
        push("station = ?", Value::Text(s.clone()), &mut parts);
    }
    if let Some(o) = f.outcome {
        push("outcome = ?", Value::Text(o.to_string()), &mut parts);
    }
    if let Some(t) = f.since_ms {
        push("at >= ?", Value::Integer(t), &mut parts);
    }
    if let Some(t) = f.until_ms {
        push("at < ?", Value::Integer(t), &mut parts);
    }
    if let Some(id) = f.before_id {
        push("id < ?", Value::Integer(id), &mut parts);
    }
    if let Some(id) = after_id {
        push("id > ?", Value::Integer(id), &mut parts);
    }
    if !f.events.is_empty() {
        let mut marks = Vec::new();
        for e in &f.events {
            args.push(Value::Text((*e).to_string()));
            marks.push(format!("?{}", args.len()));
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

/// The newest `limit` rows matching `f`, newest first.
pub fn list(c: &Connection, f: &Filter, limit: i64) -> rusqlite::Result<Vec<AuditRow>> {
    let (filter, mut args) = where_clause(f, None);
    args.push(Value::Integer(limit));
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM audit_events {filter} ORDER BY id DESC LIMIT ?{}",
        args.len()
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), from_row)?;
    rows.collect()
}

/// Fills `out` (cleared first) with up to `limit` rows matching `f` after `after_id`, oldest
/// first, copying their fields straight from the cursor.
pub fn scan(
    c: &Connection,
    f: &Filter,
    after_id: Option<i64>,
    limit: usize,
    out: &mut AuditBatch,
) -> rusqlite::Result<()> {
    out.clear();
    let (clause, mut args) = where_clause(f, after_id);
    args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM audit_events {clause} ORDER BY id LIMIT ?{}",
        args.len()
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    while let Some(r) = rows.next()? {
        push_row(out, r)?;
    }
    Ok(())
}

/// How many rows of each of `events` fall in each `bucket_ms`-wide slice of time (bucket =
/// `at / bucket_ms`), between `since_ms` (inclusive) and `until_ms` (exclusive). Answered from
/// the (at, event) index alone.
pub fn bucket_counts(
    c: &Connection,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    bucket_ms: i64,
    events: &[&'static str],
) -> rusqlite::Result<Vec<BucketCount>> {
    let f = Filter {
        since_ms: Some(since_ms.unwrap_or(i64::MIN)),
        until_ms,
        events: events.to_vec(),
        ..Filter::default()
    };
    let (clause, mut args) = where_clause(&f, None);
    // `+event` keeps the planner off the (event, id) index: walking (at, event) alone answers
    // the query without touching the table.
    let clause = clause.replace("event IN", "+event IN");
    args.push(Value::Integer(bucket_ms.max(1)));
    let sql = format!(
        "SELECT at / ?{n}, event, count(*) FROM audit_events {clause} GROUP BY 1, 2 ORDER BY 1",
        n = args.len()
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), |r| {
        Ok(BucketCount {
            bucket: r.get(0)?,
            event: r.get(1)?,
            count: r.get(2)?,
        })
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clause_numbers_its_parameters_in_order() {
        let f = Filter {
            phone_key: Some("k".into()),
            station: Some("desk".into()),
            events: vec!["sent", "resent"],
            outcome: None,
            since_ms: Some(1),
            until_ms: Some(2),
            before_id: Some(9),
        };
        let (sql, args) = where_clause(&f, Some(3));
        assert_eq!(
            sql,
            "WHERE phone_key = ?1 AND station = ?2 AND at >= ?3 AND at < ?4 AND id < ?5 AND id > ?6 AND event IN (?7, ?8)"
        );
        assert_eq!(args.len(), 8);
        assert_eq!(where_clause(&Filter::default(), None).0, "");
        assert_eq!(where_clause(&Filter::default(), Some(0)).0, "WHERE id > ?1");
    }
}

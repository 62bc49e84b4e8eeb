//! The read side of the audit log: filtered, keyset-paginated listing, streaming export and the
//! per-bucket counts behind `audit stats`. Every query is shaped to use an index from 0001/0003,
//! so a million-row log answers a page as fast as a hundred-row one.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::audit::{AuditRow, ROW_COLUMNS, RowRef, from_row};

/// Which rows a listing, an export or the statistics cover. Times are UTC milliseconds;
/// `until_ms` is exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub phone_key: Option<String>,
    pub station: Option<String>,
    /// Stored event names; empty means every event.
    pub events: Vec<&'static str>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Keyset pagination: only rows with a smaller id (the next page of a newest-first list).
    pub before_id: Option<i64>,
}

impl Filter {
    fn where_clause(&self) -> (String, Vec<Value>) {
        let mut parts: Vec<String> = Vec::new();
        let mut args: Vec<Value> = Vec::new();
        let mut push = |sql: &str, v: Value, parts: &mut Vec<String>| {
            args.push(v);
            parts.push(sql.replace('?', &format!("?{}", args.len())));
        };
        if let Some(k) = &self.phone_key {
            push("phone_key = ?", Value::Text(k.clone()), &mut parts);
        }
        if let Some(s) = &self.station {
            push("station = ?", Value::Text(s.clone()), &mut parts);
        }
        if let Some(t) = self.since_ms {
            push("at >= ?", Value::Integer(t), &mut parts);
        }
        if let Some(t) = self.until_ms {
            push("at < ?", Value::Integer(t), &mut parts);
        }
        if let Some(id) = self.before_id {
            push("id < ?", Value::Integer(id), &mut parts);
        }
        if !self.events.is_empty() {
            let mut marks = Vec::new();
            for e in &self.events {
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
}

/// The newest `limit` rows matching `f`, newest first.
pub fn list(c: &Connection, f: &Filter, limit: i64) -> rusqlite::Result<Vec<AuditRow>> {
    let (filter, mut args) = f.where_clause();
    args.push(Value::Integer(limit));
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM audit_events {filter} ORDER BY id DESC LIMIT ?{}",
        args.len()
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), from_row)?;
    rows.collect()
}

/// Calls `f` for every row matching `filter`, oldest first, with borrowed fields; stops when
/// `f` returns false. For exports that must not hold the whole log in memory.
pub fn stream(
    c: &Connection,
    filter: &Filter,
    mut f: impl FnMut(&RowRef<'_>) -> bool,
) -> rusqlite::Result<u64> {
    let (clause, args) = filter.where_clause();
    let sql = format!("SELECT {ROW_COLUMNS} FROM audit_events {clause} ORDER BY id");
    let mut stmt = c.prepare(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let row = RowRef {
            id: r.get(0)?,
            at: r.get(1)?,
            station: r.get_ref(2)?.as_str()?,
            event: r.get_ref(3)?.as_str()?,
            outcome: r.get_ref(4)?.as_str()?,
            phone_masked: r.get_ref(5)?.as_str_or_null()?,
            phone_key: r.get_ref(6)?.as_str_or_null()?,
            challenge_id: r.get(7)?,
            detail: r.get_ref(8)?.as_str()?,
            prev_mac: r.get_ref(9)?.as_str()?,
            mac: r.get_ref(10)?.as_str()?,
        };
        n += 1;
        if !f(&row) {
            break;
        }
    }
    Ok(n)
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
) -> rusqlite::Result<Vec<(i64, String, i64)>> {
    let f = Filter {
        since_ms: Some(since_ms.unwrap_or(i64::MIN)),
        until_ms,
        events: events.to_vec(),
        ..Filter::default()
    };
    let (clause, mut args) = f.where_clause();
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
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    rows.collect()
}

/// How many rows the log holds.
pub fn count(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
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
            since_ms: Some(1),
            until_ms: Some(2),
            before_id: Some(9),
        };
        let (sql, args) = f.where_clause();
        assert_eq!(
            sql,
            "WHERE phone_key = ?1 AND station = ?2 AND at >= ?3 AND at < ?4 AND id < ?5 AND event IN (?6, ?7)"
        );
        assert_eq!(args.len(), 7);
        assert_eq!(Filter::default().where_clause().0, "");
    }
}

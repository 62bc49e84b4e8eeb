//! SQLite's half of `otpd store copy` ([`crate::store::CopyTx`]): whether the database is still
//! as migrations left it, a table read page by page in primary-key order as neutral values, and
//! rows inserted with their ids as they are.

use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{Connection, params_from_iter};

use crate::store::copy::{Row, Table, Value};

/// Whether every table is empty but for `limit_pause`'s row 1 with nothing set.
pub fn is_empty(c: &Connection) -> rusqlite::Result<bool> {
    let holds_data: Vec<String> = Table::ALL
        .iter()
        .map(|&t| match t {
            Table::LimitPause => {
                let set: Vec<String> = t.columns()[1..]
                    .iter()
                    .map(|col| format!("{col} IS NOT NULL"))
                    .collect();
                format!(
                    "EXISTS (SELECT 1 FROM {} WHERE id <> 1 OR {})",
                    t.name(),
                    set.join(" OR ")
                )
            }
            _ => format!("EXISTS (SELECT 1 FROM {})", t.name()),
        })
        .collect();
    let sql = format!("SELECT NOT ({})", holds_data.join(" OR "));
    c.query_row(&sql, [], |r| r.get(0))
}

/// Up to `limit` rows of `table` after the key `after`, in key order.
pub fn dump_rows(
    c: &Connection,
    table: Table,
    after: Option<&[Value]>,
    limit: usize,
) -> rusqlite::Result<Vec<Row>> {
    let cols = table.columns();
    let key = &cols[..table.key_len()];
    let mut args: Vec<Sql> = Vec::new();
    let clause = match after {
        Some(values) => {
            args.extend(values.iter().map(to_sql));
            let marks: Vec<String> = (1..=key.len()).map(|i| format!("?{i}")).collect();
            format!("WHERE ({}) > ({})", key.join(", "), marks.join(", "))
        }
        None => String::new(),
    };
    args.push(Sql::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {} FROM {} {clause} ORDER BY {} LIMIT ?{}",
        cols.join(", "),
        table.name(),
        key.join(", "),
        args.len()
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut row = Vec::with_capacity(cols.len());
        for (i, col) in cols.iter().enumerate() {
            row.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Integer(n),
                v @ ValueRef::Text(_) => Value::Text(v.as_str()?.to_string()),
                v => {
                    let name = col.to_string();
                    return Err(rusqlite::Error::InvalidColumnType(i, name, v.data_type()));
                }
            });
        }
        out.push(row);
    }
    Ok(out)
}

/// Inserts rows as dumped; `limit_pause`'s row replaces the one migrations created.
pub fn load_rows(c: &Connection, table: Table, rows: &[Row]) -> rusqlite::Result<()> {
    let cols = table.columns();
    let verb = match table {
        Table::LimitPause => "INSERT OR REPLACE",
        _ => "INSERT",
    };
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "{verb} INTO {} ({}) VALUES ({})",
        table.name(),
        cols.join(", "),
        marks.join(", ")
    );
    let mut stmt = c.prepare_cached(&sql)?;
    for row in rows {
        if row.len() != cols.len() {
            return Err(rusqlite::Error::InvalidParameterCount(
                row.len(),
                cols.len(),
            ));
        }
        stmt.execute(params_from_iter(row.iter().map(to_sql)))?;
    }
    Ok(())
}

fn to_sql(v: &Value) -> Sql {
    match v {
        Value::Null => Sql::Null,
        Value::Integer(n) => Sql::Integer(*n),
        Value::Text(s) => Sql::Text(s.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    #[test]
    fn the_copier_knows_every_table_and_column_of_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("otpd.db")).unwrap();
        let c = store.connection();
        let mut stmt = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        // Left behind on purpose: the audit pages' sessions (a copy signs everyone out) and
        // the stats rollup (a copy starts at mark 0 and refolds its log on the first view).
        let not_copied = ["audit_rollup", "audit_rollup_mark", "audit_sessions"];
        let tables: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .into_iter()
            .filter(|t| !not_copied.contains(&t.as_str()))
            .collect();
        let mut known: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
        known.sort();
        assert_eq!(
            tables, known,
            "a new table must be added to store::copy::Table"
        );
        for t in Table::ALL {
            let mut stmt = c
                .prepare(&format!(
                    "SELECT name, pk FROM pragma_table_info('{}')",
                    t.name()
                ))
                .unwrap();
            let cols: Vec<(String, i64)> = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, t.columns(), "{}", t.name());
            let key: Vec<&str> = cols
                .iter()
                .filter(|(_, pk)| *pk > 0)
                .map(|(n, _)| n.as_str())
                .collect();
            assert_eq!(key, &t.columns()[..t.key_len()], "{}", t.name());
        }
        assert!(is_empty(c).unwrap());
        c.execute("UPDATE limit_pause SET resumed_at = 5", [])
            .unwrap();
        assert!(!is_empty(c).unwrap());
    }
}

//! PostgreSQL's half of `otpd store copy` ([`crate::store::CopyTx`]), as SQLite's
//! ([`crate::store::sqlite::copy`]): whether the database is as migrations left it, a table read
//! page by page in primary-key order as neutral values, and rows inserted with their ids as
//! they are — the identity sequences then moved past the ids loaded, so the next row a use
//! case inserts does not collide with a copied one.

use postgres::types::{ToSql, Type};

use super::conn::{Conn, DbError, PgResult};
use crate::store::copy::{Row, Table, Value};

/// Whether every table is empty but for `limit_pause`'s row 1 with nothing set.
pub fn is_empty(c: &mut Conn<'_>) -> PgResult<bool> {
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
    Ok(c.query_one(&sql, &[])?.try_get(0)?)
}

/// `v` bound as a parameter of type `ty` (otpd's columns are integers of some width or text).
fn bind(v: &Value, ty: &Type) -> PgResult<Box<dyn ToSql + Sync>> {
    let int = |n: Option<i64>| -> PgResult<Box<dyn ToSql + Sync>> {
        let wide = |n: i64| DbError::Bad(format!("{n} does not fit a {ty} column"));
        Ok(match *ty {
            Type::INT2 => Box::new(
                n.map(|n| i16::try_from(n).map_err(|_| wide(n)))
                    .transpose()?,
            ),
            Type::INT4 => Box::new(
                n.map(|n| i32::try_from(n).map_err(|_| wide(n)))
                    .transpose()?,
            ),
            _ => Box::new(n),
        })
    };
    let text = matches!(*ty, Type::TEXT | Type::VARCHAR);
    match v {
        Value::Null if text => Ok(Box::new(None::<String>)),
        Value::Null => int(None),
        Value::Integer(n) if !text => int(Some(*n)),
        Value::Text(s) if text => Ok(Box::new(s.clone())),
        _ => Err(DbError::Bad(format!("a {ty} column cannot hold {v:?}"))),
    }
}

/// Up to `limit` rows of `table` after the key `after`, in key order.
pub fn dump_rows(
    c: &mut Conn<'_>,
    table: Table,
    after: Option<&[Value]>,
    limit: usize,
) -> PgResult<Vec<Row>> {
    let cols = table.columns();
    let key = &cols[..table.key_len()];
    let clause = match after {
        Some(_) => {
            let marks: Vec<String> = (1..=key.len()).map(|i| format!("${i}")).collect();
            format!("WHERE ({}) > ({})", key.join(", "), marks.join(", "))
        }
        None => String::new(),
    };
    let n = after.map_or(0, <[Value]>::len) + 1;
    let sql = format!(
        "SELECT {} FROM {} {clause} ORDER BY {} LIMIT ${n}",
        cols.join(", "),
        table.name(),
        key.join(", "),
    );
    let types = c.param_types(&sql)?;
    let mut args: Vec<Box<dyn ToSql + Sync>> = Vec::new();
    for (v, ty) in after.unwrap_or_default().iter().zip(&types) {
        args.push(bind(v, ty)?);
    }
    args.push(Box::new(i64::try_from(limit).unwrap_or(i64::MAX)));
    let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|b| b.as_ref()).collect();
    let mut out = Vec::new();
    for r in c.query(&sql, &refs)? {
        let mut row = Vec::with_capacity(cols.len());
        for (i, col) in r.columns().iter().enumerate() {
            let v = match *col.type_() {
                Type::INT2 => r.try_get::<_, Option<i16>>(i)?.map(i64::from),
                Type::INT4 => r.try_get::<_, Option<i32>>(i)?.map(i64::from),
                Type::INT8 => r.try_get::<_, Option<i64>>(i)?,
                _ => {
                    row.push(match r.try_get::<_, Option<String>>(i)? {
                        Some(s) => Value::Text(s),
                        None => Value::Null,
                    });
                    continue;
                }
            };
            row.push(v.map_or(Value::Null, Value::Integer));
        }
        out.push(row);
    }
    Ok(out)
}

/// Inserts rows as dumped; `limit_pause`'s row replaces the one migrations created.
pub fn load_rows(c: &mut Conn<'_>, table: Table, rows: &[Row]) -> PgResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let cols = table.columns();
    let marks: Vec<String> = (1..=cols.len()).map(|i| format!("${i}")).collect();
    let replace = match table {
        Table::LimitPause => {
            let set: Vec<String> = cols[1..]
                .iter()
                .map(|col| format!("{col} = EXCLUDED.{col}"))
                .collect();
            format!(" ON CONFLICT (id) DO UPDATE SET {}", set.join(", "))
        }
        _ => String::new(),
    };
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}){replace}",
        table.name(),
        cols.join(", "),
        marks.join(", ")
    );
    let types = c.param_types(&sql)?;
    for row in rows {
        if row.len() != cols.len() {
            return Err(DbError::Bad(format!(
                "a {} row has {} values, not {}",
                table.name(),
                row.len(),
                cols.len()
            )));
        }
        let args = row
            .iter()
            .zip(&types)
            .map(|(v, ty)| bind(v, ty))
            .collect::<PgResult<Vec<_>>>()?;
        let refs: Vec<&(dyn ToSql + Sync)> = args.iter().map(|b| b.as_ref()).collect();
        c.execute(&sql, &refs)?;
    }
    if matches!(
        table,
        Table::Challenges | Table::LimitSends | Table::RateLimitHits | Table::EventOutbox
    ) {
        // Past the largest id loaded: the next insert draws a fresh one.
        let name = table.name();
        c.query_one(
            &format!("SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name}"),
            &[],
        )?;
    }
    Ok(())
}

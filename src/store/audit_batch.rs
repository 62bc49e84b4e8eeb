//! A page of audit rows as a store hands them over: packed into two reused buffers, so reading
//! a million-row chain page by page allocates nothing per row once warm, and any store fills it
//! with plain pushes (no callback holding a connection open); and the borrowed row it yields.

/// A row's fields borrowed from wherever they are (a stored row, an [`AuditBatch`]), so the
/// chain can be checked without allocating per row. It lives beside the batch that yields it
/// (the chain format in `audit.rs` re-exports it), so neither file imports the other.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    pub id: i64,
    pub at: i64,
    pub station: &'a str,
    pub event: &'a str,
    pub outcome: &'a str,
    pub phone_masked: Option<&'a str>,
    pub phone_key: Option<&'a str>,
    pub challenge_id: Option<i64>,
    pub detail: &'a str,
    pub prev_mac: &'a str,
    pub mac: &'a str,
}

/// Where one text field sits in [`AuditBatch::text`]; `None` is SQL NULL.
type Span = Option<(usize, usize)>;

/// Up to one page of audit rows, in the order the store read them (id order). A row whose fields
/// a store cannot read as what otpd writes (text that is not UTF-8, a time that is no integer)
/// is kept as its id alone: [`AuditBatch::iter`] yields it as `Err(id)`.
#[derive(Debug, Default)]
pub struct AuditBatch {
    text: String,
    rows: Vec<Packed>,
}

#[derive(Debug)]
struct Packed {
    id: i64,
    fields: Option<Fields>,
}

#[derive(Debug, Clone, Copy)]
struct Fields {
    at: i64,
    challenge_id: Option<i64>,
    /// station, event, outcome, phone_masked, phone_key, detail, prev_mac, mac.
    text: [Span; 8],
}

impl AuditBatch {
    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.text.clear();
        self.rows.clear();
    }

    /// Adds one row (its text is copied into the batch's buffer).
    pub fn push(&mut self, row: &RowRef<'_>) {
        let mut span = |s: Option<&str>| {
            s.map(|s| {
                let at = self.text.len();
                self.text.push_str(s);
                (at, s.len())
            })
        };
        let text = [
            span(Some(row.station)),
            span(Some(row.event)),
            span(Some(row.outcome)),
            span(row.phone_masked),
            span(row.phone_key),
            span(Some(row.detail)),
            span(Some(row.prev_mac)),
            span(Some(row.mac)),
        ];
        self.rows.push(Packed {
            id: row.id,
            fields: Some(Fields {
                at: row.at,
                challenge_id: row.challenge_id,
                text,
            }),
        });
    }

    /// Adds a row whose fields could not be read as otpd writes them.
    pub fn push_unreadable(&mut self, id: i64) {
        self.rows.push(Packed { id, fields: None });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The rows in the order they were pushed: `Err(id)` for an unreadable one.
    pub fn iter(&self) -> impl Iterator<Item = Result<RowRef<'_>, i64>> + '_ {
        self.rows.iter().map(|p| {
            let Some(f) = &p.fields else {
                return Err(p.id);
            };
            let get = |i: usize| f.text[i].map(|(at, len)| &self.text[at..at + len]);
            Ok(RowRef {
                id: p.id,
                at: f.at,
                station: get(0).unwrap_or_default(),
                event: get(1).unwrap_or_default(),
                outcome: get(2).unwrap_or_default(),
                phone_masked: get(3),
                phone_key: get(4),
                challenge_id: f.challenge_id,
                detail: get(5).unwrap_or_default(),
                prev_mac: get(6).unwrap_or_default(),
                mac: get(7).unwrap_or_default(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed_with_null_distinct_from_empty() {
        let row = |id, phone: Option<&'static str>| RowRef {
            id,
            at: 7,
            station: "desk",
            event: "sent",
            outcome: "ok",
            phone_masked: phone,
            phone_key: None,
            challenge_id: Some(3),
            detail: "",
            prev_mac: "p",
            mac: "m",
        };
        let mut b = AuditBatch::default();
        b.push(&row(1, Some("")));
        b.push_unreadable(2);
        b.push(&row(3, None));
        let got: Vec<_> = b
            .iter()
            .map(|r| r.map(|r| (r.id, r.phone_masked)))
            .collect();
        assert_eq!(got, vec![Ok((1, Some(""))), Err(2), Ok((3, None))]);
        let first = b.iter().next().unwrap().unwrap();
        assert_eq!((first.station, first.mac, first.detail), ("desk", "m", ""));
        b.clear();
        assert!(b.is_empty() && b.iter().next().is_none());
    }
}

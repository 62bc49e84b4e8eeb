//! The numbering plan, loaded one country calling code at a time (issue 15, "Start-up").
//!
//! phonenumber's default `DATABASE` deserialises and builds the whole world's plan (~250
//! regions, thousands of regexes) the first time any number is parsed: most of the start-up of
//! every command that touches a number. The same metadata, split by calling code, is compiled
//! into otpd (`vendor/numbering-plan/plan.txt`, generated from phonenumber's own data and
//! checked against it by a test), and a `Database` holding only the regions of one calling
//! code is built the first time that code is needed. Parsing, validation, formatting and the
//! number type use phonenumber's own `*_with(database, …)` functions on that subset, so the
//! plan is still the judge of every number; the subset contains every region that shares the
//! calling code, which is all phonenumber consults for a number with that code.

use std::sync::Mutex;

use phonenumber::metadata::{Database, loader};

/// First line: the index, `code:start:end:REGION,REGION;…` (byte offsets into the rest);
/// then one JSON array of phonenumber `loader::Metadata` per calling code.
static PLAN: &str = include_str!("../../vendor/numbering-plan/plan.txt");

/// One calling code of the index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub code: u16,
    /// Comma-separated region ids, the code's main region first (`001` for non-geographic).
    pub regions: &'static str,
    start: usize,
    end: usize,
}

fn split_plan() -> (&'static str, &'static str) {
    PLAN.split_once('\n').unwrap_or((PLAN, ""))
}

/// The index entries, parsed from the first line on every call (a few hundred entries: far
/// cheaper than keeping a table in sync by hand).
pub(crate) fn entries() -> impl Iterator<Item = Entry> {
    split_plan().0.split(';').filter_map(|e| {
        let mut f = e.splitn(4, ':');
        Some(Entry {
            code: f.next()?.parse().ok()?,
            start: f.next()?.parse().ok()?,
            end: f.next()?.parse().ok()?,
            regions: f.next()?,
        })
    })
}

pub(crate) fn entry_for_code(code: u16) -> Option<Entry> {
    entries().find(|e| e.code == code)
}

/// The calling code of an ISO 3166 region the plan knows (`US` → 1, `GG` → 44).
pub(crate) fn code_of_region(region: &str) -> Option<u16> {
    entries()
        .find(|e| e.regions.split(',').any(|r| r == region))
        .map(|e| e.code)
}

/// The calling code `digits` (a number's digits after `+`) starts with. Calling codes are
/// prefix-free, so at most one of the first one, two or three digits is one.
pub(crate) fn code_prefix(digits: &str) -> Option<u16> {
    (1..=3)
        .filter_map(|len| digits.get(..len))
        .filter(|p| !p.starts_with('0'))
        .filter_map(|p| p.parse::<u16>().ok())
        .find(|&code| entry_for_code(code).is_some())
}

/// Built databases, one per calling code, kept for the life of the process: a process meets
/// a handful of codes, and there are only ~215 in the world.
static LOADED: Mutex<Vec<(u16, &'static Database)>> = Mutex::new(Vec::new());

/// The plan of every region sharing calling code `code`, or `None` for a code the plan does
/// not have.
pub(crate) fn for_code(code: u16) -> Option<&'static Database> {
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, db)) = loaded.iter().find(|(c, _)| *c == code) {
        return Some(db);
    }
    let db: &'static Database = Box::leak(Box::new(build(entry_for_code(code)?)?));
    loaded.push((code, db));
    Some(db)
}

fn build(e: Entry) -> Option<Database> {
    let json = split_plan().1.get(e.start..e.end)?;
    let metadata: Vec<loader::Metadata> = serde_json::from_str(json).ok()?;
    Database::from(metadata).ok()
}

/// The whole-world plan, for the rare input the subset cannot judge alone (a national number
/// dialled with the region's international prefix, or `+0…`): correct, at the old cost.
pub(crate) fn world() -> &'static Database {
    #[cfg(test)]
    tests::WORLD_USES.with(|n| n.set(n.get() + 1));
    &phonenumber::metadata::DATABASE
}

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "plan_regex_tests.rs"]
mod regex_tests;

//! Phone numbers parsed once, with the real numbering plan, into E.164 — and masked whenever shown.

use std::fmt;

use phonenumber::metadata::Database;

use super::formatting::{Style, written};

use super::number_type::NumberType;
use super::plan;
use super::region::Region;

/// The longest input we even try to parse (E.164 is at most 15 digits plus formatting).
const MAX_INPUT: usize = 40;

/// A phone number that exists in the numbering plan. `Display` and `Debug` show it masked.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    e164: String,
    masked: String,
    short: String,
    region: Option<String>,
    country_code: u16,
    kind: NumberType,
}

/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    Empty,
    TooLong(String),
    NoCountryCode(String),
    Malformed(String),
    Invalid(String),
    /// National input (no `+`) read with the default region, that the region's plan refuses.
    InvalidIn(String, Region),
}

impl PhoneNumber {
    /// Parses international input such as `+1 (415) 555-2671` or `0044 7911 123456`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        Self::parse_in(input, None)
    }

    /// Like [`parse`](Self::parse), and with a default region (`[phone] default_region`)
    /// input without `+` or `00` is read as a national number of that region: `415 555 2671`
    /// or `(415) 555-2671` for `US`, `020 7946 0018` for `GB`. Without one, such input is
    /// refused with [`PhoneError::NoCountryCode`].
    pub fn parse_in(input: &str, region: Option<Region>) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let shown = crate::sanitize::sanitize(trimmed);
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        if trimmed.len() > MAX_INPUT {
            return Err(PhoneError::TooLong(crate::sanitize::truncate(
                &shown, MAX_INPUT,
            )));
        }
        if !trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        {
            return Err(PhoneError::Malformed(shown));
        }
        let (text, country) = if let Some(rest) = trimmed.strip_prefix("00") {
            (format!("+{rest}"), None)
        } else if trimmed.starts_with('+') {
            (trimmed.to_string(), None)
        } else if let Some(region) = region {
            (trimmed.to_string(), Some(region))
        } else {
            return Err(PhoneError::NoCountryCode(shown));
        };
        let invalid = |shown: String| match country {
            Some(r) => PhoneError::InvalidIn(shown, r),
            None => PhoneError::Invalid(shown),
        };
        let (parsed, db) = match judge(&text, country) {
            Ok(judged) => judged,
            Err(_) if country.is_some() => return Err(invalid(shown)),
            Err(_) => return Err(PhoneError::Malformed(shown)),
        };
        if parsed.extension().is_some() || !phonenumber::is_valid_with(db, &parsed) {
            return Err(invalid(shown));
        }
        let e164 = written(db, &parsed, Style::E164);
        let international = written(db, &parsed, Style::International);
        let country_code = parsed.code().value();
        let region = parsed
            .metadata(db)
            .and_then(|m| m.id().parse::<phonenumber::country::Id>().ok())
            .map(|id| format!("{id:?}"));
        let kind = NumberType::from(parsed.number_type(db));
        let mut p = Self::from_parts(e164, &international, country_code, region);
        p.kind = kind;
        Ok(p)
    }

    /// What kind of number the plan says this is (mobile, fixed line, premium rate…).
    pub fn number_type(&self) -> NumberType {
        self.kind
    }

    fn from_parts(
        e164: String,
        international: &str,
        country_code: u16,
        region: Option<String>,
    ) -> Self {
        let prefix = format!("+{country_code}");
        let national = international
            .strip_prefix(&prefix)
            .unwrap_or(international)
            .trim_start();
        let digits = national.chars().filter(char::is_ascii_digit).count();
        let keep_from = digits.saturating_sub(4);
        let mut seen = 0;
        let masked_national: String = national
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    seen += 1;
                    if seen <= keep_from { '•' } else { c }
                } else {
                    c
                }
            })
            .collect();
        let last4: String = e164.chars().skip(e164.len().saturating_sub(4)).collect();
        Self {
            masked: format!("{prefix} {masked_national}"),
            short: format!("{prefix}•••{last4}"),
            e164,
            region,
            country_code,
            kind: NumberType::Unknown,
        }
    }

    /// The full number in E.164 form. Only storage, delivery and keyed hashing may use this.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// The number with all but the last four digits hidden, e.g. `+1 •••-•••-2671`.
    pub fn masked(&self) -> &str {
        &self.masked
    }

    /// A compact masked form for prompts, e.g. `+1•••2671`.
    pub fn short(&self) -> &str {
        &self.short
    }

    /// ISO 3166 region, e.g. `US`, when the numbering plan names one.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    pub fn country_code(&self) -> u16 {
        self.country_code
    }
}

/// Parses `text` with the smallest plan that can judge it: the regions of its calling code
/// (from the digits after `+`, or the default region's). Returns the parsed number and the
/// plan that knows its calling code (the whole world's only for unusual input: `+0…`, or a
/// national number dialled with the region's international prefix such as `011 44 …` in `US`).
fn judge(
    text: &str,
    country: Option<Region>,
) -> Result<(phonenumber::PhoneNumber, &'static Database), phonenumber::ParseError> {
    let id = country.map(Region::id);
    let subset = match country {
        Some(r) => plan::for_code(r.country_code()),
        None => {
            let digits: String = text.chars().filter(char::is_ascii_digit).collect();
            plan::code_prefix(&digits).and_then(plan::for_code)
        }
    };
    let parsed = match subset.map(|db| match rfc3966_form(db, text) {
        Some(tel) => phonenumber::parse_with(db, id, tel),
        None => {
            #[cfg(test)]
            rfc3966_tests::NATURAL_PARSES.with(|n| n.set(n.get() + 1));
            phonenumber::parse_with(db, id, text)
        }
    }) {
        Some(Err(phonenumber::ParseError::InvalidCountryCode)) | None => {
            phonenumber::parse_with(plan::world(), id, text)?
        }
        Some(result) => result?,
    };
    let code = parsed.code().value();
    let db = subset
        .filter(|db| db.by_code(&code).is_some())
        .or_else(|| plan::for_code(code))
        .unwrap_or_else(plan::world);
    Ok((parsed, db))
}

/// International input in otpd's own alphabet (`+`, ASCII digits, `-().` and spaces, as
/// `parse_in` admits) respelled `+CC-NNN…` for phonenumber, or `None` to leave it as it is.
///
/// Why (issue 15, "Start-up"): phonenumber's natural-language parser compiles four Unicode
/// regexes the first time it runs (where a number starts, trailing junk, a second number,
/// extensions such as `ext. 12`): ~1.8 ms of every process that reads a number. Its RFC 3966
/// parser, which the same `parse_with` tries first, needs none of them, and both hand the rest
/// of the parse (country code, national prefix, carrier, the plan's judgement) to the same
/// code. Only input the RFC 3966 parser refuses reaches the natural one: input with a space,
/// and `+` followed by digits alone (such as every stored number); other input without a
/// space (`+1-415-555-2671`, but also `+4479-11123456`, whose first group it takes for the
/// calling code) is left to phonenumber as it was. For the respelled input the natural parser
/// keeps the digits after the leading `+`s (trailing punctuation dropped; no letter, `#`, `;`
/// or `,` means no extension or second number), so it reaches the shared code with the same
/// number as `+CC-NNN…` does, as long as: no `+` after the leading ones (the natural parser
/// refuses that), the first digit is not `0` (no calling code starts with one), `db` knows the
/// calling code, found as phonenumber finds it (the first of the first one, two, three digits),
/// and at least three digits follow it (the two parsers refuse shorter input at different
/// places). Anything else keeps phonenumber's own parsers. Tests: `phone_rfc3966_tests.rs`.
fn rfc3966_form(db: &Database, text: &str) -> Option<String> {
    let after_plus = text.strip_prefix('+')?.trim_start_matches('+');
    if !text.contains(' ') && !after_plus.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let body = after_plus.trim_end_matches(|c: char| !c.is_ascii_digit());
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')' | '.'))
    {
        return None;
    }
    let digits: String = body.chars().filter(char::is_ascii_digit).collect();
    if digits.starts_with('0') || digits.len() < 3 {
        return None;
    }
    let code_len = (1..=3).find(|&len| {
        digits[..len]
            .parse::<u16>()
            .is_ok_and(|code| db.by_code(&code).is_some())
    })?;
    let (code, national) = digits.split_at(code_len);
    (national.len() >= 3).then(|| format!("+{code}-{national}"))
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

/// Serialised masked, always: JSON output is as safe to show as the terminal. A remote
/// terminal's answer carries numbers in full through its own wire type
/// (`request::wire::FullNumber`); a masked number is never read back as a number.
impl serde::Serialize for PhoneNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.masked)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked)
    }
}

#[cfg(test)]
#[path = "phone_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "phone_rfc3966_tests.rs"]
mod rfc3966_tests;

//! Phone numbers parsed once, with the real numbering plan, into E.164 — and masked whenever shown.

use std::fmt;

use phonenumber::Mode;

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
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("a phone number is needed, e.g. +1 415 555 2671")]
    Empty,
    #[error("\"{0}\" is too long to be a phone number")]
    TooLong(String),
    #[error("\"{0}\" has no country code: start with + and the country code, e.g. +1 415 555 2671")]
    NoCountryCode(String),
    #[error(
        "\"{0}\" is not a phone number: use digits, spaces, dashes or brackets after +, e.g. +1 415 555 2671"
    )]
    Malformed(String),
    #[error("\"{0}\" cannot exist in the numbering plan of its country; check the digits")]
    Invalid(String),
}

impl PhoneNumber {
    /// Parses international input such as `+1 (415) 555-2671` or `0044 7911 123456`.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
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
        let international = if let Some(rest) = trimmed.strip_prefix("00") {
            format!("+{rest}")
        } else if trimmed.starts_with('+') {
            trimmed.to_string()
        } else {
            return Err(PhoneError::NoCountryCode(shown));
        };
        let parsed = phonenumber::parse(None, &international)
            .map_err(|_| PhoneError::Malformed(shown.clone()))?;
        if parsed.extension().is_some() || !phonenumber::is_valid(&parsed) {
            return Err(PhoneError::Invalid(shown));
        }
        let e164 = parsed.format().mode(Mode::E164).to_string();
        let international = parsed.format().mode(Mode::International).to_string();
        let country_code = parsed.code().value();
        let region = parsed.country().id().map(|id| format!("{id:?}"));
        Ok(Self::from_parts(e164, &international, country_code, region))
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

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked)
    }
}

/// Serialised masked: JSON output is as safe to show as the terminal.
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
mod tests {
    use super::*;

    #[test]
    fn accepts_real_numbers_in_many_spellings() {
        let cases = [
            (
                "+1 415 555 2671",
                "+14155552671",
                "+1 •••-•••-2671",
                Some("US"),
            ),
            (
                "+1 (415) 555-2671",
                "+14155552671",
                "+1 •••-•••-2671",
                Some("US"),
            ),
            (
                "+1-202-555-0123",
                "+12025550123",
                "+1 •••-•••-0123",
                Some("US"),
            ),
            // 7911 is a Guernsey mobile range in the numbering plan; 7400 is Great Britain.
            (
                "+44 7911 123456",
                "+447911123456",
                "+44 •••• ••3456",
                Some("GG"),
            ),
            (
                "0044 7911 123456",
                "+447911123456",
                "+44 •••• ••3456",
                Some("GG"),
            ),
            (
                "  +447400123456 ",
                "+447400123456",
                "+44 •••• ••3456",
                Some("GB"),
            ),
        ];
        for (input, e164, masked, region) in cases {
            let p = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(p.e164(), e164, "{input}");
            assert_eq!(p.masked(), masked, "{input}");
            assert_eq!(p.region(), region, "{input}");
        }
    }

    #[test]
    fn refuses_numbers_that_cannot_exist_or_are_not_numbers() {
        let cases = [
            ("", PhoneError::Empty),
            (
                "+1 555 555 0100",
                PhoneError::Invalid("+1 555 555 0100".into()),
            ),
            ("+1 415 555", PhoneError::Invalid("+1 415 555".into())),
            (
                "415 555 2671",
                PhoneError::NoCountryCode("415 555 2671".into()),
            ),
            (
                "+1 415 555 2671 x12",
                PhoneError::Malformed("+1 415 555 2671 x12".into()),
            ),
            ("hello", PhoneError::Malformed("hello".into())),
            ("+١٤١٥٥٥٥٢٦٧١", PhoneError::Malformed("+١٤١٥٥٥٥٢٦٧١".into())),
        ];
        for (input, want) in cases {
            assert_eq!(PhoneNumber::parse(input), Err(want), "{input:?}");
        }
        assert!(matches!(
            PhoneNumber::parse(&"+1".repeat(40)),
            Err(PhoneError::TooLong(_))
        ));
    }

    #[test]
    fn display_and_debug_never_show_the_full_number() {
        let p = PhoneNumber::parse("+1 415 555 2671").unwrap();
        assert!(!format!("{p}").contains("415"));
        assert!(!format!("{p:?}").contains("415"));
        assert_eq!(p.short(), "+1•••2671");
    }

    #[test]
    fn error_messages_neutralise_control_characters() {
        let err = PhoneNumber::parse("+1\x1b[2J415").unwrap_err().to_string();
        assert!(!err.contains('\x1b'), "{err:?}");
    }

    /// otpd's patched regex-cache (vendor/README.md) no longer syntax-checks the numbering
    /// plan's regexes when the plan loads; this compiles every one of them instead (`Display`
    /// compiles a cached regex; an invalid one panics), and parses the example numbers.
    #[test]
    fn every_regex_of_the_numbering_plan_compiles_and_examples_parse() {
        use phonenumber::metadata::DATABASE;
        use phonenumber::metadata::{Descriptor, Format};
        fn compile(r: &impl std::fmt::Display) -> usize {
            r.to_string().len()
        }
        let mut regexes = 0;
        let mut examples = 0;
        for m in DATABASE.iter() {
            let d = m.descriptors();
            let descriptors: Vec<&Descriptor> = [
                Some(d.general()),
                d.fixed_line(),
                d.mobile(),
                d.toll_free(),
                d.premium_rate(),
                d.shared_cost(),
                d.personal_number(),
                d.voip(),
                d.pager(),
                d.uan(),
                d.voicemail(),
            ]
            .into_iter()
            .flatten()
            .collect();
            for desc in &descriptors {
                regexes += usize::from(compile(desc.national_number()) > 0);
            }
            let formats: Vec<&Format> = m
                .formats()
                .iter()
                .chain(m.international_formats())
                .collect();
            for f in formats {
                regexes += usize::from(compile(f.pattern()) > 0);
                regexes += f
                    .leading_digits()
                    .iter()
                    .map(compile)
                    .filter(|n| *n > 0)
                    .count();
            }
            for r in [
                m.international_prefix(),
                m.national_prefix_for_parsing(),
                m.leading_digits(),
            ]
            .into_iter()
            .flatten()
            {
                regexes += usize::from(compile(r) > 0);
            }
            if let Some(example) = d.mobile().and_then(Descriptor::example) {
                let input = format!("+{} {example}", m.country_code());
                let p = PhoneNumber::parse(&input).unwrap_or_else(|e| panic!("{}: {e}", m.id()));
                let shown: String = p.masked().chars().filter(char::is_ascii_digit).collect();
                assert!(
                    shown.ends_with(&example[example.len() - 4..]),
                    "{input} -> {p}"
                );
                examples += 1;
            }
        }
        assert!(regexes > 2_000, "only {regexes} regexes");
        assert!(examples > 150, "only {examples} example numbers");
    }
}

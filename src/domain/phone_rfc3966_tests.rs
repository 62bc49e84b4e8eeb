//! The start-up fast path of `domain::phone` (issue 15): international input respelled in
//! RFC 3966 form must parse exactly as phonenumber's natural-language parser parses it.

use super::*;
use crate::domain::plan::tests::typed_descriptors;
use phonenumber::Mode;
use phonenumber::metadata::{DATABASE, Descriptor};

thread_local! {
    /// How often this thread's parses went through phonenumber's natural-language parser
    /// (the one that compiles its Unicode regexes) instead of the RFC 3966 spelling.
    pub(super) static NATURAL_PARSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Parses `text` both ways with the plan `judge` would use; `false` when the fast path does not
/// apply to it.
fn same_both_ways(text: &str) -> bool {
    let text = text.trim(); // as `PhoneNumber::parse_in` hands it on
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let Some(db) = plan::code_prefix(&digits).and_then(plan::for_code) else {
        return false;
    };
    let Some(tel) = rfc3966_form(db, text) else {
        return false;
    };
    let natural = phonenumber::parse_with(db, None, text);
    let fast = phonenumber::parse_with(db, None, &tel);
    assert_eq!(
        format!("{fast:?}"),
        format!("{natural:?}"),
        "{text:?} as {tel:?}"
    );
    // And otpd's whole answer: the same number, masked form, region and type, or refusal.
    assert_eq!(PhoneNumber::parse(text), parse_naturally(text), "{text:?}");
    true
}

/// `PhoneNumber::parse` as it was before the fast path: the natural parser only.
fn parse_naturally(text: &str) -> Result<PhoneNumber, PhoneError> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let db = plan::code_prefix(&digits)
        .and_then(plan::for_code)
        .expect("a code");
    let shown = crate::sanitize::sanitize(text.trim());
    let p = phonenumber::parse_with(db, None, text)
        .map_err(|_| PhoneError::Malformed(shown.clone()))?;
    let db = plan::for_code(p.code().value()).expect("a plan");
    if p.extension().is_some() || !phonenumber::is_valid_with(db, &p) {
        return Err(PhoneError::Invalid(shown));
    }
    let mut n = PhoneNumber::from_parts(
        written(db, &p, Style::E164),
        &written(db, &p, Style::International),
        p.code().value(),
        p.metadata(db)
            .and_then(|m| m.id().parse::<phonenumber::country::Id>().ok())
            .map(|id| format!("{id:?}")),
    );
    n.kind = NumberType::from(p.number_type(db));
    Ok(n)
}

/// Every example number of every type of every region, in E.164, as phonenumber writes it
/// internationally, with dashes, brackets, a national prefix after the code, and trailing
/// punctuation.
#[test]
fn the_rfc3966_spelling_parses_exactly_as_the_natural_one() {
    let mut compared = 0;
    for m in (1..=999u16).filter_map(|c| DATABASE.by_code(&c)).flatten() {
        let examples = typed_descriptors(m)
            .into_iter()
            .filter_map(Descriptor::example);
        let cc = m.country_code();
        for x in examples {
            let (a, b) = x.split_at(x.len() / 2);
            let mut spellings = vec![
                format!("+{cc}{x}"),
                format!("+{cc} {x}"),
                format!("+{cc}-{a}-{b}"),
                format!("+ ({cc}) {a}.{b}"),
                format!("++{cc} 0{x}"),
                format!("+{cc} {x} -)"),
                format!("+{cc}{x}+"),
            ];
            if let Ok(p) = phonenumber::parse(None, format!("+{cc}{x}")) {
                spellings.push(p.format().mode(Mode::International).to_string());
            }
            for s in spellings {
                compared += usize::from(same_both_ways(&s));
            }
        }
    }
    assert!(compared > 5_000, "only {compared} comparisons");
}

/// Pseudo-random strings of otpd's input alphabet that start with `+`, most of them almost
/// numbers: whatever the fast path accepts must parse as the natural parser parses it.
#[test]
fn random_input_parses_the_same_both_ways() {
    let alphabet = b"0123456789012345678901234567890123456789   -().+";
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut compared = 0;
    for _ in 0..20_000 {
        let len = 1 + next(20);
        let mut s = String::from("+");
        s.extend((0..len).map(|_| char::from(alphabet[next(alphabet.len())])));
        compared += usize::from(same_both_ways(&s));
    }
    assert!(compared > 5_000, "only {compared} comparisons");
}

/// The fast path is the common path: the spellings people and scripts use, and every stored
/// number, never reach the natural parser.
#[test]
fn common_international_input_skips_the_natural_parser() {
    let before = NATURAL_PARSES.with(|n| n.get());
    for input in [
        "+14155552671",
        "+1 415 555 2671",
        "+1 (415) 555-2671",
        "+447911123456",
        "0044 7911 123456",
        "+44 (0) 7911 123456",
        "+1 555 555 0100",
    ] {
        let _ = PhoneNumber::parse(input);
    }
    assert_eq!(NATURAL_PARSES.with(|n| n.get()), before);
    let _ = PhoneNumber::parse("+1 41");
    assert_eq!(NATURAL_PARSES.with(|n| n.get()), before + 1);
}

/// Input without a space that has separators is read by phonenumber's RFC 3966 parser, which
/// takes the first group for the calling code; the fast path leaves it to that parser, so such
/// input is judged as before: accepted when the first group is the code, refused otherwise.
#[test]
fn separated_input_without_spaces_stays_with_phonenumbers_rfc3966_reading() {
    let db = plan::for_code(44).expect("+44");
    for text in [
        "+44-7911-123456",
        "+4479-11123456",
        "+205.83-260",
        "+44(7911)123456",
    ] {
        assert_eq!(rfc3966_form(db, text), None, "{text}");
    }
    assert_eq!(
        PhoneNumber::parse("+44-7911-123456").map(|p| p.e164().to_string()),
        Ok("+447911123456".to_string())
    );
    assert_eq!(
        PhoneNumber::parse("+4479-11123456"),
        Err(PhoneError::Malformed("+4479-11123456".into()))
    );
    assert_eq!(
        rfc3966_form(db, "+44 79-11 123456)").as_deref(),
        Some("+44-7911123456")
    );
}

//! Phone parsing against the real numbering plan: spellings, refusals, national input per
//! region, number types, and the per-calling-code plan agreeing with the whole world's.

use super::*;
use crate::domain::RegionError;
use crate::domain::formatting;
use crate::domain::plan::tests::typed_descriptors;
use phonenumber::Mode;

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
/// compiles a cached regex; an invalid one panics), and parses the example numbers. It does
/// so for phonenumber's whole-world plan and for otpd's per-calling-code copy
/// (`domain::plan`), whose regexes are stored without their layout.
#[test]
fn every_regex_of_the_numbering_plan_compiles_and_examples_parse() {
    let (regexes, examples) = compile_all(&phonenumber::metadata::DATABASE);
    assert!(regexes > 2_000, "only {regexes} regexes");
    assert!(examples > 150, "only {examples} example numbers");
    let (mut subset_regexes, mut subset_examples) = (0, 0);
    for e in plan::entries() {
        let (r, x) = compile_all(plan::for_code(e.code).expect("every code builds"));
        subset_regexes += r;
        subset_examples += x;
    }
    assert_eq!((subset_regexes, subset_examples), (regexes, examples));
}

fn compile_all(db: &Database) -> (usize, usize) {
    use phonenumber::metadata::{Descriptor, Format};
    fn compile(r: &impl std::fmt::Display) -> usize {
        r.to_string().len()
    }
    let mut regexes = 0;
    let mut examples = 0;
    for m in (1..=999u16).filter_map(|c| db.by_code(&c)).flatten() {
        let d = m.descriptors();
        let descriptors: Vec<&Descriptor> = std::iter::once(d.general())
            .chain(typed_descriptors(m))
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
    (regexes, examples)
}

fn region(code: &str) -> Region {
    Region::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"))
}

/// National spellings read with a default region, and what the plan says about each.
#[test]
fn national_input_is_read_in_the_default_region() {
    use NumberType::*;
    let cases = [
        (
            "US",
            "415 555 2671",
            "+14155552671",
            "US",
            FixedLineOrMobile,
        ),
        (
            "US",
            "(415) 555-2671",
            "+14155552671",
            "US",
            FixedLineOrMobile,
        ),
        (
            "US",
            "202-555-0123",
            "+12025550123",
            "US",
            FixedLineOrMobile,
        ),
        (
            "US",
            "1 415 555 2671",
            "+14155552671",
            "US",
            FixedLineOrMobile,
        ),
        ("US", "+44 7911 123456", "+447911123456", "GG", Mobile),
        ("GB", "020 7946 0018", "+442079460018", "GB", FixedLine),
        ("GB", "07400 123456", "+447400123456", "GB", Mobile),
        // 07911 is a Guernsey range in the plan, dialled like any UK mobile.
        ("GB", "07911 123456", "+447911123456", "GG", Mobile),
        ("GB", "0044 7911 123456", "+447911123456", "GG", Mobile),
        (
            "GB",
            "00 1 415 555 2671",
            "+14155552671",
            "US",
            FixedLineOrMobile,
        ),
        ("DE", "030 123456", "+4930123456", "DE", FixedLine),
        ("DE", "01512 3456789", "+4915123456789", "DE", Mobile),
        ("DE", "(030) 123456", "+4930123456", "DE", FixedLine),
        ("IN", "098765 43210", "+919876543210", "IN", Mobile),
        ("IN", "98765 43210", "+919876543210", "IN", Mobile),
        ("IN", "011 2345 6789", "+911123456789", "IN", FixedLine),
    ];
    for (r, input, e164, in_region, kind) in cases {
        let p = PhoneNumber::parse_in(input, Some(region(r)))
            .unwrap_or_else(|e| panic!("{r} {input}: {e}"));
        assert_eq!(p.e164(), e164, "{r} {input}");
        assert_eq!(p.region(), Some(in_region), "{r} {input}");
        assert_eq!(p.number_type(), kind, "{r} {input}");
        assert_eq!(p, PhoneNumber::parse(e164).unwrap(), "{r} {input}");
    }
    assert_eq!(
        PhoneNumber::parse_in("415 555 2671", Some(region("US")))
            .unwrap()
            .masked(),
        "+1 •••-•••-2671"
    );
}

#[test]
fn national_input_without_a_region_keeps_todays_refusal() {
    assert_eq!(
        PhoneNumber::parse_in("415 555 2671", None),
        Err(PhoneError::NoCountryCode("415 555 2671".into()))
    );
    assert!(
        PhoneError::NoCountryCode("415 555 2671".into())
            .to_string()
            .contains("start with + and the country code")
    );
}

#[test]
fn national_input_the_region_refuses_names_the_region() {
    let us = region("US");
    let gb = region("GB");
    for (r, input) in [
        (us, "415 555"),
        (us, "555 555 0100"),
        (us, "415 555 2671 1"),
        (gb, "020 7946"),
        (gb, "0"),
        (region("IN"), "12345"),
    ] {
        assert_eq!(
            PhoneNumber::parse_in(input, Some(r)),
            Err(PhoneError::InvalidIn(input.into(), r)),
            "{r} {input}"
        );
    }
    let msg = PhoneError::InvalidIn("415 555".into(), us).to_string();
    assert_eq!(
        msg,
        "\"415 555\" is not a valid number in US; check the digits, or start with + and the country code, e.g. +1 415 555 2671"
    );
    // International input keeps its own errors, region or not.
    assert_eq!(
        PhoneNumber::parse_in("+1 555 555 0100", Some(us)),
        Err(PhoneError::Invalid("+1 555 555 0100".into()))
    );
    assert_eq!(
        PhoneNumber::parse_in("415 555 2671 x12", Some(us)),
        Err(PhoneError::Malformed("415 555 2671 x12".into()))
    );
}

#[test]
fn region_codes_are_checked_and_say_what_is_accepted() {
    let us = region(" us ");
    assert_eq!((us.as_str(), us.country_code()), ("US", 1));
    assert_eq!(us.to_string(), "US");
    assert_eq!("GB".parse::<Region>().map(|r| r.country_code()), Ok(44));
    assert_eq!(region("DE").country_code(), 49);
    assert_eq!(region("IN").country_code(), 91);
    for bad in ["USA", "U", "", "1A", "001", "U.S.", "ÜS"] {
        assert_eq!(
            Region::parse(bad),
            Err(RegionError::Shape(bad.trim().into())),
            "{bad:?}"
        );
    }
    for unknown in ["XX", "UK", "zz"] {
        assert_eq!(
            Region::parse(unknown),
            Err(RegionError::Unknown(unknown.into()))
        );
    }
    assert_eq!(
        RegionError::Shape("USA".into()).to_string(),
        "\"USA\" is not a region code: use an ISO 3166 two-letter code (alpha-2), e.g. US, GB, DE or IN"
    );
    assert!(RegionError::Unknown("UK".into()).to_string().starts_with(
        "\"UK\" is not a region in the numbering plan: use an ISO 3166 two-letter code"
    ));
    let hostile = Region::parse("\x1b[2J").unwrap_err().to_string();
    assert!(!hostile.contains('\x1b'), "{hostile:?}");
}

#[test]
fn each_region_has_a_national_mobile_example() {
    for (r, example) in [
        ("US", "(201) 555-0123"),
        ("GB", "07400 123456"),
        ("DE", "01512 3456789"),
        ("IN", "081234 56789"),
    ] {
        let got = region(r).mobile_example();
        assert_eq!(got.as_deref(), Some(example), "{r}");
        let p = PhoneNumber::parse_in(example, Some(region(r))).unwrap();
        assert_eq!(p.region(), Some(r));
    }
}

/// Numbers valid in the plan, one per type the plan can tell apart offline (`unknown` is
/// never the type of a valid number: validity means the plan knows the type).
#[test]
fn number_types_come_from_the_plan() {
    use NumberType::*;
    let cases = [
        ("+1 900 234 5678", PremiumRate),
        ("+1 800 723 3456", TollFree),
        ("+1 500 234 5678", PersonalNumber),
        ("+1 415 555 2671", FixedLineOrMobile),
        ("+44 20 7946 0018", FixedLine),
        ("+44 7911 123456", Mobile),
        ("+44 7400 123456", Mobile),
        ("+44 800 123 4567", TollFree),
        ("+44 901 234 5678", PremiumRate),
        ("+44 56 1234 5678", Voip),
        ("+44 76 4012 3456", Pager),
        ("+44 55 1234 5678", Uan),
        ("+44 70 1234 5678", PersonalNumber),
        ("+49 180 1 2345", SharedCost),
        ("+49 177 99 1234567", Voicemail),
        ("+91 1860 345 1234", SharedCost),
    ];
    let mut seen: Vec<NumberType> = Vec::new();
    for (input, kind) in cases {
        let p = PhoneNumber::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(p.number_type(), kind, "{input}");
        seen.push(kind);
    }
    let unseen: Vec<_> = NumberType::ALL
        .into_iter()
        .filter(|t| !seen.contains(t))
        .collect();
    assert_eq!(unseen, vec![NumberType::Unknown]);
    let premium = PhoneNumber::parse("+1 900 234 5678").unwrap();
    assert!(NumberType::DEFAULT_REFUSED.contains(&premium.number_type()));
}

/// What phonenumber's whole-world plan says about `text` (`None`: not a valid number).
fn reference(text: &str, id: Option<phonenumber::country::Id>) -> Option<PhoneNumber> {
    use phonenumber::metadata::DATABASE;
    let p = phonenumber::parse(id, text).ok()?;
    if p.extension().is_some() || !phonenumber::is_valid(&p) {
        return None;
    }
    let mut n = PhoneNumber::from_parts(
        p.format().mode(Mode::E164).to_string(),
        &p.format().mode(Mode::International).to_string(),
        p.code().value(),
        p.country().id().map(|id| format!("{id:?}")),
    );
    n.kind = NumberType::from(p.number_type(&DATABASE));
    Some(n)
}

/// otpd's formatter (`domain::formatting`) writes `text` exactly as phonenumber's own does, in
/// every mode otpd uses, with no fallback.
fn formats_agree(text: &str, region: Option<Region>) {
    let Ok(p) = phonenumber::parse(region.map(Region::id), text) else {
        return;
    };
    let subset = plan::for_code(p.code().value()).expect("a plan for a parsed code");
    for (style, mode) in [
        (Style::E164, Mode::E164),
        (Style::International, Mode::International),
        (Style::National, Mode::National),
    ] {
        let theirs = p.format().mode(mode).to_string();
        assert_eq!(
            formatting::format(subset, &p, style),
            Some(theirs),
            "{text} {mode:?}"
        );
    }
}

/// The per-calling-code plan must judge exactly as the whole world's does: every example
/// number of every type of every region, international and as the region's own national
/// spelling, gives the same E.164, masked form, region and type, or the same refusal.
#[test]
fn the_per_code_plan_agrees_with_the_whole_world_plan() {
    use phonenumber::metadata::{DATABASE, Descriptor};
    let mut compared = 0;
    // By code: `DATABASE.iter()` shows only one of the non-geographic (`001`) plans.
    for m in (1..=999u16).filter_map(|c| DATABASE.by_code(&c)).flatten() {
        let examples = typed_descriptors(m)
            .into_iter()
            .filter_map(Descriptor::example);
        let region = Region::parse(m.id()).ok();
        for example in examples {
            let intl = format!("+{} {example}", m.country_code());
            let ours = PhoneNumber::parse(&intl).ok();
            assert_eq!(ours, reference(&intl, None), "{intl}");
            formats_agree(&intl, None);
            compared += 1;
            let Some(r) = region else { continue };
            // The national spellings: bare digits, and as the region writes them.
            let national = phonenumber::parse(Some(r.id()), example)
                .map(|p| p.format().mode(Mode::National).to_string());
            for input in std::iter::once(example.to_string()).chain(national) {
                let ours = PhoneNumber::parse_in(&input, Some(r));
                if matches!(ours, Err(PhoneError::Malformed(_))) || input.starts_with("00") {
                    continue; // refused by otpd's own input rules before the plan is asked
                }
                assert_eq!(ours.ok(), reference(&input, Some(r.id())), "{r} {input}");
                formats_agree(&input, Some(r));
                compared += 1;
            }
        }
    }
    assert!(compared > 2_000, "only {compared} comparisons");
}

/// The start-up fix: a number is judged with its own calling code's plan only; the whole
/// world's is built just for the rare input that needs it.
#[test]
fn common_input_never_builds_the_whole_world_plan() {
    use super::super::plan::tests::WORLD_USES;
    let before = WORLD_USES.with(|n| n.get());
    for input in [
        "+1 415 555 2671",
        "0044 7911 123456",
        "+49 30 123456",
        "+1 555 555 0100",
    ] {
        let _ = PhoneNumber::parse(input);
    }
    let _ = PhoneNumber::parse_in("020 7946 0018", Some(region("GB")));
    let _ = PhoneNumber::parse_in("415 555", Some(region("US")));
    assert_eq!(WORLD_USES.with(|n| n.get()), before);
    // `011` is the US international prefix: the number is British, outside +1's plan.
    let p = PhoneNumber::parse_in("011 44 7911 123456", Some(region("US"))).unwrap();
    assert_eq!(p.e164(), "+447911123456");
    assert_eq!(WORLD_USES.with(|n| n.get()), before + 1);
}

#[test]
fn numbers_serialise_masked_always() {
    let p = PhoneNumber::parse("+1 415 555 2671").unwrap();
    assert_eq!(serde_json::to_string(&p).unwrap(), "\"+1 •••-•••-2671\"");
}

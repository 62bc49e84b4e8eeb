//! The numbering plan's regexes behave under regex-lite (vendored regex-cache, issue 15) exactly
//! as they did under the regex crate: same matches, same groups, same replacements, on the
//! digit strings phonenumber matches them against.

use crate::domain::plan::tests::typed_descriptors;
use phonenumber::metadata::{DATABASE, Descriptor, Metadata};

/// The regex crate as the vendored regex-cache configured it before: the plan's options
/// (`ignore_whitespace`) and ASCII classes.
fn reference(source: &str) -> regex::Regex {
    regex::RegexBuilder::new(source)
        .ignore_whitespace(true)
        .unicode(false)
        .build()
        .unwrap_or_else(|e| panic!("{source}: {e}"))
}

/// Every group's span of a `captures` answer, from either engine.
macro_rules! spans {
    ($c:expr) => {
        $c.map(|c| {
            c.iter()
                .map(|m| m.map(|m| (m.start(), m.end())))
                .collect::<Vec<_>>()
        })
    };
}

/// Digit strings of the kind phonenumber matches: the region's example numbers, with a national
/// prefix or a stray digit in front, their beginnings (leading-digits patterns), and
/// pseudo-random digits of every length up to 17.
fn haystacks(m: &Metadata, next: &mut impl FnMut(u64) -> u64) -> Vec<String> {
    let examples: Vec<&str> = typed_descriptors(m)
        .into_iter()
        .filter_map(Descriptor::example)
        .collect();
    let mut out = vec![String::new()];
    for x in examples {
        out.push(x.to_string());
        for p in ["0", "1", "00", m.national_prefix().unwrap_or("0")] {
            out.push(format!("{p}{x}"));
        }
        out.extend((1..x.len()).map(|n| x[..n].to_string()));
    }
    for len in 1..=17 {
        out.push(
            (0..len)
                .map(|_| char::from(b'0' + next(10) as u8))
                .collect(),
        );
    }
    out
}

#[test]
fn plan_regexes_match_under_regex_lite_as_under_regex() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let (mut regexes, mut matches) = (0, 0);
    for m in (1..=999u16).filter_map(|c| DATABASE.by_code(&c)).flatten() {
        let d = m.descriptors();
        // Each regex with the replacement phonenumber uses it with (if any).
        let mut list: Vec<_> = std::iter::once(d.general())
            .chain(typed_descriptors(m))
            .chain(d.emergency())
            .chain(d.short_code())
            .map(|d| (d.national_number(), None::<&str>))
            .collect();
        for f in m.formats().iter().chain(m.international_formats()) {
            list.push((f.pattern(), Some(f.format())));
            list.extend(f.leading_digits().iter().map(|r| (r, None)));
        }
        list.extend(m.international_prefix().map(|r| (r, None)));
        list.extend(m.leading_digits().map(|r| (r, None)));
        if let Some(r) = m.national_prefix_for_parsing() {
            list.push((r, m.national_prefix_transform_rule()));
        }
        let hay = haystacks(m, &mut next);
        for (lite, replacement) in list {
            let full = reference(lite.as_str());
            regexes += 1;
            assert_eq!(
                lite.captures_len(),
                full.captures_len(),
                "{}",
                lite.as_str()
            );
            for h in &hay {
                let what = format!("{} {} on {h:?}", m.id(), lite.as_str());
                assert_eq!(lite.is_match(h), full.is_match(h), "{what}");
                assert_eq!(
                    lite.find(h).map(|x| (x.start(), x.end())),
                    full.find(h).map(|x| (x.start(), x.end())),
                    "{what}"
                );
                assert_eq!(spans!(lite.captures(h)), spans!(full.captures(h)), "{what}");
                if let Some(r) = replacement {
                    assert_eq!(lite.replace(h, r), full.replace(h, r), "{what} → {r}");
                }
                matches += 1;
            }
        }
    }
    assert!(regexes > 2_000, "only {regexes} regexes");
    assert!(matches > 100_000, "only {matches} comparisons");
}

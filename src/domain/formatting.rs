//! phonenumber's formatter, rewritten on its public metadata API so formatting a number does not
//! build the whole world's plan (issue 15, "Start-up").
//!
//! phonenumber 0.3.10's `Formatter::fmt` starts with `self.database.unwrap_or(&DATABASE)`: the
//! argument is evaluated before `unwrap_or` looks at it, so even `format_with(database)` forces
//! the default whole-world `DATABASE` to load (~250 regions), which was most of the start-up
//! left after `domain::plan`. The logic below is the same as `Formatter::fmt` for the E.164,
//! international and national modes (including its choice of format and its national-prefix
//! rule substitution); `domain::phone`'s tests compare the output with phonenumber's on every
//! example number of every region.

use phonenumber::Mode;
use phonenumber::PhoneNumber as Parsed;
use phonenumber::metadata::{Database, Format};

use super::plan;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    E164,
    International,
    National,
}

/// The number written in `style`, or `None` if `db` has no plan for its calling code (as
/// phonenumber's formatter fails with `fmt::Error`).
pub(crate) fn format(db: &Database, number: &Parsed, style: Style) -> Option<String> {
    let code = number.code().value();
    // phonenumber formats with the calling code's first (main) region, not the number's own.
    let meta = db.by_code(&code)?.into_iter().next()?;
    let national = number.national().to_string();
    if style == Style::E164 {
        return Some(format!("+{code}{national}"));
    }
    let formats = if meta.international_formats().is_empty() || style == Style::National {
        meta.formats()
    } else {
        meta.international_formats()
    };
    let chosen = choose(&national, formats);
    let ext = number.extension().map(|ext| {
        let prefix = meta.preferred_extension_prefix().unwrap_or(" ext. ");
        format!("{prefix}{ext}")
    });
    let body = match (style, chosen) {
        (_, None) => national.clone(),
        (Style::National, Some(f)) => {
            let carrier = number
                .carrier()
                .and_then(|c| f.domestic_carrier().map(|rule| (rule, Some(c.as_ref()))));
            let rule = carrier.or_else(|| f.national_prefix().map(|rule| (rule, None)));
            match rule {
                Some((rule, carrier)) => {
                    let np = meta.national_prefix().unwrap_or("");
                    let rewritten = with_prefix_rule(f.format(), rule, np, carrier)?;
                    f.pattern()
                        .replace(&national, rewritten.as_str())
                        .into_owned()
                }
                None => f.pattern().replace(&national, f.format()).into_owned(),
            }
        }
        (_, Some(f)) => f.pattern().replace(&national, f.format()).into_owned(),
    };
    Some(match style {
        Style::National => format!("{body}{}", ext.unwrap_or_default()),
        _ => format!("+{code} {body}{}", ext.unwrap_or_default()),
    })
}

/// phonenumber's choice: the first format whose last leading-digits pattern matches at the
/// start and whose pattern matches the whole number, or the first with no leading digits at
/// all (its `||` binds looser than `&&`: such a format is taken without checking its pattern).
fn choose<'a>(national: &str, formats: &'a [Format]) -> Option<&'a Format> {
    formats.iter().find(|f| match f.leading_digits().last() {
        None => true,
        Some(leading) => {
            leading.find(national).is_some_and(|m| m.start() == 0)
                && f.pattern()
                    .find(national)
                    .is_some_and(|m| m.start() == 0 && m.end() == national.len())
        }
    })
}

/// `format` with its first group (`$1`, or the first `$N`) rewritten by a national-prefix or
/// carrier rule such as `($NP$FG)` or `$NP $CC $FG`: what phonenumber does with its
/// `FIRST_GROUP` regex `(\$\d)` and a regex replacement string. `None` for a rule using `$`
/// in a way no plan does (the caller then reports the number as unformattable).
fn with_prefix_rule(
    format: &str,
    rule: &str,
    national_prefix: &str,
    carrier: Option<&str>,
) -> Option<String> {
    let at = format
        .as_bytes()
        .windows(2)
        .position(|w| w[0] == b'$' && w[1].is_ascii_digit())?;
    let first = &format[at..at + 2];
    let replacement = rule
        .replace("$NP", national_prefix)
        .replace("$FG", &format!("${first}"))
        .replace("$CC", carrier.unwrap_or(""));
    // Expand the replacement as `regex` would for this one match, whose groups 0 and 1 are
    // both `first`: `$$` is a `$`; `$0`/`$1` are `first`.
    let mut expanded = String::new();
    let mut rest = replacement.as_str();
    while let Some(i) = rest.find('$') {
        expanded.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        match (after.as_bytes().first(), &after[..digits]) {
            (Some(b'$'), _) => {
                expanded.push('$');
                rest = &after[1..];
            }
            (_, "0" | "1")
                if !after[digits..].starts_with(|c: char| c.is_alphanumeric() || c == '_') =>
            {
                expanded.push_str(first);
                rest = &after[digits..];
            }
            _ => return None,
        }
    }
    expanded.push_str(rest);
    Some(format!("{}{expanded}{}", &format[..at], &format[at + 2..]))
}

/// A valid number written in `style` by otpd's copy of phonenumber's formatter, or, should a
/// plan's formatting rule ever be beyond that copy, by phonenumber's own (which loads the
/// whole-world plan: correct, only slower).
pub(crate) fn written(db: &Database, parsed: &phonenumber::PhoneNumber, style: Style) -> String {
    format(db, parsed, style).unwrap_or_else(|| {
        let mode = match style {
            Style::E164 => Mode::E164,
            Style::International => Mode::International,
            Style::National => Mode::National,
        };
        parsed.format_with(plan::world()).mode(mode).to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_rules_rewrite_the_first_group_only() {
        assert_eq!(
            with_prefix_rule("$1 $2 $3", "($NP$FG)", "0", None).as_deref(),
            Some("(0$1) $2 $3")
        );
        assert_eq!(
            with_prefix_rule("$1-$2", "$NP $CC $FG", "0", Some("21")).as_deref(),
            Some("0 21 $1-$2")
        );
        assert_eq!(
            with_prefix_rule("$2 $3", "$NP$FG", "8", None).as_deref(),
            Some("8$2 $3")
        );
        assert_eq!(with_prefix_rule("$1", "$FG$x", "0", None), None);
        assert_eq!(with_prefix_rule("no group", "$NP$FG", "0", None), None);
    }
}

//! The one function every echoed string passes through before it reaches a terminal or a log:
//! input typed by people, text quoted back by providers and text read back from the database
//! (which anyone with write access to the file can edit) can carry escape sequences.

use std::borrow::Cow;

/// Replaces ESC, BEL and every other C0/C1 control, DEL and the Unicode bidi and invisible
/// formatting controls with U+FFFD, so nothing echoed can move the cursor, recolour the screen,
/// ring the bell or reorder the text a person reads.
pub fn sanitize(input: &str) -> String {
    input
        .chars()
        .map(|c| if is_dangerous(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// [`sanitize`] without copying text that is already clean (for exports of many rows).
pub fn clean(input: &str) -> Cow<'_, str> {
    if input.chars().any(is_dangerous) {
        Cow::Owned(sanitize(input))
    } else {
        Cow::Borrowed(input)
    }
}

/// A sanitised spreadsheet cell: a spreadsheet reads a cell starting with `=`, `+`, `-`, `@`,
/// TAB or CR as a formula, so such a cell gets a leading `'` (OWASP's advice against CSV
/// injection). The masked phone `+1 •••-•••-2671` therefore comes out as `'+1 •••-•••-2671`.
pub fn csv_cell(input: &str) -> Cow<'_, str> {
    let text = clean(input);
    if input.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        text
    }
}

/// Whether `c` must never reach a terminal as-is.
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}'                 // Arabic letter mark
            | '\u{200B}'..='\u{200F}'  // zero-width spaces/joiners, LRM, RLM
            | '\u{2028}' | '\u{2029}'  // line/paragraph separators
            | '\u{202A}'..='\u{202E}'  // embeddings and overrides
            | '\u{2060}'..='\u{2069}'  // word joiner, invisible operators, isolates
            | '\u{FEFF}'               // byte order mark
            | '\u{FFF9}'..='\u{FFFB}') // interlinear annotations
}

/// Cuts `s` to at most `max` characters, marking the cut with an ellipsis.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_every_kind_of_control() {
        let cases = [
            ("plain +1 415", "plain +1 415"),
            ("\x1b[31mred", "\u{FFFD}[31mred"),
            ("bell\x07", "bell\u{FFFD}"),
            ("c1\u{9b}2J", "c1\u{FFFD}2J"),
            ("rtl\u{202E}txt", "rtl\u{FFFD}txt"),
            ("iso\u{2066}x\u{2069}", "iso\u{FFFD}x\u{FFFD}"),
            ("nul\0", "nul\u{FFFD}"),
            ("new\nline\r", "new\u{FFFD}line\u{FFFD}"),
            ("•••-2671 ✔", "•••-2671 ✔"),
        ];
        for (input, want) in cases {
            assert_eq!(sanitize(input), want, "{input:?}");
        }
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_evaluate_are_quoted() {
        let cases = [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+1 •••-•••-2671", "'+1 •••-•••-2671"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\u{FFFD}=1"),
            ("\rx", "'\u{FFFD}x"),
            ("a=b", "a=b"),
            ("", ""),
            ("\x1b[2J", "\u{FFFD}[2J"),
        ];
        for (input, want) in cases {
            assert_eq!(csv_cell(input), want, "{input:?}");
        }
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn truncates_on_characters_not_bytes() {
        assert_eq!(truncate("••••", 3), "••…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}

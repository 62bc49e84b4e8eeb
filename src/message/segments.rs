//! What a text costs as SMS: its encoding (GSM-7 when every character is in the GSM 03.38 set,
//! else UCS-2), its length in the encoding's units and the number of segments a carrier bills —
//! so an operator learns before the first message that a curly quote doubles the bill.

use std::fmt;

/// How the text travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// 7-bit GSM 03.38: 160 septets alone, 153 per segment when split.
    Gsm7,
    /// UTF-16: 70 units alone, 67 per segment when split; emoji take two units.
    Ucs2,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Gsm7 => "GSM-7",
            Encoding::Ucs2 => "UCS-2",
        }
    }

    /// Units in a message that fits one segment, and per segment of a split one (the rest of
    /// each segment holds the header that joins them).
    pub fn capacity(self) -> (usize, usize) {
        match self {
            Encoding::Gsm7 => (160, 153),
            Encoding::Ucs2 => (70, 67),
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The GSM 03.38 basic character set, one septet each.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// The extension table: an escape septet plus one, so two septets each.
const GSM_EXTENSION: &str = "\u{000C}^{}\\[~]|€";

/// Septets a character takes in GSM-7, or `None` when GSM-7 cannot carry it.
pub fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// What a text costs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Characters, as a person counts them.
    pub chars: usize,
    /// Septets (GSM-7) or UTF-16 units (UCS-2).
    pub units: usize,
    /// SMS segments billed.
    pub segments: usize,
    /// The characters GSM-7 cannot carry, each once, in order of appearance: why it is UCS-2.
    pub forced_ucs2: Vec<char>,
}

impl Segments {
    /// Counts `text`. A character is never split across segments (an escape pair or a
    /// surrogate pair that would not fit moves whole to the next), as phones join them.
    pub fn count(text: &str) -> Segments {
        let mut forced_ucs2: Vec<char> = Vec::new();
        for c in text.chars() {
            if gsm_septets(c).is_none() && !forced_ucs2.contains(&c) {
                forced_ucs2.push(c);
            }
        }
        let encoding = if forced_ucs2.is_empty() {
            Encoding::Gsm7
        } else {
            Encoding::Ucs2
        };
        let cost = |c: char| match encoding {
            Encoding::Gsm7 => gsm_septets(c).unwrap_or(1),
            Encoding::Ucs2 => c.len_utf16(),
        };
        let units: usize = text.chars().map(cost).sum();
        let (single, split) = encoding.capacity();
        let segments = if units <= single {
            1
        } else {
            let (mut segments, mut used) = (1, 0);
            for c in text.chars().map(cost) {
                if used + c > split {
                    segments += 1;
                    used = 0;
                }
                used += c;
            }
            segments
        };
        Segments {
            encoding,
            chars: text.chars().count(),
            units,
            segments,
            forced_ucs2,
        }
    }

    /// The characters that forced UCS-2, named so an invisible one can be found:
    /// `’ (U+2019), 😀 (U+1F600)`. Empty for GSM-7.
    pub fn culprits(&self) -> String {
        self.forced_ucs2
            .iter()
            .map(|&c| {
                if c.is_whitespace() || crate::sanitize::is_dangerous(c) {
                    format!("U+{:04X}", u32::from(c))
                } else {
                    format!("{c} (U+{:04X})", u32::from(c))
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One line for an operator: `GSM-7, 75 characters, 1 segment`.
    pub fn summary(&self) -> String {
        format!(
            "{}, {} character{}, {} segment{}",
            self.encoding,
            self.chars,
            if self.chars == 1 { "" } else { "s" },
            self.segments,
            if self.segments == 1 { "" } else { "s" },
        )
    }

    /// What a `delivered` audit event's detail says of the SMS's cost, `; 2 SMS segments
    /// (UCS-2)`, read back by [`segments_in_detail`] for `audit stats`.
    pub fn audit_phrase(&self) -> String {
        format!(
            "; {} SMS segment{} ({})",
            self.segments,
            if self.segments == 1 { "" } else { "s" },
            self.encoding
        )
    }

    /// A warning when the text needs more than one segment, naming what forced UCS-2.
    pub fn warning(&self, what: &str) -> Option<String> {
        if self.segments <= 1 {
            return None;
        }
        let mut w = format!(
            "{what} needs {} SMS segments ({}); each is billed",
            self.segments,
            self.summary()
        );
        if self.encoding == Encoding::Ucs2 {
            let (single, _) = Encoding::Gsm7.capacity();
            w.push_str(&format!(
                ". It is sent as UCS-2 (70 units a segment, not {single}) because of {}",
                self.culprits()
            ));
        }
        Some(w)
    }
}

/// The SMS segments an audit detail records ([`Segments::audit_phrase`]); `None` when it
/// records none (older events, WhatsApp, calls).
pub fn segments_in_detail(detail: &str) -> Option<i64> {
    let end = detail.rfind(" SMS segment")?;
    let start = detail[..end].rfind("; ")? + 2;
    detail[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_phrase_reads_back() {
        let s = Segments::count(&"á".repeat(71));
        let detail = format!("outbox: written to the outbox{}", s.audit_phrase());
        assert_eq!(
            detail,
            "outbox: written to the outbox; 2 SMS segments (UCS-2)"
        );
        assert_eq!(segments_in_detail(&detail), Some(2));
        assert_eq!(
            segments_in_detail("twilio: HTTP 201; ref SM1; 1 SMS segment (GSM-7) [attempt 1: x]"),
            Some(1)
        );
        assert_eq!(segments_in_detail("outbox: written to the outbox"), None);
    }

    #[test]
    fn gsm7_boundary_at_160() {
        let at = Segments::count(&"a".repeat(160));
        assert_eq!(
            (at.encoding, at.units, at.segments),
            (Encoding::Gsm7, 160, 1)
        );
        let over = Segments::count(&"a".repeat(161));
        assert_eq!((over.units, over.segments), (161, 2));
        assert_eq!(Segments::count(&"a".repeat(306)).segments, 2);
        assert_eq!(Segments::count(&"a".repeat(307)).segments, 3);
        assert!(at.warning("the en message").is_none());
        assert!(
            over.warning("x")
                .unwrap()
                .starts_with("x needs 2 SMS segments")
        );
    }

    #[test]
    fn extension_characters_count_double() {
        let euro = Segments::count("€");
        assert_eq!(
            (euro.encoding, euro.chars, euro.units),
            (Encoding::Gsm7, 1, 2)
        );
        let s = Segments::count(&format!("{}{{", "a".repeat(158)));
        assert_eq!((s.units, s.segments), (160, 1));
        let s = Segments::count(&format!("{}[", "a".repeat(159)));
        assert_eq!((s.units, s.segments), (161, 2));
        // An escape pair is not split: 152 + 2 does not fit 153, so it starts segment 2
        // (306 units, yet three segments).
        let s = Segments::count(&format!("{}^{}", "a".repeat(152), "a".repeat(152)));
        assert_eq!((s.units, s.segments), (306, 3));
        for c in "^{}\\[~]|€\u{c}".chars() {
            assert_eq!(gsm_septets(c), Some(2), "{c:?}");
        }
        for c in "@£$¥èéÇΔß¿ñüà\n".chars() {
            assert_eq!(gsm_septets(c), Some(1), "{c:?}");
        }
    }

    #[test]
    fn a_curly_quote_forces_ucs2_and_is_named() {
        let text = format!("Don’t share it. {}", "a".repeat(50));
        let s = Segments::count(&text);
        assert_eq!(s.encoding, Encoding::Ucs2);
        assert_eq!((s.chars, s.units, s.segments), (66, 66, 1));
        assert_eq!(s.forced_ucs2, vec!['’']);
        let long = Segments::count(&format!("{text} {}", "b".repeat(10)));
        assert_eq!((long.units, long.segments), (77, 2));
        let w = long.warning("message.template").unwrap();
        assert!(w.contains("because of ’ (U+2019)"), "{w}");
        assert!(w.contains("UCS-2, 77 characters, 2 segments"), "{w}");
    }

    #[test]
    fn emoji_take_two_units() {
        let s = Segments::count("Code 123456 🔐");
        assert_eq!((s.encoding, s.chars, s.units), (Encoding::Ucs2, 13, 14));
        assert_eq!(s.culprits(), "🔐 (U+1F510)");
        // 69 units + a 2-unit emoji = 71 > 70: two segments.
        let s = Segments::count(&format!("{}🔐", "á".repeat(69)));
        assert_eq!((s.units, s.segments), (71, 2));
        // 66 + 2 does not fit 67: the pair moves whole to segment 2, 67 + 67 then a third.
        let s = Segments::count(&format!("{}🔐{}", "á".repeat(66), "á".repeat(66)));
        assert_eq!((s.units, s.segments), (134, 3));
        // Characters GSM-7 lacks but a reader might expect: ç, á, and a non-breaking space.
        let s = Segments::count("ç á\u{a0}");
        assert_eq!(s.culprits(), "ç (U+00E7), á (U+00E1), U+00A0");
    }
}

//! One-time codes: drawn uniformly from a CSPRNG, parsed from what people type, never shown by
//! `Debug` and wiped from memory when dropped.

use std::fmt;

use rand::{CryptoRng, RngExt};
use zeroize::Zeroizing;

/// The shortest and longest code otpd generates or accepts.
pub const MIN_LEN: usize = 6;
pub const MAX_LEN: usize = 10;

/// A code's digits. There is deliberately no `Display`: the digits leave only through
/// [`Code::expose_digits`], which delivery and hashing call.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(Zeroizing<String>);

/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    Empty,
    NotDigits,
    Length(usize),
    /// Digits that cannot be the code sent: codes here have another length.
    WrongLength {
        expected: usize,
        got: usize,
    },
    /// Bare digits at the prompt that are neither a code of this length nor a phone number.
    Neither {
        expected: usize,
        got: usize,
    },
}

impl Code {
    /// `len` uniform decimal digits. `random_range` rejects out-of-range samples, so there is no
    /// modulo bias.
    pub fn generate<R: CryptoRng + ?Sized>(len: usize, rng: &mut R) -> Code {
        let digits: String = (0..len)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect();
        Code(Zeroizing::new(digits))
    }

    /// Accepts ASCII digits separated by spaces or dashes (`123 456`, `123-456`). Other
    /// scripts' digits are refused rather than silently converted.
    pub fn parse(input: &str) -> Result<Code, CodeError> {
        let mut digits = Zeroizing::new(String::with_capacity(MAX_LEN));
        let mut count = 0usize;
        for c in input.trim().chars() {
            match c {
                '0'..='9' => {
                    count += 1;
                    if count <= MAX_LEN {
                        digits.push(c);
                    }
                }
                ' ' | '-' => {}
                _ => return Err(CodeError::NotDigits),
            }
        }
        match count {
            0 => Err(CodeError::Empty),
            n if !(MIN_LEN..=MAX_LEN).contains(&n) => Err(CodeError::Length(n)),
            _ => Ok(Code(digits)),
        }
    }

    /// [`Code::parse`], for an installation whose codes have `expected` digits (0: unknown, any
    /// length otpd accepts): digits of another length cannot match, and are refused as input
    /// rather than spending an attempt.
    pub fn parse_len(input: &str, expected: usize) -> Result<Code, CodeError> {
        match Code::parse(input) {
            Err(CodeError::Length(got)) if expected > 0 => {
                Err(CodeError::WrongLength { expected, got })
            }
            Ok(code) if expected > 0 && code.len() != expected => Err(CodeError::WrongLength {
                expected,
                got: code.len(),
            }),
            other => other,
        }
    }

    /// How many ASCII digits `input` holds.
    pub fn digits_in(input: &str) -> usize {
        input.chars().filter(char::is_ascii_digit).count()
    }

    /// Whether `input` looks like a code (digits with optional spaces or dashes) — the test the
    /// prompt uses to treat a bare line as `verify`.
    pub fn looks_like(input: &str) -> bool {
        let t = input.trim();
        t.chars().any(|c| c.is_ascii_digit())
            && !t.starts_with('+')
            && t.chars()
                .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    }

    /// The digits themselves, for hashing and for the message that delivers them.
    pub fn expose_digits(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({})", "*".repeat(self.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_known_length_refuses_every_other_length() {
        assert_eq!(
            Code::parse_len("123 456", 6).unwrap().expose_digits(),
            "123456"
        );
        for (input, got) in [("12345678", 8), ("12345", 5), ("123456789012", 12)] {
            assert_eq!(
                Code::parse_len(input, 6),
                Err(CodeError::WrongLength { expected: 6, got }),
                "{input}"
            );
        }
        assert!(Code::parse_len("12345678", 0).is_ok());
        assert_eq!(Code::parse_len("12a", 6), Err(CodeError::NotDigits));
        assert_eq!(Code::parse_len("", 6), Err(CodeError::Empty));
    }

    #[test]
    fn parse_cases() {
        let ok = [
            ("123456", "123456"),
            (" 123 456 ", "123456"),
            ("123-456", "123456"),
            ("1234567890", "1234567890"),
        ];
        for (input, want) in ok {
            assert_eq!(Code::parse(input).unwrap().expose_digits(), want, "{input}");
        }
        let bad = [
            ("", CodeError::Empty),
            ("  ", CodeError::Empty),
            ("12345", CodeError::Length(5)),
            ("12345678901", CodeError::Length(11)),
            ("12a456", CodeError::NotDigits),
            ("١٢٣٤٥٦", CodeError::NotDigits),
            ("123\u{0}456", CodeError::NotDigits),
        ];
        for (input, want) in bad {
            assert_eq!(Code::parse(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn generated_codes_have_the_length_asked_for_and_use_every_digit() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut seen = [0u32; 10];
        for len in MIN_LEN..=MAX_LEN {
            for _ in 0..200 {
                let code = Code::generate(len, &mut rng);
                assert_eq!(code.len(), len);
                for b in code.expose_digits().bytes() {
                    seen[usize::from(b - b'0')] += 1;
                }
            }
        }
        // 8000 digits: each of the ten should turn up close to 800 times.
        for (digit, n) in seen.iter().enumerate() {
            assert!((650..=950).contains(n), "digit {digit} seen {n} times");
        }
    }

    #[test]
    fn debug_never_shows_digits() {
        let code = Code::parse("482913").unwrap();
        assert_eq!(format!("{code:?}"), "Code(******)");
    }

    #[test]
    fn looks_like_a_code() {
        assert!(Code::looks_like("123 456"));
        assert!(Code::looks_like("123-456"));
        assert!(!Code::looks_like("+1 415 555 2671"));
        assert!(!Code::looks_like("resend"));
        assert!(!Code::looks_like(""));
    }
}

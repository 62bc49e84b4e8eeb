//! Fuzz targets for everything that parses untrusted text. Under `cargo test` each runs a
//! bounded random corpus; `cargo install cargo-bolero` then `cargo bolero test --test it
//! fuzz::NAME --sanitizer NONE` fuzzes one with coverage guidance. Every target asserts more
//! than "no panic": whatever comes back for display is safe to print, judged by a predicate
//! written here from the rule, not by the sanitiser under test.

use clap::Parser;
use otpd::cli::Cli;
use otpd::domain::{Code, PhoneNumber};
use otpd::grammar::{Line, parse_line};

/// Safe to put on a terminal, by the rule itself: no C0 control (below 0x20), no DEL, no C1
/// control (U+0080..=U+009F, e.g. CSI U+009B), no bidirectional control (the marks, embeddings,
/// overrides and isolates of Unicode's Bidi_Control property) — independent of
/// `otpd::sanitize`, so a gap in the sanitiser is a failure here, not a shared blind spot.
fn printable(s: &str) -> bool {
    !s.chars().any(|c| {
        let u = c as u32;
        u < 0x20
            || u == 0x7F
            || (0x80..=0x9F).contains(&u)
            || matches!(
                u,
                0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069
            )
    })
}

#[test]
fn fuzz_prompt_line() {
    bolero::check!().for_each(|bytes: &[u8]| {
        let line = String::from_utf8_lossy(bytes);
        let echoed = match parse_line(&line) {
            Line::Unknown { input, suggestion } => {
                otpd::render::prompt::unknown_command(&input, suggestion)
            }
            Line::Invalid(e) => otpd::render::text(&e.outcome()),
            _ => return,
        };
        assert!(printable(&echoed), "{line:?} echoed as {echoed:?}");
    });
}

#[test]
fn fuzz_phone_numbers() {
    bolero::check!().for_each(|bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        match PhoneNumber::parse(&text) {
            Ok(p) => {
                assert!(
                    p.e164().starts_with('+') && p.e164()[1..].bytes().all(|b| b.is_ascii_digit())
                );
                assert!(printable(p.masked()));
            }
            Err(e) => assert!(printable(&e.to_string()), "{e}"),
        }
        if let Err(e) = Code::parse(&text) {
            assert!(printable(&e.to_string()));
        }
    });
}

#[test]
fn fuzz_command_line() {
    bolero::check!().for_each(|bytes: &[u8]| {
        // NUL separates arguments, as argv cannot carry it.
        let args = bytes
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned());
        if let Ok(cli) = Cli::try_parse_from(std::iter::once("otpd".to_string()).chain(args))
            && let Some(command) = &cli.command
            && let Some(Err(e)) = command.request()
        {
            let shown = otpd::render::text(&e.outcome());
            assert!(printable(&shown), "{shown:?}");
        }
    });
}

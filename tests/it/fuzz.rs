//! Fuzz targets for everything that parses untrusted text. Under `cargo test` each runs a
//! bounded random corpus; `cargo install cargo-bolero` then `cargo bolero test --test it
//! fuzz::NAME --sanitizer NONE` fuzzes one with coverage guidance. Every target asserts more
//! than "no panic": whatever comes back for display is safe to print.

use clap::Parser;
use otpd::cli::Cli;
use otpd::domain::{Code, PhoneNumber};
use otpd::grammar::{Line, parse_line};
use otpd::sanitize::is_dangerous;

fn printable(s: &str) -> bool {
    !s.chars().any(is_dangerous)
}

#[test]
fn fuzz_prompt_line() {
    bolero::check!().for_each(|bytes: &[u8]| {
        let line = String::from_utf8_lossy(bytes);
        if let Line::Unknown { input, .. } = parse_line(&line) {
            assert!(printable(&input), "{input:?}");
        }
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

//! Operational errors as people read them: the `Display` of [`Error`] (every sentence of its
//! own variants), clap's messages made safe to print, warnings, and the panic notice.

use std::fmt;

use crate::error::{Error, InitError, RemoteError, Signal, StartError, Usage};
use crate::sanitize::sanitize;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Worded where they are raised, below the core.
            Error::Config(e) => write!(f, "{e}"),
            Error::Secret(e) => write!(f, "{e}"),
            Error::Store(e) => write!(f, "{e}"),
            Error::Hash(e) => write!(f, "{e}"),
            Error::Usage(u) => usage(f, u),
            Error::Start(e) => start(f, e),
            Error::Args(e) => f.write_str(&usage_line(e)),
            Error::PromptArgs(command, e) => f.write_str(&prompt_line(command, e)),
            Error::TwilioUnchecked => {
                f.write_str("the twilio delivery is selected but [twilio] was not validated")
            }
            Error::KioskShowsCodes => f.write_str(
                "kiosk mode never shows codes on the screen, but the console delivery does: configure the outbox or twilio delivery",
            ),
            Error::Output(e) => write!(f, "cannot write output: {e}"),
            Error::Input(e) => write!(f, "cannot read input: {e}"),
            Error::Terminal(e) => write!(f, "cannot use this terminal: {e}"),
            Error::Signals(Signal::Interrupt, e) => write!(f, "cannot handle Ctrl-C: {e}"),
            Error::Signals(Signal::Terminate, e) => write!(f, "cannot handle SIGTERM: {e}"),
            Error::Signals(Signal::Keyboard, e) => {
                write!(f, "cannot ignore keyboard signals: {e}")
            }
            Error::Remote(e) => remote(f, e),
            Error::Init(e) => init(f, e),
        }
    }
}

fn usage(f: &mut fmt::Formatter<'_>, u: &Usage) -> fmt::Result {
    match u {
        Usage::CopyOntoItself => {
            f.write_str("--to names the database being copied; give a new or empty store")
        }
        Usage::PlainHttpOffLoopback { listen } => write!(
            f,
            "refusing to listen on {listen} without TLS: clients' API secrets would cross the network in clear; set server.tls_cert and server.tls_key (PEM files) to serve HTTPS, listen on 127.0.0.1, or set server.allow_plain_http = true when a TLS-terminating proxy is in front"
        ),
        Usage::NegativeAge => f.write_str("--older-than must not be negative"),
        Usage::BadValue { flag, detail } => write!(f, "{flag}: {}", sanitize(detail)),
        Usage::SinceNotBeforeUntil => f.write_str("--since must be earlier than --until"),
        Usage::ServerCommandThroughServer { url } => write!(
            f,
            "otpd serve, otpd keys and otpd events run where the database is, not through a server ({}): unset --server / OTPD_SERVER / [remote] url",
            sanitize(url)
        ),
        Usage::LocalCommandThroughServer { url } => write!(
            f,
            "this command works on the database itself, not through a server: run it on the machine that runs otpd serve ({}), or without --server / OTPD_SERVER",
            sanitize(url)
        ),
        Usage::NoServer => f.write_str("no server configured (--server)"),
        Usage::NotAHead { given } => write!(
            f,
            "\"{}\" is not a head: use ID:MAC as printed by `otpd audit head`",
            crate::sanitize::truncate(&sanitize(given.trim()), 100)
        ),
        Usage::HeadFileUnreadable { path, source } => write!(
            f,
            "cannot read the head file {}: {source}",
            sanitize(&path.display().to_string())
        ),
        Usage::HeadFileEmpty { path } => write!(
            f,
            "the head file {} holds no ID:MAC line",
            sanitize(&path.display().to_string())
        ),
        Usage::BadCaFile { detail } => write!(
            f,
            "remote.ca_file holds no usable certificate: {}",
            sanitize(detail)
        ),
    }
}

fn start(f: &mut fmt::Formatter<'_>, e: &StartError) -> fmt::Result {
    match e {
        StartError::WorkerThread(Some(e)) => write!(f, "cannot start a worker thread: {e}"),
        StartError::WorkerThread(None) => f.write_str("a worker thread did not start"),
        StartError::AccessLogWriter(e) => {
            write!(f, "cannot start the access log's writer: {e}")
        }
        StartError::Runtime(e) => write!(f, "cannot start the server's runtime: {e}"),
        StartError::Listen { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
        StartError::BoundAddress(e) => write!(f, "cannot read the bound address: {e}"),
        StartError::Signals(e) => write!(f, "cannot watch signals: {e}"),
        StartError::EventsThread(Some(e)) => write!(f, "cannot start the events thread: {e}"),
        StartError::EventsThread(None) => f.write_str("the events thread did not start"),
        StartError::EventsClient { detail } => {
            write!(f, "cannot start the HTTP client for events: {detail}")
        }
    }
}

fn init(f: &mut fmt::Formatter<'_>, e: &InitError) -> fmt::Result {
    let shown = |p: &std::path::Path| sanitize(&p.display().to_string());
    match e {
        InitError::Exists(paths) => {
            let list: Vec<String> = paths.iter().map(|p| shown(p)).collect();
            write!(
                f,
                "otpd init writes nothing over existing files, and {} already {}: nothing was written. Keep what is there (otpd config shows it), or move it away first (never a master secret that a database still needs)",
                list.join(" and "),
                if list.len() == 1 { "exists" } else { "exist" }
            )
        }
        InitError::Write { path, source } => {
            write!(f, "cannot write {}: {source}", shown(path))
        }
    }
}

fn remote(f: &mut fmt::Formatter<'_>, e: &RemoteError) -> fmt::Result {
    match e {
        RemoteError::Unreachable {
            url,
            timed_out: true,
            ..
        } => write!(
            f,
            "cannot reach the otpd server at {url}: no answer in time (remote.connect_timeout_ms, remote.request_timeout_ms); if it got the request it may still have done it, so check with status before trying again"
        ),
        RemoteError::Unreachable { url, detail, .. } => write!(
            f,
            "cannot reach the otpd server at {url}: {detail}; check --server / OTPD_SERVER and that otpd serve runs there"
        ),
        RemoteError::Unauthorized { url } => write!(
            f,
            "the otpd server at {url} refused this terminal's API key (unknown, revoked or wrong secret): check OTPD_API_KEY and OTPD_API_SECRET, or ask for a new key (otpd keys create)"
        ),
        RemoteError::Forbidden { message, .. } => {
            write!(f, "the otpd server refused: {message}")
        }
        RemoteError::Rejected(message) => {
            write!(f, "the otpd server refused the request: {message}")
        }
        RemoteError::Server {
            status,
            code,
            message,
        } => write!(
            f,
            "the otpd server failed the request ({status}, error {code}): {message}"
        ),
        RemoteError::Protocol(what) => write!(
            f,
            "the otpd server's answer is not one this otpd understands ({what}); are both the same version?"
        ),
    }
}

/// An error as one line for people.
pub fn error_text(e: &Error) -> String {
    format!("otpd: {}", sanitize(&e.to_string()))
}

/// Something that did not stop the command (e.g. the audit head file could not be written).
pub fn warning(w: &str) -> String {
    format!("otpd: {}", sanitize(w))
}

/// What a panic prints: only where it happened, since a payload can quote data.
pub fn internal_error(at: Option<(&str, u32)>) -> String {
    let at = at
        .map(|(file, line)| format!(" at {file}:{line}"))
        .unwrap_or_default();
    format!("otpd: internal error{at}; nothing secret was printed. Please report this.")
}

/// A command-line parse error as one line: clap's message up to its usage block, without the
/// "error: " prefix.
pub fn usage_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let words: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let line = words.join(" ");
    let line = line.strip_prefix("error: ").unwrap_or(&line);
    crate::sanitize::truncate(&sanitize(line), 300)
}

/// A prompt line's parse error as one line: clap's first sentence, with the command it was
/// for and where its help is, e.g. "audit: unexpected argument '--x' found (see `audit --help`)".
pub fn prompt_line(command: &str, e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    sanitize(&format!("{command}: {first} (see `{command} --help`)"))
}

/// clap's own message (a parse error, or `--help` / `--version`), made safe to print: every
/// line sanitised and cut to 300 characters, since clap quotes the offending word back whole.
pub fn clap_message(rendered: &str) -> String {
    rendered
        .trim_end()
        .lines()
        .map(|l| crate::sanitize::truncate(&crate::sanitize::sanitize(l), 300))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_messages_are_sanitised_and_cut() {
        let long = "x".repeat(1000);
        let cases: [(&str, &str); 3] = [
            (
                "error: invalid value 'a\u{9b}b\u{202e}c'\n\nUsage: otpd\n",
                "error: invalid value 'a\u{fffd}b\u{fffd}c'\n\nUsage: otpd",
            ),
            ("plain\n", "plain"),
            ("a\u{7}\u{1b}[2J", "a\u{fffd}\u{fffd}[2J"),
        ];
        for (input, want) in cases {
            assert_eq!(clap_message(input), want, "{input:?}");
        }
        assert_eq!(clap_message(&long).chars().count(), 300);
    }
}

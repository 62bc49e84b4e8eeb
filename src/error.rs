//! Operational errors (as opposed to refusals, which are `Outcome`s) and their exit statuses.
//! Each variant says what failed as a type; its sentence is in `render::error` (the `Display`
//! impl), so every word the user reads is in one place.

use crate::config::ConfigError;
use crate::crypto::{HashError, SecretError};
use crate::domain::outcome::exit;
use crate::store::StoreError;

#[derive(Debug)]
pub enum Error {
    Config(ConfigError),
    Secret(SecretError),
    Store(StoreError),
    Hash(HashError),
    /// The words on the command line do not fit the grammar.
    Args(clap::Error),
    /// A prompt line's words do not fit its command (the prompt goes on).
    PromptArgs(&'static str, clap::Error),
    /// The twilio delivery was picked but its configuration was never checked.
    TwilioUnchecked,
    /// `otpd kiosk` with a delivery that shows codes on this screen.
    KioskShowsCodes,
    /// Standard output (or the kiosk's screen) cannot be written.
    Output(std::io::Error),
    /// Standard input cannot be read (or waited for).
    Input(std::io::Error),
    /// The line editor cannot use this terminal, or reading from it failed.
    Terminal(rustyline::error::ReadlineError),
    /// A signal handler could not be installed.
    Signals(Signal, std::io::Error),
    /// A command asked for something it cannot do as given (exit 2).
    Usage(Usage),
    /// `otpd serve` could not start a piece of itself (a thread, its runtime, its socket).
    Start(StartError),
    /// A remote terminal's server could not be reached or refused the work.
    Remote(RemoteError),
    /// `otpd init` found something in its way, or could not write.
    Init(InitError),
}

/// A usage mistake: the options or the configuration ask for something this command cannot do.
/// Worded in `render::error`.
#[derive(Debug)]
pub enum Usage {
    /// `otpd store copy --to` names the store being copied.
    CopyOntoItself,
    /// `otpd serve` on a non-loopback address without TLS or `allow_plain_http`.
    PlainHttpOffLoopback { listen: std::net::SocketAddr },
    /// `--older-than` is negative.
    NegativeAge,
    /// An option's value does not parse; `detail` is the parser's own sentence.
    BadValue { flag: &'static str, detail: String },
    /// `--since` is not earlier than `--until`.
    SinceNotBeforeUntil,
    /// `otpd serve` / `otpd keys` / `otpd events` asked through a remote server.
    ServerCommandThroughServer { url: String },
    /// A command that needs the database run with `--server`.
    LocalCommandThroughServer { url: String },
    /// A remote terminal without `--server`.
    NoServer,
    /// `[remote] ca_file` holds no certificate rustls can use.
    BadCaFile { detail: String },
    /// `--head` (or a head file's line) is not `ID:MAC`.
    NotAHead { given: String },
    /// The head file `audit verify` consults cannot be read.
    HeadFileUnreadable {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The head file holds no `ID:MAC` line.
    HeadFileEmpty { path: std::path::PathBuf },
}

impl From<Usage> for Error {
    fn from(u: Usage) -> Self {
        Error::Usage(u)
    }
}

/// What `otpd serve` could not start. Worded in `render::error`.
#[derive(Debug)]
pub enum StartError {
    WorkerThread(Option<std::io::Error>),
    AccessLogWriter(std::io::Error),
    Runtime(std::io::Error),
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    BoundAddress(std::io::Error),
    Signals(std::io::Error),
    /// The Verify Events delivery thread (`None`: it stopped before saying it was ready).
    EventsThread(Option<std::io::Error>),
    /// The events' HTTP client (TLS set-up); reqwest's words.
    EventsClient {
        detail: String,
    },
}

impl From<StartError> for Error {
    fn from(e: StartError) -> Self {
        Error::Start(e)
    }
}

/// Why `otpd init` wrote nothing (or stopped). Worded in `render::error`.
#[derive(Debug)]
pub enum InitError {
    /// These files already exist; nothing was written.
    Exists(Vec<std::path::PathBuf>),
    /// The configuration file could not be written.
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

impl From<InitError> for Error {
    fn from(e: InitError) -> Self {
        Error::Init(e)
    }
}

/// What went wrong between a remote terminal and `otpd serve`. Worded in `render::error`.
#[derive(Debug)]
pub enum RemoteError {
    /// No connection (refused, no route, name or TLS failure), or no answer in time.
    Unreachable {
        url: String,
        timed_out: bool,
        detail: String,
    },
    /// The API key is unknown, revoked, or its secret is wrong (exit 2: fix the key).
    Unauthorized { url: String },
    /// The key's role may not do this (exit 2). The server's sentence, and — for a request a
    /// use case refused — the privilege it lacks (the terminal renders that as an outcome).
    Forbidden {
        message: String,
        privilege: Option<crate::domain::Privilege>,
    },
    /// The server found the request itself wrong (400, e.g. audit words a server does not
    /// take): exit 2, the server's sentence.
    Rejected(String),
    /// The server failed the request (storage, saturation…): its Twilio error code and
    /// sentence.
    Server {
        status: u16,
        code: u32,
        message: String,
    },
    /// The server's answer was not one otpd understands (a different version, a proxy page).
    Protocol(String),
}

/// What a signal handler was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Ctrl-C at the prompt: finish the command, then stop or go on.
    Interrupt,
    /// SIGTERM: finish the command, then exit 143.
    Terminate,
    /// The kiosk's Ctrl-C, Ctrl-\ and Ctrl-Z, which must do nothing.
    Keyboard,
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // Transparent: their sentence is theirs, so is their cause.
            Error::Config(e) => std::error::Error::source(e),
            Error::Secret(e) => std::error::Error::source(e),
            Error::Store(e) => std::error::Error::source(e),
            Error::Hash(e) => std::error::Error::source(e),
            Error::Args(e) | Error::PromptArgs(_, e) => Some(e),
            Error::Output(e) | Error::Input(e) | Error::Signals(_, e) => Some(e),
            Error::Terminal(e) => Some(e),
            Error::Init(InitError::Write { source, .. }) => Some(source),
            Error::Start(
                StartError::WorkerThread(Some(e))
                | StartError::AccessLogWriter(e)
                | StartError::Runtime(e)
                | StartError::Listen { source: e, .. }
                | StartError::BoundAddress(e)
                | StartError::Signals(e)
                | StartError::EventsThread(Some(e)),
            ) => Some(e),
            Error::Init(InitError::Exists(_))
            | Error::TwilioUnchecked
            | Error::KioskShowsCodes
            | Error::Usage(_)
            | Error::Start(
                StartError::WorkerThread(None)
                | StartError::EventsThread(None)
                | StartError::EventsClient { .. },
            )
            | Error::Remote(_) => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<SecretError> for Error {
    fn from(e: SecretError) -> Self {
        Error::Secret(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<HashError> for Error {
    fn from(e: HashError) -> Self {
        Error::Hash(e)
    }
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Config(_)
            | Error::Secret(_)
            | Error::Usage(_)
            | Error::Args(_)
            | Error::PromptArgs(..)
            | Error::TwilioUnchecked
            | Error::KioskShowsCodes
            | Error::Init(InitError::Exists(_))
            | Error::Store(StoreError::NoPassword { .. })
            | Error::Remote(
                RemoteError::Unauthorized { .. }
                | RemoteError::Forbidden { .. }
                | RemoteError::Rejected(_),
            ) => exit::USAGE,
            Error::Store(_) | Error::Remote(_) | Error::Init(InitError::Write { .. }) => {
                exit::STORAGE
            }
            Error::Hash(_)
            | Error::Start(_)
            | Error::Output(_)
            | Error::Input(_)
            | Error::Terminal(_)
            | Error::Signals(..) => exit::INTERNAL,
        }
    }

    /// A stable name for JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) | Error::Secret(_) | Error::Store(StoreError::NoPassword { .. }) => {
                "config_error"
            }
            Error::Usage(_)
            | Error::Args(_)
            | Error::PromptArgs(..)
            | Error::TwilioUnchecked
            | Error::KioskShowsCodes
            | Error::Init(InitError::Exists(_)) => "usage_error",
            Error::Init(InitError::Write { .. }) => "storage_error",
            Error::Store(_) => "storage_error",
            Error::Remote(RemoteError::Unauthorized { .. } | RemoteError::Forbidden { .. }) => {
                "config_error"
            }
            Error::Remote(RemoteError::Rejected(_)) => "usage_error",
            Error::Remote(RemoteError::Unreachable { .. }) => "server_unreachable",
            Error::Remote(_) => "server_error",
            Error::Hash(_)
            | Error::Start(_)
            | Error::Output(_)
            | Error::Input(_)
            | Error::Terminal(_)
            | Error::Signals(..) => "internal_error",
        }
    }
}

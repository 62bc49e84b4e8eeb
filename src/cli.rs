//! The command line: global options (each also from the environment) and the subcommands.
//! Raw words become a typed [`Request`] here, once.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::{InputError, Request};
use crate::config::{Overrides, Provider};
use crate::domain::{Channel, Code, PhoneNumber};

#[derive(Debug, Parser)]
#[command(
    name = "otpd",
    version,
    about = "Verify a phone number with a one-time code.",
    long_about = "Verify a phone number with a one-time code.\n\nWithout a command, otpd opens the interactive prompt.",
    after_help = "Exit status: 0 sent/approved, 1 refused by policy, 2 bad input or configuration, 3 storage error, 4 delivery failed, 5 internal error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// SQLite database file [default: the platform data dir, e.g. ~/.local/share/otpd/otpd.db]
    #[arg(long, env = "OTPD_DB", value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
    /// TOML configuration file [default: the platform config dir, e.g. ~/.config/otpd/config.toml]
    #[arg(long, env = "OTPD_CONFIG", value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Name of this terminal [default: the host name]
    #[arg(long, env = "OTPD_STATION", value_name = "NAME", global = true)]
    pub station: Option<String>,
    /// How codes are delivered [default: console]
    #[arg(long, env = "OTPD_DELIVERY", value_enum, global = true)]
    pub delivery: Option<Provider>,
    /// JSON-lines file for the outbox delivery
    #[arg(long, env = "OTPD_OUTBOX", value_name = "PATH", global = true)]
    pub outbox: Option<PathBuf>,
    /// Print exactly one JSON object per command on stdout
    #[arg(long, global = true)]
    pub json: bool,
}

impl Global {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            database: self.db.clone(),
            station: self.station.clone(),
            provider: self.delivery,
            outbox: self.outbox.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send a code to PHONE (e.g. +1 415 555 2671)
    Send {
        /// The phone number, with country code; spaces are fine
        #[arg(required = true, num_args = 1.., value_name = "PHONE")]
        phone: Vec<String>,
        /// sms, whatsapp or call [default: sms, or [delivery] channel]
        // Parsed in `request`, not by clap: clap would echo the raw value, however long and
        // whatever escape sequences it holds.
        #[arg(long, value_name = "CHANNEL")]
        channel: Option<String>,
    },
    /// Send a new code for the pending verification (the old code stops working)
    Resend {
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
    },
    /// Check a code
    Verify {
        /// The code; spaces and dashes are fine
        #[arg(required = true, num_args = 1.., value_name = "CODE")]
        code: Vec<String>,
        /// Whose code it is (may be left out when this station has one pending verification)
        #[arg(long, num_args = 1.., value_name = "PHONE")]
        phone: Option<Vec<String>>,
    },
    /// Show pending verifications
    Status {
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
    },
    /// Abandon the pending verification (audited)
    Cancel {
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
    },
    /// Show the abuse and cost limits: counters, locked numbers, what would be refused now
    #[command(args_conflicts_with_subcommands = true)]
    Limits {
        /// Also show one number's counters and whether a send to it would be refused
        #[arg(num_args = 0.., value_name = "PHONE")]
        phone: Vec<String>,
        #[command(subcommand)]
        action: Option<LimitsAction>,
    },
    /// Lift a number's lock-out after too many wrong codes (audited)
    Unlock {
        #[arg(required = true, num_args = 1.., value_name = "PHONE")]
        phone: Vec<String>,
    },
    /// Show the effective configuration (secrets redacted)
    Config,
    /// Review the audit log (newest first), or verify, head, stats, export
    Audit(Box<crate::audit::AuditArgs>),
    /// Delete finished verifications older than an age (audit rows are kept)
    Prune(crate::audit::PruneArgs),
    /// Open the interactive prompt (the default without a command)
    Repl,
    /// Run the locked-down guided flow for an unattended public terminal
    Kiosk,
}

#[derive(Debug, Subcommand)]
pub enum LimitsAction {
    /// Resume sending after the conversion guard paused it (audited)
    Resume,
}

fn phone_arg(words: &[String]) -> Result<Option<PhoneNumber>, InputError> {
    if words.is_empty() {
        return Ok(None);
    }
    Ok(Some(PhoneNumber::parse(&words.join(" "))?))
}

impl Command {
    /// The typed request for a use-case command; `None` for the others.
    pub fn request(&self) -> Option<Result<Request, InputError>> {
        Some(match self {
            Command::Send { phone, channel } => channel
                .as_deref()
                .map(str::parse::<Channel>)
                .transpose()
                .map_err(|e| InputError::Other(format!("{e}.")))
                .and_then(|channel| {
                    Ok(Request::Send {
                        phone: phone_arg(phone)?.expect("clap requires a phone"),
                        channel,
                    })
                }),
            Command::Resend { phone } => phone_arg(phone).map(|phone| Request::Resend { phone }),
            Command::Verify { code, phone } => Code::parse(&code.join(" "))
                .map_err(InputError::from)
                .and_then(|code| {
                    let phone = phone_arg(phone.as_deref().unwrap_or_default())?;
                    Ok(Request::Verify { code, phone })
                }),
            Command::Status { phone } => phone_arg(phone).map(|phone| Request::Status { phone }),
            Command::Cancel { phone } => phone_arg(phone).map(|phone| Request::Cancel { phone }),
            Command::Limits {
                action: Some(LimitsAction::Resume),
                ..
            } => Ok(Request::ResumeSending),
            Command::Limits {
                phone,
                action: None,
            } => phone_arg(phone).map(|phone| Request::Limits { phone }),
            Command::Unlock { phone } => phone_arg(phone).and_then(|p| {
                p.map(|phone| Request::Unlock { phone })
                    .ok_or_else(|| InputError::Phone("a phone number is needed".into()))
            }),
            Command::Config
            | Command::Audit(_)
            | Command::Prune(_)
            | Command::Repl
            | Command::Kiosk => return None,
        })
    }
}

//! The one-shot command line: global options (each also from the environment), the
//! subcommands — the operator's commands from [`crate::grammar`] plus `config`, `prune`,
//! `repl` and `kiosk` — and running one command: parse → core → render, one answer, an exit
//! status.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::app::{App, Executor};
use crate::config::{Config, Dirs, Env, Overrides, Provider};
use crate::domain::Outcome;
use crate::error::Error;
use crate::grammar::{self, Asked, Operator, Reading};
use crate::render;
use crate::request::{InputError, Request};
use crate::terminal::hidden::{self, Hidden};

pub mod setup;

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

impl Cli {
    /// `otpd serve --log-format json`: stderr carries one JSON object a line.
    pub fn json_log(&self) -> bool {
        matches!(
            self.command,
            Some(Command::Serve {
                log_format: LogFormat::Json,
                ..
            })
        )
    }
}

#[derive(Debug, Args, Clone)]
pub struct Global {
    /// SQLite database file, or postgres://USER@HOST:PORT/DB?sslmode=… (password from
    /// PGPASSWORD) [default: the platform data dir, e.g. ~/.local/share/otpd/otpd.db]
    #[arg(long, env = "OTPD_DB", value_name = "PATH|URL", global = true)]
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
    /// Read numbers without + as national numbers of this region (ISO 3166 alpha-2, e.g. US,
    /// GB) [env: OTPD_REGION; default: [phone] default_region]
    #[arg(long, value_name = "REGION", global = true)]
    pub region: Option<String>,
    /// Work through this otpd server (its base URL) with the API key in OTPD_API_KEY and
    /// OTPD_API_SECRET: no local database, master secret or Twilio credentials [default:
    /// [remote] url]
    #[arg(long, env = "OTPD_SERVER", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// Print exactly one JSON object per command on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// The settings the flags above (or the variables clap reads for them) set, each with
    /// the flag or variable: for `otpd config`.
    #[arg(skip)]
    pub given: Vec<(&'static str, String)>,
}

/// Each global option that sets a setting: (clap id, setting, flag, variable).
const GIVEN: [(&str, &str, &str, Option<&str>); 7] = [
    ("config", "config", "--config", Some("OTPD_CONFIG")),
    ("db", "database", "--db", Some("OTPD_DB")),
    ("station", "station", "--station", Some("OTPD_STATION")),
    (
        "delivery",
        "delivery.provider",
        "--delivery",
        Some("OTPD_DELIVERY"),
    ),
    ("outbox", "delivery.outbox", "--outbox", Some("OTPD_OUTBOX")),
    ("region", "phone.default_region", "--region", None),
    ("server", "remote.url", "--server", Some("OTPD_SERVER")),
];

/// Which global options were given, and how, as the deepest subcommand's matches know them
/// (clap copies global values down).
fn given(matches: &clap::ArgMatches) -> Vec<(&'static str, String)> {
    let mut m = matches;
    while let Some((_, sub)) = m.subcommand() {
        m = sub;
    }
    GIVEN
        .iter()
        .filter_map(|(id, setting, flag, var)| {
            let how = match m
                .try_get_raw(id)
                .ok()
                .flatten()
                .and_then(|_| m.value_source(id))?
            {
                clap::parser::ValueSource::CommandLine => flag.to_string(),
                clap::parser::ValueSource::EnvVariable => (*var)?.to_string(),
                _ => return None,
            };
            Some((*setting, how))
        })
        .collect()
}

impl Global {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            database: self.db.clone(),
            station: self.station.clone(),
            provider: self.delivery,
            outbox: self.outbox.clone(),
            region: self.region.clone(),
            server: self.server.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Operator(Operator),
    /// Show the effective configuration (secrets redacted)
    Config,
    /// Write a commented config file and the master secret (never over existing files)
    ///
    /// Then say where everything lives: config, secret, database, history, audit head file.
    Init,
    /// Print a shell completion script (bash, zsh, fish…)
    Completions {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, in roff (otpd man > otpd.1)
    Man,
    /// Delete finished verifications older than an age (audit rows are kept)
    Prune(crate::audit::PruneArgs),
    /// Whole-store operations: copy everything into an empty store
    Store(grammar::store::StoreArgs),
    /// Open the interactive prompt (the default without a command)
    Repl,
    /// Run the locked-down guided flow for an unattended public terminal
    Kiosk,
    /// Run the Twilio Verify–compatible HTTP API
    Serve {
        /// Address to listen on, IP:PORT [default: [server] listen, OTPD_LISTEN or 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// The access log on stderr: text lines, or one JSON object a line for log shippers
        #[arg(long, value_enum, default_value = "text")]
        log_format: LogFormat,
    },
    /// Create, list and revoke the API keys `otpd serve` clients authenticate with
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Verify Events pushed to webhook sinks ([[events.sink]]) by otpd serve
    Events {
        #[command(subcommand)]
        action: EventsCommand,
    },
}

/// `otpd events …`.
#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// What each sink has pending, failed or dropped (exit status 1 if any failed or dropped)
    Status,
}

/// `otpd serve --log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `otpd keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key; its SID and secret are printed once
    Create {
        /// The station the key acts as
        #[arg(long, value_name = "NAME")]
        station: String,
        /// station (its station's verifications), auditor (the audit log) or admin (all)
        #[arg(long, default_value = "station")]
        role: String,
    },
    /// List the keys (never their secrets)
    List,
    /// Revoke a key (audited)
    Revoke {
        /// The key's SID (SK followed by 32 hex digits)
        sid: String,
    },
}

impl Command {
    /// The typed request for a use-case command, reading only international numbers; `None`
    /// for the others.
    pub fn request(&self) -> Option<Result<Request, InputError>> {
        match self {
            Command::Operator(op) => match op.asked(Reading::default()) {
                Ok(Asked::Run(r)) => Some(Ok(r)),
                Ok(Asked::Audit(_)) => None,
                Err(e) => Some(Err(e)),
            },
            _ => None,
        }
    }
}

/// Parses argv. `Err(status)`: clap's message (an error, or `--help` / `--version`) was
/// printed and the process exits with `status`.
pub fn parse(args: &[OsString]) -> Result<Cli, u8> {
    let parsed = Cli::command()
        .try_get_matches_from(args)
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    match parsed {
        Ok((mut cli, matches)) => {
            cli.global.given = given(&matches);
            if let Some(Command::Operator(Operator::Audit(a))) = &mut cli.command {
                crate::audit::args::drop_station_from_env(a, &matches);
            }
            Ok(cli)
        }
        // A script that asked for JSON gets its one object even when the words were wrong.
        Err(e) if e.use_stderr() && args.iter().any(|a| a == "--json") => {
            println!("{}", render::error_json(&Error::Args(e)));
            Err(2)
        }
        Err(e) => {
            // clap quotes the offending word back; it must not reach the terminal raw (C1 CSI,
            // bidi overrides) nor whole (a 128 KiB argument).
            let text = render::clap_message(&e.render().to_string());
            if e.use_stderr() {
                eprintln!("{text}");
                return Err(2);
            }
            println!("{text}");
            Err(0)
        }
    }
}

/// Loads the configuration and the platform directories; says what it had to warn about (as
/// JSON lines with `json_log`: `otpd serve --log-format json`).
pub fn load_config(global: &Global, env: &Env, json_log: bool) -> Result<(Config, Dirs), Error> {
    let dirs = Dirs::platform()?;
    let config = Config::load(&global.overrides(), env, &dirs)?;
    for w in config.warnings() {
        let line = render::error::warning(&w);
        if json_log {
            eprintln!("{}", render::serve::note(chrono::Utc::now(), &line, true));
        } else {
            eprintln!("{line}");
        }
    }
    Ok((config, dirs))
}

/// The local application, for the commands that only run where the database is.
fn open_local(config: Config) -> Result<App, Error> {
    if let Some(remote) = &config.remote {
        return Err(crate::error::Usage::LocalCommandThroughServer {
            url: remote.url.clone(),
        }
        .into());
    }
    App::for_process(config)
}

fn print(out: &mut dyn Write, o: &Outcome, json: bool) -> Result<u8, Error> {
    let line = if json {
        render::json(o)
    } else {
        render::text(o)
    };
    writeln!(out, "{line}").map_err(Error::Output)?;
    Ok(o.exit_code())
}

/// Opens what runs the requests: the local application, or a remote terminal's server.
pub type Opener = fn(Config) -> Result<Box<dyn Executor>, Error>;

/// One operator command. Bad words are answered before anything is opened.
pub fn operator(
    op: &Operator,
    config: Config,
    open: Opener,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let reading = Reading::of(&config);
    let asked = match op {
        Operator::Verify { code, phone } if code.is_empty() => {
            match code_from_stdin(phone, reading)? {
                Some(asked) => asked,
                None => return Ok(130),
            }
        }
        _ => op.asked(reading),
    };
    match asked {
        Err(bad) => print(out, &bad.outcome(), json),
        Ok(Asked::Run(request)) => {
            let mut app = open(config)?;
            let outcome = app.execute(&request);
            warn(app.as_mut());
            print(out, &outcome?, json)
        }
        Ok(Asked::Audit(args)) => open(config)?.audit(&args, json, out),
    }
}

/// `verify [--phone PHONE]` without a code: the code is one line of stdin, asked without echo
/// on a terminal, so that it is never in the process's arguments. The phone is checked first
/// (no one should type a code for a number that is refused anyway). `None`: Ctrl-C.
fn code_from_stdin(
    phone: &Option<Vec<String>>,
    reading: Reading,
) -> Result<Option<Result<Asked, InputError>>, Error> {
    let region = reading.region;
    let phone = match phone.as_ref().map(|w| grammar::phone(&w.join(" "), region)) {
        Some(Err(e)) => return Ok(Some(Err(e))),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    let line = match hidden::read_line(render::input::CODE_PROMPT).map_err(Error::Input)? {
        Hidden::Line(line) => line,
        Hidden::Refused(problem) => return Ok(Some(Err(problem.into()))),
        Hidden::Interrupted => return Ok(None),
    };
    let code = grammar::code(&line, reading.code_length);
    Ok(Some(
        code.map(|code| Asked::Run(Request::Verify { code, phone })),
    ))
}

/// `otpd config`: every setting, where it came from, and every problem (exit 2 if any),
/// even on an install too half-configured for any other command to start.
pub fn config(global: &Global, env: &Env, out: &mut dyn Write) -> Result<u8, Error> {
    let dirs = Dirs::platform()?;
    let (config, problems, origins) =
        Config::load_all(&global.overrides(), env, &dirs, global.given.clone());
    // A script asked for one JSON object: the first problem, as every other command gives.
    let mut problems = problems;
    if global.json && !problems.is_empty() {
        return Err(problems.swap_remove(0).into());
    }
    let bad: Vec<&str> = problems.iter().filter_map(|p| p.key()).collect();
    let report = render::config_summary::config_report(&config, &origins, problems.len(), &bad);
    writeln!(out, "{report}").map_err(Error::Output)?;
    if !problems.is_empty() {
        for p in problems {
            eprintln!("{}", render::error_text(&p.into()));
        }
        return Ok(crate::domain::outcome::exit::USAGE);
    }
    for w in config.warnings() {
        eprintln!("{}", render::error::warning(&w));
    }
    // A remote terminal has no database to look in.
    if config.remote.is_some() {
        return Ok(0);
    }
    // A service SID `otpd serve` generated lives in the database (never created just to look).
    if config.server.service_sid.is_none() && config.database.exists() {
        // `otpd config` works without the database: a server out of reach is only a note.
        let stored = open_local(config.clone()).and_then(|mut app| app.stored_service_sid());
        let shown = match stored {
            Ok(None) => "(none yet: generated by the first otpd serve)".into(),
            Ok(Some(s)) => format!("{s} (generated, stored in the database)"),
            Err(_) => "(unknown: the database could not be read)".into(),
        };
        writeln!(out, "server service   {shown}").map_err(Error::Output)?;
    }
    Ok(0)
}

/// `otpd prune`.
pub fn prune(
    args: &crate::audit::PruneArgs,
    config: Config,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let mut app = open_local(config)?;
    let code = app.prune(args, json, out);
    warn(&mut app);
    code
}

/// `otpd store copy --to PATH|URL`.
pub fn store(
    args: &grammar::store::StoreArgs,
    config: Config,
    json: bool,
    out: &mut dyn Write,
) -> Result<u8, Error> {
    let grammar::store::StoreCommand::Copy { to } = &args.command;
    let env = crate::config::env::Env::capture();
    let target = crate::config::database::target_env(to, env.pg_password.as_ref(), &env.pg)?;
    let head_file = (config.audit.head_every > 0 && config.audit.head_file.is_file())
        .then(|| config.audit.head_file.clone());
    let mut app = open_local(config)?;
    // A server still writing to this store would go on writing to it after the copy.
    if let Some(s) = app.served_by()? {
        eprintln!("{}", render::store::still_served(&s));
    }
    let (copied, head) = app.copy_store(&target)?;
    let shown = std::path::PathBuf::from(target.shown());
    let check = render::store::Check {
        head_file: head_file.as_deref(),
        head: head.as_ref(),
    };
    writeln!(
        out,
        "{}",
        render::store::copied(&copied, &shown, &check, json)
    )
    .map_err(Error::Output)?;
    Ok(render::store::exit_code(&copied))
}

/// Non-fatal problems the application noted (e.g. the audit head file could not be written).
fn warn(app: &mut dyn Executor) {
    for w in app.take_warnings() {
        eprintln!("{}", render::error::warning(&w));
    }
}

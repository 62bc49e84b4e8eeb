//! otpd verifies a person's phone number with a one-time code.
//!
//! The flow is one-way. A front-end — the one-shot command line ([`cli`]), the interactive
//! [`prompt`] or the [`kiosk`] — reads words, the one [`grammar`] turns them into a typed
//! [`request::Request`], the [`app`] runs it through the [`service`], which decides with the
//! pure [`domain`], persists with the [`store`], delivers through [`delivery`] and records the
//! [`store::audit`] event, and [`render`] words the [`Outcome`]. Front-ends never import each
//! other; what the two terminal ones share is in [`terminal`]. This file only picks the
//! front-end, and what runs its requests: the local [`app::App`], or with `--server` the
//! [`remote`] client of `otpd serve`. The environment and the configuration file are read once, at start-up, into
//! [`config`].

// No unsafe code, except the huge-page advice in `hugepages` (which allows it, and says why).
#![deny(unsafe_code)]

pub mod app;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod grammar;
pub mod hugepages;
pub mod kiosk;
pub mod message;
pub mod pages;
pub mod prompt;
pub mod remote;
pub mod render;
pub mod request;
pub mod sanitize;
pub mod secret_file;
pub mod serve;
pub mod service;
pub mod store;
pub mod terminal;
pub mod web;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use crate::app::{App, Executor};
use crate::cli::{Cli, Command};
use crate::config::{Config, Env};
pub use crate::domain::Outcome;
use crate::error::Error;

/// Runs otpd with the given arguments and returns its exit status.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // Before anything holds a key or a code: a crash must not write them to a core file.
    crypto::forbid_core_dumps();
    install_panic_hook();
    let env = Env::capture();
    // Debug builds only, like `OTPD_FAKE_NOW`: lets the tests prove the hook prints no payload.
    if let Some(payload) = &env.debug_panic {
        panic!("{}", payload.to_string_lossy());
    }
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match cli::parse(&args) {
        Ok(cli) => cli,
        Err(status) => return ExitCode::from(status),
    };
    let json = cli.global.json;
    // `otpd serve --log-format json`: every line on stderr is one JSON object, the
    // configuration's warnings and an error that stops the server included.
    let json_log = cli.json_log();
    let mut out = std::io::stdout().lock();
    let code = match dispatch(cli, &env, &mut out) {
        Ok(code) => code,
        Err(e) => {
            if json {
                let _ = writeln!(out, "{}", render::error_json(&e));
            } else if json_log {
                let line = render::error_text(&e);
                eprintln!("{}", render::serve::note(chrono::Utc::now(), &line, true));
            } else {
                eprintln!("{}", render::error_text(&e));
            }
            e.exit_code()
        }
    };
    let _ = out.flush();
    ExitCode::from(code)
}

/// Panic payloads can quote data; show only where it happened.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| (l.file(), l.line()));
        eprintln!("{}", render::error::internal_error(at));
    }));
}

/// What runs the requests: the local application, or with `--server` (`[remote] url`) the
/// server, which this terminal reaches with its API key and nothing else.
fn executor(config: Config) -> Result<Box<dyn Executor>, Error> {
    Ok(match config.remote {
        Some(_) => Box::new(remote::Client::new(config)?),
        None => Box::new(App::for_process(config)?),
    })
}

/// [`executor`] for the prompt and the kiosk, which learn their station from the server.
fn session_executor(config: Config) -> Result<Box<dyn Executor>, Error> {
    Ok(match config.remote {
        Some(_) => Box::new(remote::Client::connect(config)?),
        None => Box::new(App::for_process(config)?),
    })
}

/// Picks the front-end: the prompt without a command.
fn dispatch(cli: Cli, env: &Env, out: &mut dyn Write) -> Result<u8, Error> {
    let json = cli.global.json;
    // Set-up commands run before (and without) a configuration.
    match &cli.command {
        Some(Command::Init) => return cli::setup::init(&cli.global, env, out),
        Some(Command::Completions { shell }) => return cli::setup::completions(*shell, out),
        Some(Command::Man) => return cli::setup::man(out),
        // Shows every problem, so it cannot stop at the first one load_config meets.
        Some(Command::Config) => return cli::config(&cli.global, env, out),
        _ => {}
    }
    let (config, dirs) = cli::load_config(&cli.global, env, cli.json_log())?;
    let command = cli.command.unwrap_or(Command::Repl);
    if let (Some(r), Command::Serve { .. } | Command::Keys { .. }) = (&config.remote, &command) {
        return Err(Error::Usage(format!(
            "otpd serve and otpd keys run where the database is, not through a server ({}): unset --server / OTPD_SERVER / [remote] url",
            r.url
        )));
    }
    match command {
        Command::Operator(op) => cli::operator(&op, config, executor, json, out),
        Command::Config | Command::Init | Command::Completions { .. } | Command::Man => {
            unreachable!("run above, before the configuration is loaded")
        }
        Command::Prune(args) => cli::prune(&args, config, json, out),
        Command::Store(args) => cli::store(&args, config, json, out),
        Command::Repl => prompt::run(session_executor(config)?, &dirs.state, json, out),
        Command::Kiosk => kiosk::run(session_executor(config)?, out),
        Command::Serve { listen, log_format } => serve::run(
            config,
            listen.as_deref(),
            log_format == cli::LogFormat::Json,
            Some(pages::router),
            out,
        ),
        Command::Keys { action } => {
            use crate::serve::keys::KeysAction;
            let action = match action {
                cli::KeysCommand::Create { station, role } => KeysAction::Create { station, role },
                cli::KeysCommand::List => KeysAction::List,
                cli::KeysCommand::Revoke { sid } => KeysAction::Revoke { sid },
            };
            serve::keys::run(config, action, json, out)
        }
    }
}

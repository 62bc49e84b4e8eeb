//! otpd verifies a person's phone number with a one-time code.
//!
//! The flow is one-way: a line or argv becomes a typed [`app::Request`] ([`cli`]), the
//! [`service`] decides with the pure [`domain`], persists with the [`store`], delivers through
//! [`delivery`] and records the [`store::audit`] event, and [`render`] prints the [`Outcome`].

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod render;
pub mod sanitize;
pub mod service;
pub mod store;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::app::App;
use crate::cli::{Cli, Command};
use crate::config::{Config, Dirs};
pub use crate::domain::Outcome;
use crate::error::Error;

/// Runs otpd with the given arguments and returns its exit status.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    install_panic_hook();
    // Debug builds only, like `OTPD_FAKE_NOW`: lets the tests prove the hook prints no payload.
    #[cfg(debug_assertions)]
    if let Some(payload) = std::env::var_os("OTPD_DEBUG_PANIC") {
        panic!("{}", payload.to_string_lossy());
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let json = cli.global.json;
    let mut out = std::io::stdout().lock();
    let code = match execute(cli, &mut out) {
        Ok(code) => code,
        Err(e) => {
            if json {
                let _ = writeln!(out, "{}", render::error_json(&e));
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
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("otpd: internal error{at}; nothing secret was printed. Please report this.");
    }));
}

fn load_config(cli: &Cli) -> Result<Config, Error> {
    let dirs = Dirs::platform()?;
    let config = Config::load(&cli.global.overrides(), &dirs)?;
    for w in config.warnings() {
        eprintln!("otpd: {w}");
    }
    Ok(config)
}

fn execute(cli: Cli, out: &mut dyn Write) -> Result<u8, Error> {
    let json = cli.global.json;
    let Some(command) = &cli.command else {
        let help = Cli::command().render_long_help().to_string();
        writeln!(out, "{help}").map_err(|e| Error::Io(e.to_string()))?;
        return Ok(0);
    };
    let config = load_config(&cli)?;
    let print = |out: &mut dyn Write, o: &Outcome| -> Result<u8, Error> {
        let line = if json {
            render::json(o)
        } else {
            render::text(o)
        };
        writeln!(out, "{line}").map_err(|e| Error::Io(format!("cannot write output: {e}")))?;
        Ok(o.exit_code())
    };
    match command.request() {
        Some(Err(bad)) => print(out, &bad.outcome()),
        Some(Ok(request)) => {
            let mut app = App::open(config, clock::from_env())?;
            let outcome = app.execute(&request)?;
            print(out, &outcome)
        }
        None => match command {
            Command::Config => {
                writeln!(out, "{}", config_summary(&config))
                    .map_err(|e| Error::Io(e.to_string()))?;
                Ok(0)
            }
            _ => Ok(0),
        },
    }
}

fn config_summary(c: &Config) -> String {
    let file = c
        .file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(none: defaults)".into());
    format!(
        "config file      {file}\nstation          {}\ndatabase         {}\nsecret           {} (contents never shown)\ndelivery         {} (channel {}; outbox {})\npolicy           {}-digit codes, valid {} s, {} attempts, resend cooldown {} s\nhashing          argon2id m={} KiB t={} p={}",
        c.station,
        c.database.display(),
        if std::env::var_os("OTPD_SECRET").is_some() {
            "from OTPD_SECRET".to_string()
        } else {
            c.secret_file.display().to_string()
        },
        c.delivery.provider.as_str(),
        c.delivery.channel,
        c.delivery.outbox.display(),
        c.policy.code_length,
        c.policy.ttl.num_seconds(),
        c.policy.max_attempts,
        c.policy.resend_cooldown.num_seconds(),
        c.hashing.memory_kib,
        c.hashing.iterations,
        c.hashing.parallelism,
    )
}

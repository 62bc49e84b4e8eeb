//! otpd verifies a person's phone number with a one-time code.
//!
//! The flow is one-way: a line or argv becomes a typed [`app::Request`] ([`cli`]), the
//! [`service`] decides with the pure [`domain`], persists with the [`store`], delivers through
//! [`delivery`] and records the [`store::audit`] event, and [`render`] prints the [`Outcome`].
//! The environment and the configuration file are read once, at start-up, into [`config`].

// No unsafe code, except the allocator in `hugepages` (which allows it, and says why).
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
pub mod hugepages;
pub mod render;
pub mod repl;
pub mod sanitize;
pub mod service;
pub mod store;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::app::App;
use crate::cli::{Cli, Command};
use crate::config::{Config, Dirs, Env, SecretSource};
pub use crate::domain::Outcome;
use crate::error::Error;

/// Runs otpd with the given arguments and returns its exit status.
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    install_panic_hook();
    let env = Env::capture();
    // Debug builds only, like `OTPD_FAKE_NOW`: lets the tests prove the hook prints no payload.
    if let Some(payload) = &env.debug_panic {
        panic!("{}", payload.to_string_lossy());
    }
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let parsed = Cli::command()
        .try_get_matches_from(&args)
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            if let Some(Command::Audit(a)) = &mut cli.command {
                audit::args::drop_station_from_env(a, &matches);
            }
            cli
        }
        // A script that asked for JSON gets its one object even when the words were wrong.
        Err(e) if e.use_stderr() && args.iter().any(|a| a == "--json") => {
            println!(
                "{}",
                render::error_json(&Error::Usage(render::usage_line(&e)))
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            // clap quotes the offending word back; it must not reach the terminal raw (C1 CSI,
            // bidi overrides) nor whole (a 128 KiB argument).
            let text = render::clap_message(&e.render().to_string());
            if e.use_stderr() {
                eprintln!("{text}");
                return ExitCode::from(2);
            }
            println!("{text}");
            return ExitCode::from(0);
        }
    };
    let json = cli.global.json;
    let mut out = std::io::stdout().lock();
    let code = match execute(cli, &env, &mut out) {
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

fn load_config(cli: &Cli, env: &Env) -> Result<(Config, Dirs), Error> {
    let dirs = Dirs::platform()?;
    let config = Config::load(&cli.global.overrides(), env, &dirs)?;
    for w in config.warnings() {
        eprintln!("otpd: {w}");
    }
    Ok((config, dirs))
}

/// Opens the application with the process's clock and the operating system's CSPRNG.
fn open(config: Config) -> Result<App, Error> {
    let clock = clock::for_process(config.fake_now);
    let rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
    App::open(config, clock, Box::new(rng))
}

fn execute(cli: Cli, env: &Env, out: &mut dyn Write) -> Result<u8, Error> {
    let json = cli.global.json;
    let command = cli.command.as_ref().unwrap_or(&Command::Repl);
    let (config, dirs) = load_config(&cli, env)?;
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
            let mut app = open(config)?;
            let outcome = app.execute(&request);
            warn(&mut app);
            print(out, &outcome?)
        }
        None => match command {
            Command::Config => {
                writeln!(out, "{}", config_summary(&config))
                    .map_err(|e| Error::Io(e.to_string()))?;
                Ok(0)
            }
            Command::Audit(args) => {
                let mut app = open(config)?;
                app.audit(args, json, out)
            }
            Command::Prune(args) => {
                let mut app = open(config)?;
                let code = app.prune(args, json, out);
                warn(&mut app);
                code
            }
            Command::Repl => {
                let app = open(config)?;
                repl::run(app, &dirs.state, json, out)
            }
            Command::Kiosk => {
                let app = open(config)?;
                repl::kiosk::run(app, out)
            }
            _ => Ok(0),
        },
    }
}

fn limits_summary(l: &domain::Limits) -> String {
    let countries = if l.allowed_countries.is_empty() {
        "all countries".to_string()
    } else {
        l.allowed_countries.join(",")
    };
    format!(
        "{countries}; per number {}/h {}/day; per prefix ({} digits) {}/h; per station {}/h; global {}/h; back-off up to {} s; conversion >= {} after {} sends; lock after {} wrong codes for {} s, until unlock after {}",
        l.per_number_per_hour,
        l.per_number_per_day,
        l.prefix_digits,
        l.per_prefix_per_hour,
        l.per_station_per_hour,
        l.global_per_hour,
        l.max_cooldown.num_seconds(),
        l.min_conversion,
        l.min_sends_for_conversion,
        l.max_failures_per_number,
        l.lockout.num_seconds(),
        l.failures_before_unlock,
    )
}

/// Non-fatal problems the application noted (e.g. the audit head file could not be written).
fn warn(app: &mut App) {
    for w in app.take_warnings() {
        eprintln!("otpd: {}", crate::sanitize::sanitize(&w));
    }
}

fn audit_summary(a: &config::AuditConfig) -> String {
    let head = if a.head_every == 0 {
        "head file off".to_string()
    } else {
        format!(
            "head copied to {} every {} events",
            a.head_file.display(),
            a.head_every
        )
    };
    let keep = a
        .retention_days
        .map(|d| format!("rows kept {d} days"))
        .unwrap_or_else(|| "rows kept forever".into());
    format!("{head}; {keep}")
}

fn config_summary(c: &Config) -> String {
    let mut summary = core_summary(c);
    if let Some(t) = &c.twilio {
        let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        summary.push_str(&format!(
            "\ntwilio account   {}\ntwilio auth      {}\ntwilio senders   from {}; messaging service {}; whatsapp from {}\ntwilio api       {} (timeout {} s, retry base {} ms)",
            t.account_sid,
            t.credentials.describe(),
            or_none(&t.from),
            or_none(&t.messaging_service_sid),
            or_none(&t.whatsapp_from),
            t.api_base,
            t.timeout.as_secs(),
            t.retry_base.as_millis(),
        ));
    }
    summary
}

fn core_summary(c: &Config) -> String {
    let file = c
        .file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(none: defaults)".into());
    format!(
        "config file      {file}\nstation          {}\ndatabase         {}\nsecret           {} (contents never shown)\ndelivery         {} (channel {}; outbox {})\npolicy           {}-digit codes, valid {} s, {} attempts, resend cooldown {} s\nlimits           {}\nhashing          argon2id m={} KiB t={} p={}\naudit            {}",
        c.station,
        c.database.display(),
        match &c.secret {
            SecretSource::Env(_) => "from OTPD_SECRET".to_string(),
            SecretSource::File(path) => path.display().to_string(),
        },
        c.delivery.provider.as_str(),
        c.delivery.channel,
        c.delivery.outbox.display(),
        c.policy.code_length,
        c.policy.ttl.num_seconds(),
        c.policy.max_attempts,
        c.policy.resend_cooldown.num_seconds(),
        limits_summary(&c.limits),
        c.hashing.memory_kib,
        c.hashing.iterations,
        c.hashing.parallelism,
        audit_summary(&c.audit),
    )
}

//! Setting otpd up before anything is configured: `otpd init` (a commented configuration file
//! and the master secret, refusing to replace either), `otpd completions SHELL` and `otpd man`,
//! both generated from the one clap grammar in [`super::Cli`] so they cannot drift from it.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use clap::CommandFactory;

use super::Global;
use crate::config::{Config, Dirs, Env, SecretSource, TEMPLATE};
use crate::error::{Error, InitError};
use crate::render;
use crate::render::setup::Initialised;

/// `otpd init`: the configuration file at `--config` / `OTPD_CONFIG` or the platform path,
/// and the master secret where that configuration looks for it. Nothing that exists is
/// replaced: if either is there, nothing is written at all.
pub fn init(global: &Global, env: &Env, out: &mut dyn Write) -> Result<u8, Error> {
    let dirs = Dirs::platform()?;
    let file = global
        .config
        .clone()
        .unwrap_or_else(|| dirs.config.join("config.toml"));
    let config = Config::as_initialised(&file, &global.overrides(), env, &dirs)?;
    let secret = match &config.secret {
        SecretSource::File(path) => Some(path.clone()),
        SecretSource::Env(_) => None,
    };
    let existing: Vec<PathBuf> = std::iter::once(&file)
        .chain(secret.as_ref())
        .filter(|p| p.symlink_metadata().is_ok())
        .cloned()
        .collect();
    if !existing.is_empty() {
        return Err(InitError::Exists(existing).into());
    }
    write_config(&file)?;
    if let Some(path) = &secret
        && !crate::crypto::create_master_secret(path)?
    {
        // Appeared between the check and the write: it is someone's, keep it.
        return Err(InitError::Exists(vec![path.clone()]).into());
    }
    let done = Initialised {
        config_file: file,
        secret_file: secret,
        database: config.database.shown(),
        database_exists: config.database.exists(),
        history: dirs.state.join("history"),
        head_file: (config.audit.head_every > 0).then(|| config.audit.head_file.clone()),
        outbox: config.delivery.outbox.clone(),
        delivery: config.delivery.provider.as_str(),
    };
    let report = match global.json {
        true => render::setup::initialised_json(&done),
        false => render::setup::initialised(&done),
    };
    writeln!(out, "{report}").map_err(Error::Output)?;
    Ok(0)
}

fn write_config(path: &std::path::Path) -> Result<(), Error> {
    let failed = |source| InitError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        crate::secret_file::create_private_dirs(dir).map_err(failed)?;
    }
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| {
            f.write_all(TEMPLATE.as_bytes())?;
            f.sync_all()
        })
        .map_err(failed)?;
    Ok(())
}

/// `otpd completions SHELL`: the completion script for `shell`, on stdout.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> Result<u8, Error> {
    let mut cmd = super::Cli::command();
    // Generated whole first: clap_complete panics on a write error (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "otpd", &mut script);
    out.write_all(&script).map_err(Error::Output)?;
    Ok(0)
}

/// `otpd man`: the roff manual page, on stdout (`otpd man > otpd.1; man ./otpd.1`), with an
/// ENVIRONMENT section: every variable a flag reads (from the grammar) and the others.
pub fn man(out: &mut dyn Write) -> Result<u8, Error> {
    let cmd = super::Cli::command();
    let flags: Vec<(String, String)> = cmd
        .get_arguments()
        .filter_map(|a| {
            let var = a.get_env()?.to_string_lossy().into_owned();
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            Some((var, format!("{help} (as --{})", a.get_id())))
        })
        .collect();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(Error::Output)?;
    let page = String::from_utf8_lossy(&page);
    let environment = render::setup::man_environment(&flags);
    // Before the exit statuses and the version, where man pages keep it.
    let at = page.find("\n.SH EXTRA").map_or(page.len(), |i| i + 1);
    let whole = format!("{}{environment}{}", &page[..at], &page[at..]);
    out.write_all(whole.as_bytes()).map_err(Error::Output)?;
    Ok(0)
}

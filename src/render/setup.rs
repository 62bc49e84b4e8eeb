//! `otpd init`'s report: where everything lives and what to keep safe, as text or (`--json`)
//! one object.

use std::path::{Path, PathBuf};

use crate::sanitize::sanitize;

/// What `otpd init` wrote and where everything lives.
#[derive(Debug)]
pub struct Initialised {
    pub config_file: PathBuf,
    /// The key file written; `None`: the master secret comes from `OTPD_SECRET`.
    pub secret_file: Option<PathBuf>,
    pub database: String,
    pub database_exists: bool,
    pub history: PathBuf,
    /// `None`: `[audit] head_every = 0`.
    pub head_file: Option<PathBuf>,
    pub outbox: PathBuf,
    /// The delivery in effect (`console`, `outbox`, `twilio`).
    pub delivery: &'static str,
}

fn shown(p: &Path) -> String {
    sanitize(&p.display().to_string())
}

/// The lines `otpd init` prints.
pub fn initialised(i: &Initialised) -> String {
    let secret = match &i.secret_file {
        Some(p) => format!("{} (written now, mode 0600)", shown(p)),
        None => "OTPD_SECRET (set in the environment: no key file written)".into(),
    };
    let database = if i.database_exists {
        format!("{} (already there: kept)", sanitize(&i.database))
    } else {
        format!("{} (created by the first command)", sanitize(&i.database))
    };
    let head = match &i.head_file {
        Some(p) => shown(p),
        None => "(none: [audit] head_every = 0)".into(),
    };
    let next = match i.delivery {
        "console" => "Delivery is console: codes are shown on this terminal and nothing is sent.\n\
                      Try: otpd send +1 415 555 2671, then otpd verify with the code shown.\n\
                      For real messages set [delivery] provider (outbox or twilio) in the config file."
            .to_string(),
        other => format!("Delivery is {other}. otpd config shows every setting in effect."),
    };
    format!(
        "otpd is set up.\n\
         config file      {} (written now, every setting commented out at its default)\n\
         master secret    {secret}\n\
         database         {database}\n\
         outbox           {} (used with --delivery outbox)\n\
         prompt history   {}\n\
         audit head file  {head}\n\
         \n\
         Keep safe: the master secret. Back it up, apart from the database: without it the\n\
         pending codes, the API keys and the audit chain's proof are lost for good, and whoever\n\
         holds it with a copy of the database can rewrite the audit log.\n\
         {next}",
        shown(&i.config_file),
        shown(&i.outbox),
        shown(&i.history),
    )
}

/// `otpd init --json`: the same facts as one JSON object, the paths exactly as written (a
/// script uses them) and what to keep safe.
pub fn initialised_json(i: &Initialised) -> String {
    let path = |p: &Path| p.display().to_string();
    let secret = i.secret_file.as_deref().map(path);
    serde_json::json!({
        "outcome": "initialised",
        "config_file": path(&i.config_file),
        "secret_file": secret,
        "database": i.database,
        "database_exists": i.database_exists,
        "outbox": path(&i.outbox),
        "history": path(&i.history),
        "head_file": i.head_file.as_deref().map(path),
        "delivery": i.delivery,
        "keep_safe": [{
            "what": "master secret",
            "where": secret.unwrap_or_else(|| "OTPD_SECRET".into()),
            "why": "back it up apart from the database: without it the pending codes, the API keys and the audit chain's proof are lost for good",
        }],
    })
    .to_string()
}

/// The variables no flag reads, for the man page (the README says more).
const OTHER_VARIABLES: &[(&str, &str)] = &[
    (
        "OTPD_SECRET",
        "The master secret itself, at least 32 bytes (instead of the key file).",
    ),
    (
        "OTPD_SECRET_FILE",
        "Where the master secret's key file lives.",
    ),
    (
        "OTPD_REGION",
        "Read numbers without + as national numbers of this region (as --region).",
    ),
    ("OTPD_LISTEN", "The address otpd serve listens on."),
    (
        "OTPD_API_KEY, OTPD_API_SECRET",
        "A remote terminal's API key (with --server).",
    ),
    (
        "OTPD_ALLOW_PLAIN_HTTP",
        "1: a remote terminal may use an http:// server on another host.",
    ),
    ("PGPASSWORD", "The PostgreSQL password."),
    (
        "TWILIO_ACCOUNT_SID, TWILIO_API_KEY, TWILIO_API_SECRET, TWILIO_AUTH_TOKEN, TWILIO_FROM",
        "Twilio credentials and sender, instead of [twilio] in the configuration file.",
    ),
    ("NO_COLOR", "Set and not empty: no colour."),
];

/// The man page's ENVIRONMENT section (roff): `flags` are (variable, help) of the flags that
/// read one, then the other variables.
pub fn man_environment(flags: &[(String, String)]) -> String {
    let mut roff = roff::Roff::new();
    roff.control("SH", ["ENVIRONMENT"]);
    let others = OTHER_VARIABLES
        .iter()
        .map(|(v, h)| (v.to_string(), h.to_string()));
    for (var, help) in flags.iter().cloned().chain(others) {
        roff.control("TP", []);
        roff.text([roff::bold(var)]);
        roff.text([roff::roman(help)]);
    }
    // Without the two-line apostrophe preamble, which the page already has.
    roff.render()
        .lines()
        .skip(2)
        .fold(String::new(), |mut s, l| {
            s.push_str(l);
            s.push('\n');
            s
        })
}

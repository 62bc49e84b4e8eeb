//! Where each setting `otpd config` shows came from — the file it looked for (found or not),
//! a key in that file, a variable or a flag, else the default — so an operator can tell why a
//! value is what it is without reading the code.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Env;

/// Where otpd looked for its configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub path: PathBuf,
    /// Named by `--config` / `OTPD_CONFIG` (else the platform path).
    pub named: bool,
    pub found: bool,
}

/// Where the settings came from: the keys the file sets, and the variables and flags that
/// set one (each as `(setting, "OTPD_DB")` or `(setting, "--db")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origins {
    pub lookup: Lookup,
    file_keys: BTreeSet<String>,
    given: Vec<(&'static str, String)>,
}

impl Origins {
    /// `text`: the file as read (its keys, as `section.key`); `given`: the settings a flag or
    /// a variable clap reads set; the variables otpd reads itself come from `env`.
    pub fn new(
        lookup: Lookup,
        text: Option<&str>,
        mut given: Vec<(&'static str, String)>,
        env: &Env,
    ) -> Origins {
        let mut file_keys = BTreeSet::new();
        if let Some(table) = text.and_then(|t| t.parse::<toml::Table>().ok()) {
            for (k, v) in &table {
                match v {
                    toml::Value::Table(t) => {
                        file_keys.extend(t.keys().map(|inner| format!("{k}.{inner}")));
                    }
                    _ => {
                        file_keys.insert(k.clone());
                    }
                }
            }
        }
        let t = &env.twilio;
        let from_env: [(&'static str, &'static str, bool); 15] = [
            ("secret", "OTPD_SECRET", env.secret.is_some()),
            ("secret_file", "OTPD_SECRET_FILE", env.secret_file.is_some()),
            ("database", "PGPASSWORD", env.pg_password.is_some()),
            ("phone.default_region", "OTPD_REGION", env.region.is_some()),
            ("server.listen", "OTPD_LISTEN", env.listen.is_some()),
            ("remote.api_key", "OTPD_API_KEY", env.api_key.is_some()),
            (
                "remote.api_secret",
                "OTPD_API_SECRET",
                env.api_secret.is_some(),
            ),
            (
                "remote.allow_plain_http",
                "OTPD_ALLOW_PLAIN_HTTP",
                env.allow_plain_http.is_some(),
            ),
            (
                "twilio.account_sid",
                "TWILIO_ACCOUNT_SID",
                t.account_sid.is_some(),
            ),
            ("twilio.api_key", "TWILIO_API_KEY", t.api_key.is_some()),
            (
                "twilio.api_secret",
                "TWILIO_API_SECRET",
                t.api_secret.is_some(),
            ),
            (
                "twilio.auth_token",
                "TWILIO_AUTH_TOKEN",
                t.auth_token.is_some(),
            ),
            ("twilio.from", "TWILIO_FROM", t.from.is_some()),
            (
                "twilio.api_base",
                "OTPD_TWILIO_API_BASE",
                t.api_base.is_some(),
            ),
            ("no_color", "NO_COLOR", env.no_color),
        ];
        given.extend(
            from_env
                .into_iter()
                .filter(|(_, _, set)| *set)
                .map(|(setting, var, _)| (setting, var.to_string())),
        );
        Origins {
            lookup,
            file_keys,
            given,
        }
    }

    /// Where the settings under `prefixes` (a key, or a section ending in `.`) came from:
    /// each variable or flag, the file's keys, and whether the rest are defaults.
    pub fn of(&self, prefixes: &[&str]) -> String {
        let under = |key: &str| covers(prefixes, key);
        let mut parts: Vec<String> = self
            .given
            .iter()
            .filter(|(setting, _)| under(setting))
            .map(|(_, how)| how.clone())
            .collect();
        let keys: Vec<&str> = self
            .file_keys
            .iter()
            .filter(|k| under(k))
            .map(String::as_str)
            .collect();
        if !keys.is_empty() {
            parts.push(format!("file: {}", keys.join(", ")));
        }
        match parts.is_empty() {
            true => "default".into(),
            false => parts.join("; "),
        }
    }
}

/// Whether `key` is one of `prefixes` (a key, or a section ending in `.`).
pub fn covers(prefixes: &[&str], key: &str) -> bool {
    prefixes
        .iter()
        .any(|p| key == p.trim_end_matches('.') || (p.ends_with('.') && key.starts_with(p)))
}

//! `otpd config`: the effective configuration in a few aligned lines, secrets redacted (only
//! where each comes from is shown, never its value).

use crate::config::{AuditConfig, Config, SecretSource};
use crate::domain::Limits;

fn limits_summary(l: &Limits) -> String {
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

fn audit_summary(a: &AuditConfig) -> String {
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

/// The whole summary (with the Twilio lines when that delivery is configured).
pub fn config_summary(c: &Config) -> String {
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
        c.database,
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

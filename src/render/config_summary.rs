//! `otpd config`: the effective configuration in a few aligned lines, secrets redacted (only
//! where each comes from is shown, never its value).

use crate::config::{AuditConfig, Config, Database, Origins, Provider, SecretSource};
use crate::domain::Limits;
use crate::sanitize::sanitize;

fn limits_summary(l: &Limits) -> String {
    let countries = if l.allowed_countries.is_empty() {
        "all countries".to_string()
    } else {
        l.allowed_countries.join(",")
    };
    let types: Vec<&str> = l.refuse_types.iter().map(|t| t.as_str()).collect();
    let types = match types.is_empty() {
        true => "no type refused".to_string(),
        false => format!("refused types {}", types.join(",")),
    };
    format!(
        "{countries}; {types}; fixed-line SMS: {}; per number {}/h {}/day; per prefix ({} digits) {}/h; per station {}/h; global {}/h; back-off up to {} s, reset after {} s quiet; conversion >= {} after {} sends; lock after {} wrong codes for {} s, until unlock after {}",
        l.fixed_line.as_str(),
        l.per_number_per_hour,
        l.per_number_per_day,
        l.prefix_digits,
        l.per_prefix_per_hour,
        l.per_station_per_hour,
        l.global_per_hour,
        l.max_cooldown.num_seconds(),
        l.backoff_reset.num_seconds(),
        l.min_conversion,
        l.min_sends_for_conversion,
        l.max_failures_per_number,
        l.lockout.num_seconds(),
        l.failures_before_unlock,
    )
}

/// The pool and the session settings: PostgreSQL's, or a note that SQLite has neither.
fn database_session(d: &Database) -> String {
    let Database::Postgres(pg) = d else {
        return "none with SQLite (pool_size, the session timeouts and allow_unverified_password are PostgreSQL's)".into();
    };
    let t = &pg.timeouts;
    let ms = |v: u64| match v {
        0 => "off".to_string(),
        v => format!("{v} ms"),
    };
    format!(
        "{}; lock timeout {}, statement timeout {}, idle in transaction {}; password to a remote server without sslmode=verify-full {}",
        match pg.pool_size {
            Some(n) => format!("pool of {n} connections"),
            None => "pool: one connection per worker".into(),
        },
        ms(t.lock_ms),
        ms(t.statement_ms),
        ms(t.idle_in_transaction_ms),
        match pg.allow_unverified_password {
            true => "allowed",
            false => "refused",
        },
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

/// `[message]` and the kiosk's languages in one line.
fn message_summary(c: &Config) -> String {
    let m = &c.message;
    let mut parts = vec![format!("locale {}", m.locale().tag())];
    if c.kiosk.locales.len() > 1 {
        let tags: Vec<&str> = c.kiosk.locales.iter().map(|l| l.tag()).collect();
        parts.push(format!("kiosk offers {}", tags.join(", ")));
    }
    if let Some(name) = m.app_name() {
        parts.push(format!("app name \"{name}\""));
    }
    parts.push(match m.template() {
        Some(t) => format!("template \"{}\"", t.source().replace('\n', "\\n")),
        None => "built-in text".into(),
    });
    if let Some(d) = m.webotp_domain() {
        parts.push(format!("WebOTP line for {d}"));
    }
    if let Some(h) = m.app_hash() {
        parts.push(format!("app hash {h}"));
    }
    parts.join("; ")
}

/// What one SMS costs in each configured locale.
pub fn message_costs(c: &Config) -> String {
    c.message_costs()
        .iter()
        .map(|(l, s)| format!("{}: {}", l.tag(), s.summary()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The whole summary (with the Twilio lines when that delivery is configured).
pub fn config_summary(c: &Config) -> String {
    let mut summary = core_summary(c);
    summary.push_str(&match c.phone.default_region {
        Some(r) => format!("\nphone            numbers without + are national numbers of {r}"),
        None => "\nphone            every number needs + and its country code".into(),
    });
    summary.push_str(&format!(
        "\nmessage          {}\nsms cost         {} (code at full length)",
        message_summary(c),
        message_costs(c)
    ));
    let s = &c.server;
    summary.push_str(&format!(
        "\nserver           listen {}; {}; {}, queue {}, {} connections ({} per address), headers within {} s, answers read within {} s, idle {} s; client address from X-Forwarded-For: {}; kiosk enrolment links on {} (valid {} s)",
        s.listen,
        match (&s.tls_cert, s.allow_plain_http) {
            (Some(_), _) => "TLS",
            (None, true) => "plain HTTP allowed (a TLS proxy in front)",
            (None, false) => "plain HTTP on loopback only",
        },
        match s.workers {
            0 => format!("{} workers (workers = 0: one per core)", s.worker_count()),
            n => format!("{n} workers"),
        },
        s.queue,
        s.max_connections,
        s.max_connections_per_client,
        s.header_timeout_seconds,
        s.write_timeout_seconds,
        s.idle_timeout_seconds,
        if s.trusted_proxies.is_empty() {
            "never (no trusted proxies)".to_string()
        } else {
            format!(
                "only from {}",
                s.trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        s.public_base(),
        s.enrol_ttl_seconds
    ));
    if let Some(sid) = &s.service_sid {
        summary.push_str(&format!(
            "\nserver service   {sid} (from the configuration)"
        ));
    }
    summary.push_str(&events_summary(&c.events));
    match &c.remote {
        None => summary.push_str(
            "\nremote           none: commands use this machine's database (--server, OTPD_SERVER or remote.url name a server)",
        ),
        Some(r) => summary.push_str(&remote_summary(r)),
    }
    summary.push_str(&match (&c.twilio, c.delivery.provider) {
        (Some(t), _) => twilio_summary(t),
        (None, Provider::Twilio) => {
            "\ntwilio           not usable: the twilio delivery cannot start (see the problems)"
                .into()
        }
        (None, p) => format!("\ntwilio           not used (delivery is {})", p.as_str()),
    });
    summary
}

/// `[events]`: the webhook sinks and how their queues are bounded and retried.
fn events_summary(e: &crate::config::events::EventsConfig) -> String {
    let bounds = format!(
        "at most {} undelivered per sink (then new ones are dropped and counted), {} attempts, retries after {} s doubling (at most 1 h), {} s per request",
        e.max_pending,
        e.max_attempts,
        e.retry_base.num_seconds(),
        e.timeout.as_secs()
    );
    if e.sinks.is_empty() {
        return format!(
            "\nevents           no sinks ([[events.sink]]): no Verify Events are pushed; {bounds}"
        );
    }
    let sinks: Vec<String> = e
        .sinks
        .iter()
        .map(|s| {
            let types = match &s.types {
                None => "every event".to_string(),
                Some(t) => t.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "),
            };
            format!(
                "{} ({types}; signed with the secret in {}, never shown)",
                sanitize(&s.url),
                sanitize(&s.secret_file.display().to_string())
            )
        })
        .collect();
    format!("\nevents           to {}; {bounds}", sinks.join(", "))
}

/// `[remote]` in use.
fn remote_summary(r: &crate::config::remote::RemoteConfig) -> String {
    let mut summary = String::new();
    {
        summary.push_str(&format!(
            "\nremote           every command goes through {} with key {} (secret never shown); connect timeout {} ms, request timeout {} ms; trusts {}; this terminal opens no database and needs no secret",
            r.url,
            r.api_key,
            r.connect_timeout.as_millis(),
            r.request_timeout.as_millis(),
            if r.ca_pem.is_some() {
                "only the certificates of remote.ca_file"
            } else {
                "the system's certificate authorities"
            },
        ));
        if r.allow_plain_http && r.url.starts_with("http://") {
            summary.push_str(
                "; plain http allowed beyond this machine (remote.allow_plain_http: a TLS-terminating proxy must be in front)",
            );
        }
    }
    summary
}

/// `[twilio]` in use.
fn twilio_summary(t: &crate::config::twilio::TwilioConfig) -> String {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    format!(
        "\ntwilio account   {}\ntwilio auth      {}\ntwilio senders   from {}; messaging service {}; whatsapp from {}\ntwilio api       {} (timeout {} s, retry base {} ms)\ntwilio callback  {}",
        t.account_sid,
        t.credentials.describe(),
        or_none(&t.from),
        or_none(&t.messaging_service_sid),
        or_none(&t.whatsapp_from),
        t.api_base,
        t.timeout.as_secs(),
        t.retry_base.as_millis(),
        match &t.status_callback_url {
            Some(u) => format!(
                "StatusCallback {} (checked with the auth token, never shown)",
                sanitize(u)
            ),
            None => "none: delivery statuses are polled (twilio.status_callback_url)".into(),
        },
    )
}

fn core_summary(c: &Config) -> String {
    let file = c
        .file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "(none: defaults)".into());
    format!(
        "config file      {file}\nstation          {}\ndatabase         {}\ndatabase pool    {}\nsecret           {} (contents never shown)\ndelivery         {} (channel {}; outbox {})\npolicy           {}-digit codes, valid {} s, {} attempts, resend cooldown {} s; after a resend {}\nlimits           {}\nhashing          argon2id m={} KiB t={} p={}\naudit            {}\nkiosk            idle {} s, result shown {} s, channels {}",
        c.station,
        c.database,
        database_session(&c.database),
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
        match c.policy.accept_replaced_code {
            true => "the replaced code still works until its own expiry",
            false => "only the new code works",
        },
        limits_summary(&c.limits),
        c.hashing.memory_kib,
        c.hashing.iterations,
        c.hashing.parallelism,
        audit_summary(&c.audit),
        c.kiosk.idle_seconds,
        c.kiosk.result_seconds,
        c.kiosk
            .channels
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The settings each summary line shows, by its label (a key, or a section ending in `.`).
fn settings_of(label: &str) -> &'static [&'static str] {
    match label {
        "station" => &["station"],
        "database" => &["database", "database.url", "database.password_file"],
        "database pool" => &[
            "database.pool_size",
            "database.lock_timeout_ms",
            "database.statement_timeout_ms",
            "database.idle_in_transaction_timeout_ms",
            "database.allow_unverified_password",
        ],
        "secret" => &["secret", "secret_file"],
        "delivery" => &["delivery."],
        "policy" => &["policy."],
        "limits" => &["limits."],
        "hashing" => &["hashing."],
        "audit" => &["audit."],
        "kiosk" => &[
            "kiosk.idle_seconds",
            "kiosk.result_seconds",
            "kiosk.channels",
        ],
        "phone" => &["phone."],
        "message" => &["message.", "kiosk.locales"],
        "server" => &[
            "server.listen",
            "server.tls_cert",
            "server.tls_key",
            "server.allow_plain_http",
            "server.workers",
            "server.queue",
            "server.max_connections",
            "server.header_timeout_seconds",
            "server.write_timeout_seconds",
            "server.idle_timeout_seconds",
            "server.max_connections_per_client",
            "server.trusted_proxies",
            "server.public_url",
            "server.enrol_ttl_seconds",
        ],
        "server service" => &["server.service_sid"],
        "remote" => &["remote."],
        "events" => &["events."],
        "twilio callback" => &["twilio.status_callback_url"],
        "twilio account" | "twilio" => &["twilio."],
        _ => &[],
    }
}

/// `otpd config`: where it looked for the file, every setting with where it came from
/// (`[default]`, `[file: key, …]`, `[OTPD_DB]`, `[--db]`), and how many problems it found
/// (each printed on stderr as an error); a line whose settings include a `bad` key says that
/// it shows defaults.
pub fn config_report(c: &Config, origins: &Origins, problems: usize, bad: &[&str]) -> String {
    let l = &origins.lookup;
    let path = sanitize(&l.path.display().to_string());
    let first = match (l.found, l.named) {
        (true, true) => format!("{path} (found; named by {})", origins.of(&["config"])),
        (true, false) => format!("{path} (found at the platform path)"),
        (false, true) => format!("{path} (NOT FOUND; named by {})", origins.of(&["config"])),
        (false, false) => format!(
            "{path} (looked there, the platform path: not found, so every setting is its default, a variable's or a flag's; --config or OTPD_CONFIG name another file)"
        ),
    };
    let mut lines = vec![format!("config file      {first}")];
    // A server named but unusable has no remote settings to show: say so on its own line.
    let remote_broken = c.remote.is_none() && origins.of(&["remote.url"]) != "default";
    for line in config_summary(c).lines().skip(1) {
        let label = line.split("  ").next().unwrap_or_default().trim();
        let line = match label {
            "remote" if remote_broken => {
                "remote           not usable: a server is named but this terminal cannot work through it (see the problems)"
            }
            _ => line,
        };
        let settings = settings_of(label);
        if settings.is_empty() {
            lines.push(line.to_string());
        } else {
            // One bad `[database]` key sets the whole store back to its default: both lines.
            let section: &[&str] = match label.starts_with("database") {
                true => &["database."],
                false => settings,
            };
            let unusable = bad
                .iter()
                .any(|k| crate::config::origin::covers(section, k));
            let note = if unusable && !line.contains("not usable") {
                " (a value here is not usable: these are the defaults; see the problems)"
            } else {
                ""
            };
            lines.push(format!("{line} [{}]{note}", origins.of(settings)));
        }
    }
    lines.push(match problems {
        0 => "problems         none".to_string(),
        n => format!(
            "problems         {n}, each on its line on stderr: every other command stops at the first until it is fixed"
        ),
    });
    lines.join("\n")
}

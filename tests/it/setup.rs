//! `otpd init`, `otpd completions` and `otpd man` on a fresh home directory: what a newcomer
//! runs first, through the binary.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::Run;

/// otpd with nothing but a home directory (no OTPD_* variable: the platform paths count).
pub fn fresh(home: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_otpd"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env("TZ", "UTC")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn otpd");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("exists").permissions().mode() & 0o777
}

#[test]
fn init_writes_a_commented_config_and_the_master_secret_and_says_where_everything_lives() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let run = fresh(home, &["init"]);
    run.ok();
    let config = home.join(".config/otpd/config.toml");
    let secret = home.join(".config/otpd/secret.key");
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(&secret), 0o600);
    for shown in [
        config.display().to_string(),
        secret.display().to_string(),
        home.join(".local/share/otpd/otpd.db").display().to_string(),
        home.join(".local/state/otpd/history").display().to_string(),
        home.join(".local/state/otpd/audit-head.log")
            .display()
            .to_string(),
        "Keep safe: the master secret".into(),
        "nothing is sent".into(),
    ] {
        assert!(run.stdout.contains(&shown), "{shown} missing: {run:?}");
    }
    // The file is all comments: it loads, and changes nothing.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.lines().all(|l| l.is_empty() || l.starts_with('#')));
    let shown = fresh(home, &["config"]);
    shown.ok();
    assert!(shown.stdout.contains("console"), "{shown:?}");
    // The secret is the one the next command uses: it is not replaced on first use.
    let key = std::fs::read(&secret).unwrap();
    fresh(home, &["send", "+1 415 555 2671"]).ok();
    assert_eq!(std::fs::read(&secret).unwrap(), key);
}

#[test]
fn init_with_json_answers_one_object_with_the_paths_and_what_to_keep_safe() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let run = fresh(home, &["init", "--json"]);
    run.ok();
    let j = run.json();
    let config = home.join(".config/otpd/config.toml");
    let secret = home.join(".config/otpd/secret.key");
    assert_eq!(j["outcome"], "initialised", "{run:?}");
    assert_eq!(j["config_file"], config.display().to_string(), "{run:?}");
    assert_eq!(j["secret_file"], secret.display().to_string(), "{run:?}");
    assert_eq!(
        j["database"],
        home.join(".local/share/otpd/otpd.db").display().to_string()
    );
    assert_eq!(j["database_exists"], false);
    assert_eq!(
        j["head_file"],
        home.join(".local/state/otpd/audit-head.log")
            .display()
            .to_string()
    );
    assert_eq!(
        j["history"],
        home.join(".local/state/otpd/history").display().to_string()
    );
    assert_eq!(j["delivery"], "console");
    assert_eq!(j["keep_safe"][0]["what"], "master secret");
    assert_eq!(j["keep_safe"][0]["where"], secret.display().to_string());
    assert!(config.exists() && secret.exists());
    // A second run is refused as one JSON error, like any command with --json.
    let again = fresh(home, &["init", "--json"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert_eq!(again.json()["outcome"], "error", "{again:?}");
}

#[test]
fn init_refuses_to_overwrite_and_then_writes_nothing_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    fresh(home, &["init"]).ok();
    let config = home.join(".config/otpd/config.toml");
    let secret = home.join(".config/otpd/secret.key");
    let key = std::fs::read(&secret).unwrap();
    std::fs::write(&config, "station = \"mine\"\n").unwrap();
    let again = fresh(home, &["init"]);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("already exist"), "{again:?}");
    assert!(again.stderr.contains(&config.display().to_string()));
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "station = \"mine\"\n"
    );
    assert_eq!(std::fs::read(&secret).unwrap(), key);

    // Only the secret there (a config lost, a database still needing its secret): the config
    // is not written either, and the secret is kept.
    std::fs::remove_file(&config).unwrap();
    let half = fresh(home, &["init"]);
    assert_eq!(half.code, 2, "{half:?}");
    assert!(
        half.stderr.contains(&secret.display().to_string()),
        "{half:?}"
    );
    assert!(!config.exists());
    assert_eq!(std::fs::read(&secret).unwrap(), key);
}

#[test]
fn init_honours_the_config_path_and_secret_file_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let etc = dir.path().join("etc/otpd");
    let out = Command::new(env!("CARGO_BIN_EXE_otpd"))
        .env_clear()
        .env("HOME", &home)
        .env("OTPD_CONFIG", etc.join("config.toml"))
        .env("OTPD_SECRET_FILE", etc.join("master.key"))
        .arg("init")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(etc.join("config.toml").exists());
    assert_eq!(mode(&etc.join("master.key")), 0o600);
    assert!(!home.join(".config/otpd").exists());
}

#[test]
fn completions_come_from_the_one_grammar_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_otpd()"),
        ("zsh", "#compdef otpd"),
        ("fish", "complete -c otpd"),
    ] {
        let run = fresh(dir.path(), &["completions", shell]);
        run.ok();
        assert!(run.stdout.contains(marker), "{shell}: {run:?}");
        for word in [
            "send",
            "verify",
            "init",
            "completions",
            "delivery",
            "region",
        ] {
            assert!(run.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    let bad = fresh(dir.path(), &["completions", "cmd.exe"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("bash"), "{bad:?}");
}

#[test]
fn the_man_page_is_roff_and_covers_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let run = fresh(dir.path(), &["man"]);
    run.ok();
    assert!(run.stdout.contains(".TH otpd 1"), "{}", run.stdout);
    for word in ["send", "verify", "serve", "init", "OTPD_DB", "Exit status"] {
        assert!(run.stdout.contains(word), "man page lacks {word}");
    }
    // Nothing was created: neither needs a configuration.
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn config_says_where_it_looked_and_where_each_setting_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let shown = fresh(dir.path(), &["config"]);
    shown.ok();
    let platform = dir.path().join(".config/otpd/config.toml");
    assert!(
        shown
            .stdout
            .contains(&format!("{} (looked there", platform.display())),
        "{shown:?}"
    );
    assert!(shown.stdout.contains("not found"), "{shown:?}");
    assert!(shown.stdout.contains("problems         none"), "{shown:?}");

    let mut env = crate::harness::Env::with_config("[policy]\nttl_seconds = 120\n");
    env.set_env("OTPD_REGION", "US");
    let shown = env.run(&["config", "--station", "desk-9"]);
    shown.ok();
    let line = |label: &str| -> String {
        shown
            .stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line: {shown:?}"))
            .to_string()
    };
    assert!(line("config file").contains("(found; named by OTPD_CONFIG)"));
    assert!(
        line("station").ends_with("[--station]"),
        "{}",
        line("station")
    );
    assert!(line("database").ends_with("[OTPD_DB]"));
    assert!(line("delivery").ends_with("[OTPD_DELIVERY; OTPD_OUTBOX]"));
    assert!(line("policy").ends_with("[file: policy.ttl_seconds]"));
    assert!(line("phone").ends_with("[OTPD_REGION]"));
    assert!(line("limits").ends_with("[default]"));
    // workers = 0 is shown as the number of threads it means here.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        line("server").contains(&format!("{cores} workers (workers = 0: one per core)")),
        "{}",
        line("server")
    );
}

#[test]
fn config_on_a_half_configured_install_shows_everything_and_every_problem() {
    let mut env = crate::harness::Env::with_config(
        "[policy]\nttl_seconds = 900\n[delivery]\nprovider = \"twilio\"\n[twilio]\naccount_sid = \"AC0123456789abcdef0123456789abcdef\"\nfrom = \"+14155550100\"\n",
    );
    env.set_env("OTPD_DELIVERY", "twilio");
    let shown = env.run(&["config"]);
    assert_eq!(shown.code, 2, "{shown:?}");
    for label in [
        "station", "database", "delivery", "limits", "audit", "server",
    ] {
        assert!(
            shown.stdout.lines().any(|l| l.starts_with(label)),
            "{label} missing: {shown:?}"
        );
    }
    assert!(shown.stdout.contains("problems         2"), "{shown:?}");
    let policy = shown
        .stdout
        .lines()
        .find(|l| l.starts_with("policy"))
        .unwrap();
    assert!(
        policy.contains("not usable: these are the defaults"),
        "{policy}"
    );
    // The broken [twilio] section has its own line, with where its keys came from.
    let twilio = shown
        .stdout
        .lines()
        .find(|l| l.starts_with("twilio "))
        .unwrap_or_else(|| panic!("no twilio line: {shown:?}"));
    assert!(twilio.contains("not usable"), "{twilio}");
    assert!(
        twilio.ends_with("[file: twilio.account_sid, twilio.from]"),
        "{twilio}"
    );
    let errors: Vec<&str> = shown.stderr.lines().collect();
    assert_eq!(errors.len(), 2, "{shown:?}");
    assert!(errors[0].contains("policy.ttl_seconds = 900"), "{shown:?}");
    assert!(errors[1].contains("TWILIO_AUTH_TOKEN"), "{shown:?}");
    // Every other command still stops at the first problem, as before.
    let send = env.run(&["send", crate::harness::US]);
    assert_eq!(send.code, 2);
    assert!(send.stderr.contains("policy.ttl_seconds"), "{send:?}");
    // A script asking for JSON gets its one object, naming the first problem.
    let json = env.run(&["--json", "config"]);
    assert_eq!(json.code, 2);
    assert_eq!(json.json()["error"], "config_error", "{json:?}");
}

#[test]
fn config_gives_a_named_server_it_cannot_use_a_line_saying_so() {
    let env = crate::harness::Env::with_config("[remote]\nurl = \"https://otpd.example:8443\"\n");
    let shown = env.run(&["config"]);
    assert_eq!(shown.code, 2, "{shown:?}");
    let remote = shown
        .stdout
        .lines()
        .find(|l| l.starts_with("remote "))
        .unwrap_or_else(|| panic!("no remote line: {shown:?}"));
    assert!(remote.contains("not usable"), "{remote}");
    assert!(remote.ends_with("[file: remote.url]"), "{remote}");
    assert_eq!(shown.stderr.lines().count(), 1, "{shown:?}");
    assert!(shown.stderr.contains("OTPD_API_KEY"), "{shown:?}");
}

#[test]
fn config_marks_both_database_lines_when_one_database_key_is_unusable() {
    let env = crate::harness::Env::with_config("[database]\npool_size = 0\n");
    let shown = env.run(&["config"]);
    assert_eq!(shown.code, 2, "{shown:?}");
    for label in ["database ", "database pool "] {
        let line = shown
            .stdout
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label}line: {shown:?}"));
        assert!(
            line.contains("not usable: these are the defaults"),
            "{line}"
        );
    }
    assert!(shown.stderr.contains("database.pool_size = 0"), "{shown:?}");
}

/// A file setting every key the configuration accepts (src/config/raw.rs and the tables it
/// names), each to a value other than its default, with the files those keys point at.
fn every_key(dir: &Path) -> String {
    for (name, text) in [
        ("master.key", "master-secret-never-shown-000000\n"),
        ("pg.pass", "pg-password-never-shown\n"),
        ("twilio-api.secret", "twilio-api-secret-never-shown-00\n"),
        ("twilio-token.secret", "twilio-token-never-shown-0000000\n"),
        ("remote.secret", "remote-secret-never-shown-000000\n"),
        ("events.secret", "events-secret-never-shown-000000\n"),
    ] {
        std::fs::write(dir.join(name), text).unwrap();
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    std::fs::write(
        dir.join("ca.pem"),
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let sk = "SK0123456789abcdef0123456789abcdef";
    format!(
        r#"station = "desk-every"
secret_file = "master.key"

[database]
url = "postgres://otpd@db.example/otpd"
password_file = "pg.pass"
pool_size = 7
lock_timeout_ms = 1234
statement_timeout_ms = 2345
idle_in_transaction_timeout_ms = 3456
allow_unverified_password = true

[policy]
code_length = 8
ttl_seconds = 420
max_attempts = 4
resend_cooldown_seconds = 45
accept_replaced_code = false

[hashing]
memory_kib = 16
iterations = 1
parallelism = 2

[delivery]
provider = "twilio"
outbox = "out.jsonl"
channel = "whatsapp"
fixed_line_channel = "refuse"

[limits]
allowed_countries = ["US", "GB"]
refuse_types = ["premium_rate"]
max_cooldown_seconds = 900
backoff_reset_seconds = 7200
per_number_per_hour = 4
per_number_per_day = 9
per_prefix_per_hour = 33
prefix_digits = 5
per_station_per_hour = 77
global_per_hour = 888
min_conversion = 0.25
min_sends_for_conversion = 12
max_failures_per_number = 8
lockout_seconds = 1800
failures_before_unlock = 40

[audit]
head_file = "head.log"
head_every = 3
retention_days = 90

[twilio]
account_sid = "AC0123456789abcdef0123456789abcdef"
api_key = "{sk}"
api_secret_file = "twilio-api.secret"
auth_token_file = "twilio-token.secret"
from = "+14155552671"
messaging_service_sid = "MG0123456789abcdef0123456789abcdef"
whatsapp_from = "+14155552672"
api_base = "http://127.0.0.1:9"
timeout_seconds = 7
retry_base_ms = 250
status_callback_url = "https://otpd.example/otpd/v1/twilio/status"

[kiosk]
idle_seconds = 45
result_seconds = 9
channels = ["whatsapp", "sms"]
locales = ["fr", "en"]

[phone]
default_region = "GB"

[message]
app_name = "Front Desk"
locale = "fr"
template = "{{code}} est votre code {{app}}"
webotp_domain = "desk.example"
app_hash = "FA+9qCX9VSu"

[server]
listen = "127.0.0.1:8443"
service_sid = "VA0123456789abcdef0123456789abcdef"
tls_cert = "server.crt"
tls_key = "server.key"
allow_plain_http = true
workers = 3
queue = 17
max_connections = 99
header_timeout_seconds = 4
write_timeout_seconds = 6
idle_timeout_seconds = 8
max_connections_per_client = 11
trusted_proxies = ["10.0.0.0/8"]
public_url = "https://kiosk.example:8443"
enrol_ttl_seconds = 600

[remote]
url = "https://otpd.example:8443"
api_key = "{sk}"
api_secret_file = "remote.secret"
connect_timeout_ms = 700
request_timeout_ms = 7000
ca_file = "ca.pem"
allow_plain_http = true

[events]
max_pending = 500
max_attempts = 4
retry_base_seconds = 9
timeout_seconds = 3

[[events.sink]]
url = "https://hooks.example/otpd"
secret_file = "events.secret"
types = ["approved", "delivery_status"]
"#
    )
}

#[test]
fn config_shows_every_key_the_file_sets_with_the_file_as_its_origin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("otpd.toml");
    let text = every_key(dir.path());
    std::fs::write(&file, &text).unwrap();
    let shown = fresh(dir.path(), &["--config", file.to_str().unwrap(), "config"]);
    shown.ok();
    // Every key of the file, as `section.key`, listed in some line's `[file: …]`.
    let table: toml::Table = text.parse().unwrap();
    let mut keys = Vec::new();
    for (k, v) in &table {
        match v {
            toml::Value::Table(t) => keys.extend(t.keys().map(|inner| format!("{k}.{inner}"))),
            _ => keys.push(k.clone()),
        }
    }
    // Every key src/config/raw.rs accepts today (a key added there belongs in the file above).
    assert_eq!(keys.len(), 87, "{keys:?}");
    let listed: Vec<&str> = shown
        .stdout
        .lines()
        .filter_map(|l| l.rsplit_once("file: "))
        .flat_map(|(_, rest)| rest.split(']').next().unwrap_or_default().split(", "))
        .collect();
    let missing: Vec<&String> = keys
        .iter()
        .filter(|k| !listed.contains(&k.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "not shown from the file: {missing:?}\n{shown:?}"
    );
    assert!(
        !shown.stdout.contains("never-shown") && !shown.stderr.contains("never-shown"),
        "a secret shown: {shown:?}"
    );
    // And the values themselves, where the default would read differently.
    for value in [
        "pool of 7 connections",
        "lock timeout 1234 ms",
        "statement timeout 2345 ms",
        "idle in transaction 3456 ms",
        "without sslmode=verify-full allowed",
        "only the new code works",
        "reset after 7200 s quiet",
        "VA0123456789abcdef0123456789abcdef",
        "answers read within 6 s, idle 8 s",
        "(11 per address)",
        "only from 10.0.0.0/8",
    ] {
        assert!(shown.stdout.contains(value), "{value} missing: {shown:?}");
    }
}

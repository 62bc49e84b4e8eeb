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

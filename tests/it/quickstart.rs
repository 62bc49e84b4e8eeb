//! The README's quick start, run as written: its commands are read from between the
//! `<!-- quickstart -->` markers and run one by one, each through `sh`, on an empty home
//! directory, so the README cannot drift from what works. Only two things are supplied: the
//! code each `otpd verify` types (the README's `123456` stands for the code just shown), and
//! Twilio's address (the fake Twilio on 127.0.0.1, through `OTPD_TWILIO_API_BASE`).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::fake_twilio::{FakeTwilio, created};

const SM: &str = "SM0123456789abcdef0123456789abcdef";

/// The shell lines between the markers, inside ```sh fences.
fn quickstart_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let start = readme.find("<!-- quickstart -->").expect("start marker");
    let end = readme.find("<!-- /quickstart -->").expect("end marker");
    let mut lines = Vec::new();
    let mut in_fence = false;
    for line in readme[start..end].lines() {
        match line.trim() {
            "```sh" => in_fence = true,
            "```" => in_fence = false,
            l if in_fence && !l.is_empty() && !l.starts_with('#') => lines.push(l.to_string()),
            _ => {}
        }
    }
    lines
}

/// The digits after "code is " in `text`, the last time it occurs.
fn code_in(text: &str) -> Option<String> {
    let at = text.rfind("code is ")? + "code is ".len();
    let code: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!code.is_empty()).then_some(code)
}

#[test]
fn the_readme_quick_start_runs_command_by_command_on_a_fresh_home() {
    let lines = quickstart_lines();
    assert!(lines.len() >= 8, "quick start too short: {lines:?}");
    assert_eq!(lines[0], lines[0].trim_start());
    assert!(lines[0].starts_with("otpd init"), "{lines:?}");

    let fake = FakeTwilio::start();
    fake.always(created(SM, "queued", "+14155552671"));
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let bin = Path::new(env!("CARGO_BIN_EXE_otpd")).parent().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let outbox = home.join(".local/share/otpd/outbox.jsonl");

    let mut exported: Vec<(String, String)> = Vec::new();
    let mut last_code: Option<String> = None;
    let mut verified = 0;
    for line in &lines {
        if let Some(vars) = line.strip_prefix("export ") {
            // Each line runs in a shell of its own: carry the variables over.
            for kv in vars.split_whitespace() {
                let (k, v) = kv.split_once('=').expect("export K=V");
                exported.push((k.into(), v.into()));
            }
            continue;
        }
        let mut command = line.clone();
        if line.starts_with("otpd verify ") {
            let code = last_code
                .take()
                .unwrap_or_else(|| panic!("no code before {line}"));
            assert!(line.contains("123456"), "{line}");
            command = line.replacen("123456", &code, 1);
        }
        let twilio_before = fake.requests().len();
        let out = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", home)
            .env("TZ", "UTC")
            .env("NO_COLOR", "1")
            .env("OTPD_TWILIO_API_BASE", fake.base_url())
            .envs(exported.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .output()
            .expect("sh");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "`{line}` failed ({:?}):\n{stdout}\n{stderr}",
            out.status
        );
        if line.starts_with("otpd verify ") {
            assert!(stdout.contains("Verified"), "`{line}`: {stdout}");
            verified += 1;
        }
        // Where the code went: the console (stderr), the outbox (a line printed by tail, and
        // the file), or Twilio.
        if let Some(c) = code_in(&stderr).or_else(|| code_in(&stdout)) {
            last_code = Some(c);
        }
        if line.contains("--delivery outbox") {
            let text = std::fs::read_to_string(&outbox).expect("outbox written");
            last_code = code_in(text.lines().last().unwrap());
        }
        if let Some(r) = fake.requests().get(twilio_before) {
            last_code = Some(r.code());
        }
    }
    assert_eq!(verified, 3, "console, outbox and Twilio each verified once");
    assert_eq!(fake.requests().len(), 1);
}

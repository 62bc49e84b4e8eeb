//! The systemd units in contrib/ as otpd sees them: with each unit's own environment, for a
//! user whose home the unit hides (`ProtectHome=yes`), `otpd config` must put the audit head
//! file on storage the unit may write, or dropped newest rows would go unseen.

use crate::harness::Env;

/// The `KEY=VALUE` pairs of a unit's `Environment=` lines.
fn unit_env(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .filter_map(|l| l.strip_prefix("Environment="))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The directories a unit may write: `ReadWritePaths=` and `/var/lib/` + `StateDirectory=`.
fn writable(unit: &str) -> Vec<String> {
    let mut dirs = Vec::new();
    for l in unit.lines() {
        if let Some(p) = l.strip_prefix("ReadWritePaths=") {
            dirs.extend(p.split_whitespace().map(|p| format!("{p}/")));
        }
        if let Some(d) = l.strip_prefix("StateDirectory=") {
            dirs.extend(d.split_whitespace().map(|d| format!("/var/lib/{d}/")));
        }
    }
    dirs
}

#[test]
fn each_unit_puts_the_audit_head_file_where_it_may_write() {
    for name in ["otpd.service", "otpd-kiosk.service"] {
        let unit =
            std::fs::read_to_string(format!("{}/contrib/{name}", env!("CARGO_MANIFEST_DIR")))
                .unwrap();
        assert!(unit.contains("ProtectHome=yes"), "{name}");
        let dirs = writable(&unit);
        assert!(!dirs.is_empty(), "{name}");
        let env = Env::new();
        let mut c = env.command();
        // The otpd user as README's useradd makes it; the home would be hidden anyway.
        c.env("HOME", "/home/otpd").env_remove("XDG_STATE_HOME");
        for (k, v) in unit_env(&unit) {
            // The unit's config file is not on this machine: keep the test's (empty) one.
            if k != "OTPD_CONFIG" {
                c.env(k, v);
            }
        }
        let out = c.arg("config").output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{name}: {out:?}");
        let head = stdout
            .split("head copied to ")
            .nth(1)
            .and_then(|rest| rest.split(" every").next())
            .unwrap_or_else(|| panic!("{name}: no head file in {stdout}"));
        assert!(
            dirs.iter().any(|d| head.starts_with(d.as_str())),
            "{name}: the head file {head} is outside what the unit may write ({dirs:?})"
        );
    }
}

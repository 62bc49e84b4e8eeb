//! Secret and key files, the outbox, Twilio settings, core dumps and the prompt's history, as
//! a hostile local user would probe them (issue 12, points 4 and 5): every file that holds a
//! secret or a code is opened without following links and checked on the open descriptor.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rexpect::session::spawn_command;

use crate::harness::{Env, Run, US, US_E164};

/// A key file's worth of hex (32 bytes).
const KEY_HEX: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// An auth token's shape: what an operator might paste into the wrong variable.
const TOKEN_LIKE: &str = "9f86d081884c7d659a2feaa0c55ad015";
const AC: &str = "AC0123456789abcdef0123456789abcdef";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn write_private(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// Runs the binary, killing it if it has not ended within 20 s (a FIFO used to hang it).
fn run_bounded(mut cmd: Command) -> Run {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn otpd");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            let _ = child.wait();
            panic!("otpd did not finish within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn status(env: &Env) -> Run {
    let mut cmd = env.command();
    cmd.arg("status");
    run_bounded(cmd)
}

#[test]
fn a_dangling_symlink_at_the_key_path_is_a_clear_error() {
    let env = Env::new();
    symlink(env.path("nowhere.key"), env.secret_path()).unwrap();
    let r = status(&env);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("symbolic link") && r.stderr.contains("secret.key"),
        "{r:?}"
    );
    assert!(
        !env.path("nowhere.key").exists(),
        "nothing written through the link"
    );
}

#[test]
fn a_symlinked_key_file_is_refused() {
    let env = Env::new();
    let real = env.path("real.key");
    write_private(&real, &format!("{KEY_HEX}\n"));
    symlink(&real, env.secret_path()).unwrap();
    let r = status(&env);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("symbolic link"), "{r:?}");
    assert!(!r.stderr.contains(KEY_HEX), "{r:?}");
}

#[test]
fn key_files_that_are_not_private_regular_files_are_refused() {
    let env = Env::new();
    let key = env.secret_path();

    // A FIFO: it used to block `open` for ever.
    let c = std::ffi::CString::new(key.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let r = status(&env);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("not a regular file"), "{r:?}");
    std::fs::remove_file(&key).unwrap();

    // Group or other bits.
    write_private(&key, &format!("{KEY_HEX}\n"));
    for bits in [0o640, 0o620, 0o604] {
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(bits)).unwrap();
        let r = status(&env);
        assert_eq!(r.code, 2, "{bits:o}: {r:?}");
        assert!(r.stderr.contains("chmod 600"), "{bits:o}: {r:?}");
    }
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    status(&env).ok();

    // Owned by another user (only root can hand a file to someone else).
    if is_root() {
        std::os::unix::fs::chown(&key, Some(65534), Some(65534)).unwrap();
        let r = status(&env);
        assert_eq!(r.code, 2, "{r:?}");
        assert!(
            r.stderr.contains("owned by user 65534") && r.stderr.contains("chown"),
            "{r:?}"
        );
        assert!(!r.stderr.contains(KEY_HEX), "{r:?}");
    }
}

#[test]
fn a_symlinked_twilio_secret_file_is_refused() {
    let mut env = Env::with_config(&format!(
        "[twilio]\naccount_sid = \"{AC}\"\nfrom = \"+14155550100\"\napi_base = \"http://127.0.0.1:9\"\nauth_token_file = \"token\"\n"
    ));
    env.set_env("OTPD_DELIVERY", "twilio");
    let real = env.path("real-token");
    write_private(&real, "tok-SENTINEL-5d1e\n");
    symlink(&real, env.path("token")).unwrap();
    let r = env.run(&["config"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("twilio.auth_token_file") && r.stderr.contains("symbolic link"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("SENTINEL"), "{r:?}");
}

#[test]
fn the_outbox_is_repaired_to_0600_and_never_followed() {
    // An existing outbox with looser bits is tightened on the next write.
    let env = Env::new();
    std::fs::write(env.outbox_path(), "").unwrap();
    std::fs::set_permissions(env.outbox_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    env.run(&["send", US]).ok();
    assert_eq!(mode(&env.outbox_path()), 0o600);
    assert_eq!(env.outbox().len(), 1);

    // A directory otpd creates for it is private.
    let mut env = Env::new();
    let nested = env.path("spool/otpd/outbox.jsonl");
    env.set_env("OTPD_OUTBOX", nested.to_str().unwrap());
    env.run(&["send", US]).ok();
    assert_eq!(mode(&nested), 0o600);
    assert_eq!(mode(&env.path("spool")), 0o700);
    assert_eq!(mode(&env.path("spool/otpd")), 0o700);

    // A link planted at the outbox's path is not written through.
    let env = Env::new();
    let target = env.path("elsewhere.jsonl");
    std::fs::write(&target, "").unwrap();
    symlink(&target, env.outbox_path()).unwrap();
    let r = env.run(&["--json", "send", US]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("symbolic link"), "{r:?}");
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"",
        "nothing written through the link"
    );
}

#[test]
fn bad_twilio_identifiers_are_named_but_never_echoed() {
    let cases = [
        ("TWILIO_ACCOUNT_SID", "AC followed by 32 hexadecimal digits"),
        ("TWILIO_API_KEY", "SK followed by 32 hexadecimal digits"),
        ("TWILIO_FROM", "E.164"),
    ];
    for (var, shape) in cases {
        let mut env = Env::with_config(&format!(
            "[twilio]\naccount_sid = \"{AC}\"\nfrom = \"+14155550100\"\napi_base = \"http://127.0.0.1:9\"\n"
        ));
        env.set_env("OTPD_DELIVERY", "twilio");
        env.set_env("TWILIO_AUTH_TOKEN", "tok-SENTINEL-5d1e");
        env.set_env(var, TOKEN_LIKE);
        for args in [
            &["send", US][..],
            &["config"][..],
            &["--json", "config"][..],
        ] {
            let r = env.run(args);
            assert_eq!(r.code, 2, "{var}: {r:?}");
            let all = format!("{}{}", r.stdout, r.stderr);
            assert!(all.contains(var) && all.contains(shape), "{var}: {r:?}");
            assert!(!all.contains(TOKEN_LIKE), "{var} echoed: {r:?}");
            assert!(
                !all.contains(&TOKEN_LIKE[..12]),
                "{var} partly echoed: {r:?}"
            );
        }
    }
}

/// The limit line of `/proc/PID/limits` for core files: (soft, hard).
fn core_limit(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap_or_else(|| panic!("{limits}"));
    let mut words = line["Max core file size".len()..].split_whitespace();
    (
        words.next().unwrap().to_string(),
        words.next().unwrap().to_string(),
    )
}

#[test]
fn the_running_prompt_cannot_dump_core() {
    let env = Env::new();
    // Start otpd with core files allowed as far as this system permits, the way a shell with
    // `ulimit -c unlimited` would.
    let base = env.command();
    let mut cmd = Command::new("sh");
    cmd.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.arg("-c")
        .arg("ulimit -S -c \"$(ulimit -H -c)\" && exec \"$0\" --json")
        .arg(base.get_program())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdin.write_all(b"status\n").unwrap();
    stdin.flush().unwrap();
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("\"outcome\":\"status\""), "{line}");

    let pid = child.id();
    let (soft, hard) = core_limit(pid);
    if !is_root() {
        // A process that is not dumpable has its /proc files owned by root.
        let owner = std::fs::metadata(format!("/proc/{pid}/status"))
            .unwrap()
            .uid();
        assert_eq!(owner, 0, "the prompt is still dumpable");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!((soft.as_str(), hard.as_str()), ("0", "0"));
}

#[test]
fn history_masks_codes_in_any_line_and_phone_numbers_as_shown() {
    use otpd::terminal::history::entry;
    let cases = [
        ("verfy 123456", "verfy ******"),
        ("123456 +1 415 555 2671", "****** +1 •••-•••-2671"),
        (
            "vrify 482 913 +1 415 555 2671",
            "vrify *** *** +1 •••-•••-2671",
        ),
        ("chek 4829-1375", "chek ****-****"),
        ("send +44 7911 123456", "send +44 •••• ••3456"),
        ("+44 7911 123456 482913", "+44 •••• ••3456 ******"),
        (
            "status +1 415 555 2671 4829137",
            "status +1 •••-•••-2671 *******",
        ),
        ("send 0044 7911 123456", "send +44 •••• ••3456"),
        (
            "send +1 (415) 555-2671 whatsapp",
            "send +1 •••-•••-2671 whatsapp",
        ),
        ("send +1 555", "send +1 555"),
        ("help 12", "help 12"),
    ];
    for (line, want) in cases {
        assert_eq!(entry(line).as_deref(), Some(want), "{line:?}");
    }
}

#[test]
fn the_prompt_history_holds_no_code_from_a_mistyped_line() {
    let env = Env::new();
    let mut p = spawn_command(env.pty_command(&[]), Some(10_000)).unwrap();
    p.exp_string("otpd> ").unwrap();
    p.send_line(&format!("send {US}")).unwrap();
    p.exp_string("2671> ").unwrap();
    let code = env.last_code(US_E164);
    let wrong = env.wrong_code(US_E164);
    for line in [format!("verfy {code}"), format!("{wrong} {US}")] {
        p.send(&line).unwrap();
        p.send("\r").unwrap();
        p.flush().unwrap();
        p.exp_string("I don't know").unwrap();
        p.exp_string("2671> ").unwrap();
    }
    p.send("quit").unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    p.exp_eof().unwrap();
    let text = std::fs::read_to_string(env.home().join(".local/state/otpd/history")).unwrap();
    assert!(!text.contains(&code) && !text.contains(&wrong), "{text}");
    assert!(text.contains("verfy ******"), "{text}");
    assert!(text.contains("****** +1 •••-•••-2671"), "{text}");
    assert!(!text.contains("415 555"), "no full number: {text}");
}

#[test]
fn codes_an_older_otpd_left_in_the_history_are_masked_on_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = otpd::terminal::history::path(&dir.path().join("state/otpd"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "#V2\nsend +44 7911 123456\nverfy 482913\n482913 +1 415 555 2671\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    otpd::terminal::history::prepare(&file).unwrap();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "#V2\nsend +44 •••• ••3456\nverfy ******\n****** +1 •••-•••-2671\n"
    );
    assert_eq!(mode(&file), 0o600);

    // A link planted at the history's path is refused, not followed.
    std::fs::remove_file(&file).unwrap();
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, "").unwrap();
    symlink(&target, &file).unwrap();
    assert!(otpd::terminal::history::prepare(&file).is_err());
}

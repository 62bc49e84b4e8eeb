//! `otpd verify` without a code on the command line (issue 12, point 5): the code comes from
//! stdin — piped, or typed without echo at a terminal — so it never appears in the process's
//! arguments, which every local user can read in `/proc/PID/cmdline`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::Stdio;

use rexpect::process::WaitStatus;
use std::os::unix::process::CommandExt;

use rexpect::session::{PtySession, spawn_command};

use crate::harness::{Env, US, US_E164, contains};

const NEEDED: &str = "That is not a code: a code is needed: type the 6 to 10 digits you received.";

/// Spawns `otpd ARGS` with a piped stdin, reads its command line while it waits for the code,
/// then writes `input`. Returns the command line and what the run did.
fn verify_piped(env: &Env, args: &[&str], input: &str) -> (Vec<u8>, crate::harness::Run) {
    let mut child = env
        .command()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn otpd");
    // otpd warns about the cheap test hashing once it has loaded its configuration, before it
    // reads stdin: after that line it is running with its final arguments, waiting for the code.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut warned = String::new();
    stderr.read_line(&mut warned).unwrap();
    assert!(warned.contains("argon2id parameters"), "{warned:?}");
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).expect("read cmdline");
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let run = crate::harness::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: warned + &rest,
    };
    (cmdline, run)
}

#[test]
fn a_piped_code_verifies_and_is_never_in_the_process_arguments() {
    let env = Env::new();
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    let (cmdline, r) = verify_piped(&env, &["verify", "--phone", US], &format!("{code}\n"));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Verified +1 •••-•••-2671."), "{r:?}");
    assert!(contains(&cmdline, b"verify"), "{cmdline:?}");
    assert!(
        !contains(&cmdline, code.as_bytes()),
        "the code is in the arguments"
    );
    // Never echoed either.
    assert!(
        !r.stdout.contains(&code) && !r.stderr.contains(&code),
        "the code was shown"
    );

    // Without --phone: the station's pending verification; --json gives one object.
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    let (cmdline, r) = verify_piped(&env, &["--json", "verify"], &format!("{code}\r\n"));
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.outcome(), "approved");
    assert!(!contains(&cmdline, code.as_bytes()));
    assert_eq!(env.audit_events().last().unwrap(), "approved");
}

#[test]
fn an_empty_or_wrong_line_on_stdin_is_an_invalid_code() {
    let env = Env::new();
    env.run(&["send", US]).ok();
    for input in ["", "\n", "   \n"] {
        let r = env.run_stdin(&["verify", "--phone", US], input.as_bytes());
        assert_eq!((r.code, r.stdout.trim()), (2, NEEDED), "{input:?}: {r:?}");
        let r = env.run_stdin(&["--json", "verify"], input.as_bytes());
        assert_eq!(r.code, 2, "{r:?}");
        assert_eq!(r.json()["outcome"], "invalid_input");
        assert_eq!(r.json()["error"], NEEDED);
    }
    let r = env.run_stdin(&["verify"], b"12ab56\n");
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(
        r.stdout.trim(),
        "That is not a code: a code is only digits 0-9 (spaces and dashes are fine)."
    );
    // None of these was an attempt at the code.
    assert_eq!(env.audit_events(), ["sent", "delivered"]);

    // A wrong code is an attempt, as on the command line.
    let wrong = env.wrong_code(US_E164);
    let r = env.run_stdin(&["verify"], format!("{wrong}\n").as_bytes());
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("That code is not right."), "{r:?}");
}

/// `otpd ARGS` in a pseudo-terminal that echoes what is typed, as a person's terminal does
/// (rexpect turns echo off before it starts the program; this turns it back on, just before
/// exec).
fn in_echoing_terminal(env: &Env, args: &[&str]) -> PtySession {
    let mut command = env.pty_command(args);
    // SAFETY: tcgetattr(3) and tcsetattr(3) are async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            t.c_lflag |= libc::ECHO;
            if libc::tcsetattr(0, libc::TCSANOW, &t) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    spawn_command(command, Some(10_000)).expect("spawn otpd in a pty")
}

/// Whether the terminal echoes (asked through the pty's master side).
fn echoes(p: &PtySession) -> bool {
    let master = p.process().get_file_handle().unwrap();
    let t = nix::sys::termios::tcgetattr(&master).unwrap();
    t.local_flags.contains(nix::sys::termios::LocalFlags::ECHO)
}

#[test]
fn at_a_terminal_the_code_is_asked_for_without_echo() {
    let env = Env::new();
    env.run(&["send", US]).ok();
    let code = env.last_code(US_E164);
    let mut p = in_echoing_terminal(&env, &["verify", "--phone", US]);
    p.exp_string("Code: ").unwrap();
    // A slip, erased, then the code: the terminal shows none of it.
    p.send("9").unwrap();
    p.send("\x7f").unwrap();
    p.send(&code).unwrap();
    p.send("\r").unwrap();
    p.flush().unwrap();
    let before = p.exp_string("Verified +1 ").unwrap();
    let rest = p.exp_eof().unwrap();
    let echoed = format!("{before}{rest}");
    assert!(!echoed.contains(&code), "the code was echoed");
    assert!(
        !before.bytes().any(|b| b.is_ascii_digit()),
        "what was typed was echoed"
    );
    let status = p.process_mut().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 0)), "{status:?}");
    assert!(echoes(&p), "the terminal is left without echo");

    // Ctrl-C cancels: no attempt, exit 130.
    env.run(&["send", US]).ok();
    let mut p = in_echoing_terminal(&env, &["verify"]);
    p.exp_string("Code: ").unwrap();
    p.send("12").unwrap();
    p.send_control('c').unwrap();
    p.exp_eof().unwrap();
    let status = p.process_mut().wait().unwrap();
    assert!(matches!(status, WaitStatus::Exited(_, 130)), "{status:?}");
    assert!(echoes(&p), "the terminal is left without echo");
    assert_eq!(env.audit_events().last().unwrap(), "delivered");
}

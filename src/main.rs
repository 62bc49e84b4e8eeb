//! The `otpd` binary: everything lives in the library so tests can drive it in-process.

#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    otpd::run(std::env::args_os())
}

//! The `otpd` binary: everything lives in the library so tests can drive it in-process.

#![deny(unsafe_code)]

/// Huge pages for argon2's memory: see `otpd::hugepages`.
#[global_allocator]
static ALLOC: otpd::hugepages::HugeZeroed = otpd::hugepages::HugeZeroed;

fn main() -> std::process::ExitCode {
    otpd::run(std::env::args_os())
}

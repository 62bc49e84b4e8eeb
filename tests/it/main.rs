//! otpd's one integration-test crate: every test drives the real binary through its public
//! surface (argv, stdin, files, exit status) with a temp database and a cleaned environment.

mod core;
mod harness;
mod reliability;

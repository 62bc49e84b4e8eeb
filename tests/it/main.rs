//! otpd's one integration-test crate: every test drives the real binary through its public
//! surface (argv, stdin, files, exit status) with a temp database and a cleaned environment.

mod audit;
mod commits;
mod core;
mod fake_twilio;
mod fuzz;
mod harness;
mod limits;
mod reliability;
mod reliability_product;
mod repl;
mod secrets;
mod twilio;

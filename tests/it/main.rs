//! otpd's one integration-test crate: every test drives the real binary through its public
//! surface (argv, stdin, files, exit status) with a temp database and a cleaned environment.

mod audit;
mod audit_filters;
mod audit_rollup;
mod audit_tamper;
#[path = "../support/browser.rs"]
mod browser;
mod code_length;
mod commits;
mod contrib;
mod core;
#[path = "../support/fake_twilio.rs"]
mod fake_twilio;
mod files;
mod fuzz;
mod harness;
mod kiosk_visitor;
mod layout;
mod limits;
mod message;
mod pages;
mod pg_env;
#[path = "../support/postgres.rs"]
mod pg_server;
mod postgres_guards;
mod quickstart;
mod region;
mod reliability_core;
mod reliability_front_ends;
mod remote;
mod remote_http;
mod repl;
mod secrets;
mod serve;
mod setup;
mod stdin_code;
mod store_copy;
mod stores;
mod surface;
mod twilio;
mod twilio_setup;

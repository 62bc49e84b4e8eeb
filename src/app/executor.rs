//! What a front-end runs its typed requests through: the local [`App`] (a database, the
//! master secret, a delivery) or a remote terminal's client of `otpd serve`. The prompt, the
//! kiosk and the one-shot commands hold a `Box<dyn Executor>` chosen at start-up and only
//! parse → execute → render, so their words, JSON and exit statuses are the same either way.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::App;
use crate::audit::AuditArgs;
use crate::config::Config;
use crate::domain::Outcome;
use crate::error::Error;
use crate::request::Request;

pub trait Executor {
    /// Runs one request as one unit of work.
    fn execute(&mut self, request: &Request) -> Result<Outcome, Error>;

    /// Runs a parsed `audit` command, writing what it prints to `out`; its exit status.
    fn audit(&mut self, args: &AuditArgs, json: bool, out: &mut dyn Write) -> Result<u8, Error>;

    /// The current time (the kiosk times its resend offer with it).
    fn now(&self) -> DateTime<Utc>;

    /// Non-fatal problems noted so far (shown by the front-end).
    fn take_warnings(&mut self) -> Vec<String>;

    /// This terminal's configuration (station name, region, kiosk and prompt settings).
    fn config(&self) -> &Config;

    /// How codes leave: the delivery's name, or where the server is.
    fn delivery_name(&self) -> String;

    /// Codes appear on this screen (the console delivery): the kiosk refuses to run.
    fn shows_codes_locally(&self) -> bool;
}

impl Executor for App {
    fn execute(&mut self, request: &Request) -> Result<Outcome, Error> {
        App::execute(self, request)
    }

    fn audit(&mut self, args: &AuditArgs, json: bool, out: &mut dyn Write) -> Result<u8, Error> {
        App::audit(self, args, json, out)
    }

    fn now(&self) -> DateTime<Utc> {
        App::now(self)
    }

    fn take_warnings(&mut self) -> Vec<String> {
        App::take_warnings(self)
    }

    fn config(&self) -> &Config {
        App::config(self)
    }

    fn delivery_name(&self) -> String {
        self.delivery().name().to_string()
    }

    fn shows_codes_locally(&self) -> bool {
        self.delivery().shows_codes_locally()
    }
}

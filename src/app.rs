//! The application assembled from its configuration: store, secrets, delivery and clock, and
//! the typed requests every front end (one-shot commands, the prompt, the kiosk) executes.

use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;

use crate::clock::Clock;
use crate::config::{Config, Provider};
use crate::crypto::{CodeHasher, Secrets};
use crate::delivery::twilio::TwilioDelivery;
use crate::delivery::{ConsoleDelivery, Delivery, OutboxDelivery};
use crate::domain::Outcome;
use crate::error::Error;
use crate::service::{Ctx, Service};
use crate::store::Store;

/// The typed requests moved to their own module; kept here for callers of `app::Request`.
pub use crate::request::Request;

/// A running otpd: everything the use cases borrow.
pub struct App {
    pub config: Config,
    pub store: Store,
    pub secrets: Secrets,
    pub delivery: Box<dyn Delivery>,
    pub clock: Box<dyn Clock>,
    /// Things to tell the operator that did not stop the command (shown by the front end).
    pub warnings: Vec<String>,
}

impl App {
    /// Opens the database, loads the secret and builds the configured delivery.
    pub fn open(config: Config, clock: Box<dyn Clock>) -> Result<App, Error> {
        let env_secret = std::env::var("OTPD_SECRET").ok();
        let secrets = Secrets::load(env_secret.as_deref(), &config.secret_file)?;
        let delivery = build_delivery(&config)?;
        let store = Store::open(&config.database)?;
        Ok(App {
            config,
            store,
            secrets,
            delivery,
            clock,
            warnings: Vec::new(),
        })
    }

    /// Takes the warnings noted so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// Runs one request with the system's CSPRNG and the current time; afterwards copies the
    /// audit head to the head file when this request's events crossed a multiple of
    /// `[audit] head_every` (see `audit::head`).
    pub fn execute(&mut self, request: &Request) -> Result<Outcome, Error> {
        let now = self.clock.now();
        let watch = crate::audit::head::watch(&mut self.store, &self.config.audit);
        let outcome = self.run(request, now);
        if let Some(w) =
            crate::audit::head::checkpoint(&mut self.store, &self.config.audit, watch, now)
        {
            self.warnings.push(w);
        }
        outcome
    }

    fn run(
        &mut self,
        request: &Request,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Outcome, Error> {
        let mut rng = UnwrapErr(SysRng);
        let hasher = CodeHasher::new(self.config.hashing, &self.secrets)?;
        let mut service = Service::new(
            &mut self.store,
            Ctx {
                secrets: &self.secrets,
                hasher: &hasher,
                delivery: self.delivery.as_ref(),
                policy: &self.config.policy,
                limits: &self.config.limits,
                station: &self.config.station,
            },
        );
        let outcome = match request {
            Request::Send { phone, channel } => service.send(
                now,
                &mut rng,
                phone,
                channel.unwrap_or(self.config.delivery.channel),
            ),
            Request::Resend { phone } => service.resend(now, &mut rng, phone.as_ref()),
            Request::Verify { code, phone } => {
                service.verify(self.clock.as_ref(), phone.as_ref(), code)
            }
            Request::Status { phone } => service.status(now, phone.as_ref()),
            Request::Cancel { phone } => service.cancel(now, phone.as_ref()),
            Request::Limits { phone } => service.limits(now, phone.as_ref()),
            Request::ResumeSending => service.resume(now),
            Request::Unlock { phone } => service.unlock(now, phone),
        }?;
        Ok(outcome)
    }
}

fn build_delivery(config: &Config) -> Result<Box<dyn Delivery>, Error> {
    Ok(match config.delivery.provider {
        Provider::Console => Box::new(ConsoleDelivery),
        Provider::Outbox => Box::new(OutboxDelivery::new(config.delivery.outbox.clone())),
        Provider::Twilio => {
            let Some(twilio) = &config.twilio else {
                return Err(Error::TwilioUnchecked);
            };
            Box::new(TwilioDelivery::new(twilio.clone()))
        }
    })
}

//! The application assembled from its configuration: store, secrets, delivery, and the clock
//! and random-number generator its caller injects; and the typed requests every front end
//! (one-shot commands, the prompt, the kiosk) executes. Front ends use its methods; its parts
//! stay private, so a front end cannot skip the audit-head bookkeeping around a unit of work.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use rand::CryptoRng;
use secrecy::ExposeSecret;

use crate::audit::{self, AuditArgs, AuditCx, PruneArgs};
use crate::clock::Clock;
use crate::config::{Config, Database, Provider, SecretSource};
use crate::crypto::{CodeHasher, Secrets};
use crate::delivery::twilio::TwilioDelivery;
use crate::delivery::{ConsoleDelivery, Delivery, OutboxDelivery};
use crate::domain::{Caller, Outcome};
use crate::error::Error;
use crate::service::{Ctx, Service, Wording};
use crate::store::any::AnyStore;
use crate::store::copy::Copied;

mod events;
mod executor;
mod keys;
mod kiosk_devices;
pub use kiosk_devices::Enrolled;
pub mod review;
mod server;
mod serving;
mod verify_admin;
pub use events::{LEASE, SinkStatus};
pub use executor::Executor;
pub use keys::CreatedKey;
pub use serving::Serving;

/// The typed requests moved to their own module; kept here for callers of `app::Request`.
pub use crate::request::Request;

/// A running otpd: everything the use cases borrow.
pub struct App {
    config: Config,
    store: AnyStore,
    secrets: Secrets,
    delivery: Box<dyn Delivery>,
    clock: Box<dyn Clock>,
    rng: Box<dyn CryptoRng>,
    /// Things to tell the operator that did not stop the command (shown by the front end).
    warnings: Vec<String>,
}

impl App {
    /// Opens the database, loads the secret and builds the configured delivery. `clock` and
    /// `rng` are the caller's: in production the system clock (or `Config::fake_now` in debug
    /// builds, see `clock::for_process`) and the operating system's CSPRNG.
    pub fn open(
        config: Config,
        clock: Box<dyn Clock>,
        rng: Box<dyn CryptoRng>,
    ) -> Result<App, Error> {
        // The secrets first: a migration that adds the API key seals seals the keys already
        // there (schema 7), which only a process holding the master secret can do.
        let secrets = load_secrets(&config.secret)?;
        let store = AnyStore::open_sealing(&config.database, Some(&secrets))?;
        App::assemble(config, store, secrets, clock, rng)
    }

    /// `n` applications for a server's worker threads, their stores open (sharing one pool on
    /// PostgreSQL); each is finished on the thread that runs it ([`Opened::for_process`]), as
    /// delivery, clock and RNG stay on one thread.
    pub fn open_many(config: &Config, n: usize) -> Result<Vec<Opened>, Error> {
        let secrets = load_secrets(&config.secret)?;
        Ok(AnyStore::open_many(&config.database, n, Some(&secrets))?
            .into_iter()
            .map(|store| Opened {
                config: config.clone(),
                store,
            })
            .collect())
    }

    fn assemble(
        config: Config,
        store: AnyStore,
        secrets: Secrets,
        clock: Box<dyn Clock>,
        rng: Box<dyn CryptoRng>,
    ) -> Result<App, Error> {
        let delivery = build_delivery(&config)?;
        let mut config = config;
        if delivery.shows_codes_locally() {
            config.limits = config.limits.sending_nothing();
        }
        Ok(App {
            config,
            store,
            secrets,
            delivery,
            clock,
            rng,
            warnings: Vec::new(),
        })
    }

    /// Opens the application as a process runs it: the system clock (or `Config::fake_now` in
    /// debug builds) and the operating system's CSPRNG.
    pub fn for_process(config: Config) -> Result<App, Error> {
        let (clock, rng) = process_clock_and_rng(&config);
        App::open(config, clock, rng)
    }

    /// The configuration this application was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configured delivery (its name, whether codes show on this screen).
    pub fn delivery(&self) -> &dyn Delivery {
        self.delivery.as_ref()
    }

    /// The current time, from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Notes a warning for the front-end's log (one line, naming no secret).
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// Takes the warnings noted so far.
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The caller this process's own terminals act as: a local operator at `station`.
    pub fn local_caller(&self) -> Caller {
        Caller::local(self.config.station.clone())
    }

    /// Runs one request as this process's local operator ([`App::execute_as`]).
    pub fn execute(&mut self, request: &Request) -> Result<Outcome, Error> {
        let caller = self.local_caller();
        self.execute_as(&caller, request)
    }

    /// Runs one request for `caller` with the injected RNG and the current time, as one unit
    /// of work ([`App::unit_of_work`]); the use case decides what this caller may do.
    pub fn execute_as(&mut self, caller: &Caller, request: &Request) -> Result<Outcome, Error> {
        Ok(self.run(caller, request)?.0)
    }

    /// [`App::execute_as`], also naming the verification a `verify` was settled against
    /// (`None` when none was: nothing pending, a locked number), so an answer can name the
    /// verification the use case actually checked even if a create landed meanwhile.
    pub fn run(
        &mut self,
        caller: &Caller,
        request: &Request,
    ) -> Result<(Outcome, Option<i64>), Error> {
        self.run_keyed(caller, request, &[])
    }

    /// [`App::run`], a send counted under the programmable rate limits `keys` names (a Verify
    /// create's `RateLimits`, issue 26).
    pub fn run_keyed(
        &mut self,
        caller: &Caller,
        request: &Request,
        keys: &[crate::domain::rate_limits::RateKey],
    ) -> Result<(Outcome, Option<i64>), Error> {
        let channel = self.config.delivery.channel;
        self.with_service(caller, |service, rng, clock, now| {
            let outcome = match request {
                Request::Send {
                    phone,
                    channel: asked,
                    locale,
                    app_hash,
                } => service.send_keyed(
                    now,
                    rng,
                    phone,
                    asked.unwrap_or(channel),
                    Wording {
                        locale: *locale,
                        app_hash: app_hash.as_ref(),
                    },
                    keys,
                ),
                Request::Resend { phone, locale } => service.resend(
                    now,
                    rng,
                    phone.as_ref(),
                    Wording {
                        locale: *locale,
                        app_hash: None,
                    },
                ),
                Request::Verify { code, phone } => {
                    return service.verify_settling(clock, phone.as_ref().into(), code);
                }
                Request::Status { phone } => service.status(now, phone.as_ref()),
                Request::Cancel { phone } => service.cancel(now, phone.as_ref()),
                Request::Limits { phone } => service.limits(now, phone.as_ref()),
                Request::ResumeSending => service.resume(now),
                Request::Unlock { phone } => service.unlock(now, phone),
            }?;
            Ok((outcome, None))
        })
    }

    /// Runs `work` on a [`Service`] for `caller`, as one unit of work, with the injected RNG
    /// and clock and the time the unit started.
    pub(crate) fn with_service<T>(
        &mut self,
        caller: &Caller,
        work: impl FnOnce(
            &mut Service<'_>,
            &mut dyn CryptoRng,
            &dyn Clock,
            DateTime<Utc>,
        ) -> crate::service::Result<T>,
    ) -> Result<T, Error> {
        self.unit_of_work(|app, now| {
            let hasher = CodeHasher::new(app.config.hashing, &app.secrets)?;
            let mut service = Service::new(
                app.store.backend(),
                Ctx {
                    secrets: &app.secrets,
                    hasher: &hasher,
                    delivery: app.delivery.as_ref(),
                    policy: &app.config.policy,
                    limits: &app.config.limits,
                    caller,
                    composer: &app.config.message,
                    events: &app.config.events,
                },
            );
            Ok(work(
                &mut service,
                app.rng.as_mut(),
                app.clock.as_ref(),
                now,
            )?)
        })
    }

    /// Runs a parsed `audit` command (reads only: no head bookkeeping needed), with times in
    /// this machine's zone.
    pub fn audit(
        &mut self,
        args: &AuditArgs,
        json: bool,
        out: &mut dyn Write,
    ) -> Result<u8, Error> {
        self.audit_in(args, json, audit::Zone::Local, out)
    }

    /// [`App::audit`] with times shown and read in `zone` (a terminal's, through a server).
    pub fn audit_in(
        &mut self,
        args: &AuditArgs,
        json: bool,
        zone: audit::Zone,
        out: &mut dyn Write,
    ) -> Result<u8, Error> {
        let now = self.clock.now();
        let cx = AuditCx {
            zone,
            ..self.audit_cx(now)?
        };
        audit::execute(cx, args, json, out)
    }

    /// Runs `prune` as one unit of work (it appends an anchor event to the chain).
    pub fn prune(
        &mut self,
        args: &PruneArgs,
        json: bool,
        out: &mut dyn Write,
    ) -> Result<u8, Error> {
        self.unit_of_work(|app, now| audit::run_prune(app.audit_cx(now)?, args, json, out))
    }

    /// `otpd store copy --to PATH|URL`: every row of this store into the store `to` (a SQLite
    /// file created if missing, or a PostgreSQL database), in one transaction, refused when
    /// that store already holds data. Appends no audit event, so the copy's chain ends at this
    /// store's head.
    /// With the copy, the newest audit head it holds (the original's when it was read).
    pub fn copy_store(&mut self, to: &Database) -> Result<(Copied, Option<(i64, String)>), Error> {
        let same = |a: &Path, b: &Path| matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b);
        let itself = match (&self.store, to) {
            (AnyStore::Sqlite(s), Database::Sqlite(p)) => same(p, s.path()),
            (AnyStore::Postgres(s), Database::Postgres(p)) => s.url() == Path::new(&p.shown),
            _ => false,
        };
        if itself {
            return Err(crate::error::Usage::CopyOntoItself.into());
        }
        let mut target = AnyStore::open(to)?;
        let copied = crate::store::copy::copy(self.store.backend(), target.backend())?;
        if copied == Copied::TargetNotEmpty {
            return Ok((copied, None));
        }
        // The original's server is not the copy's: the copy starts unmarked.
        let t = target.backend();
        t.transaction(|tx| tx.put_server_setting(serving::KEY, None))?;
        let head = t.snapshot(|tx| tx.audit_head())?;
        Ok((copied, head))
    }

    /// Runs `work` at the current time; afterwards copies the audit head to the head file when
    /// the events it appended crossed a multiple of `[audit] head_every` (see `audit::head`).
    /// A head file that cannot be written becomes a warning, not an error.
    fn unit_of_work<T>(&mut self, work: impl FnOnce(&mut App, DateTime<Utc>) -> T) -> T {
        let now = self.clock.now();
        let watch = audit::head::watch(self.store.backend(), &self.config.audit);
        let result = work(self, now);
        if let Some(w) =
            audit::head::checkpoint(self.store.backend(), &self.config.audit, watch, now)
        {
            self.warnings.push(w);
        }
        result
    }

    /// The pieces the audit commands borrow.
    fn audit_cx(&mut self, now: DateTime<Utc>) -> Result<AuditCx<'_>, Error> {
        Ok(AuditCx {
            store: self.store.backend(),
            secrets: &self.secrets,
            config: &self.config.audit,
            station: &self.config.station,
            now,
            zone: audit::Zone::Local,
            region: self.config.phone.default_region,
        })
    }
}

/// An application whose store is open, to be finished on the thread that will run it.
pub struct Opened {
    config: Config,
    store: AnyStore,
}

impl Opened {
    /// [`App::for_process`] on this store.
    pub fn for_process(self) -> Result<App, Error> {
        let (clock, rng) = process_clock_and_rng(&self.config);
        let secrets = load_secrets(&self.config.secret)?;
        App::assemble(self.config, self.store, secrets, clock, rng)
    }
}

/// The system clock (or `Config::fake_now` in debug builds) and the operating system's CSPRNG.
fn process_clock_and_rng(config: &Config) -> (Box<dyn Clock>, Box<dyn CryptoRng>) {
    let clock = crate::clock::for_process(config.fake_now, config.fake_clock.as_deref());
    let rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
    (clock, Box::new(rng))
}

/// `OTPD_SECRET` when it was set, else the key file.
fn load_secrets(source: &SecretSource) -> Result<Secrets, Error> {
    Ok(match source {
        // `Secrets::load` does not look at the path when it is given the value.
        SecretSource::Env(value) => {
            Secrets::load(Some(value.expose_secret()), std::path::Path::new(""))?
        }
        SecretSource::File(path) => Secrets::load(None, path)?,
    })
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

//! What `otpd serve`'s Verify resources beyond verifications ask of the application (issue 26):
//! the programmable rate limits and their buckets, each use case run for the key's caller (who
//! must be an admin). A child of `app` so it reaches the service without widening `App`.

use super::App;
use crate::domain::Caller;
use crate::domain::rate_limits::{Bucket, RateLimit};
use crate::error::Error;
use crate::service::rate_limits::{Managed, WithBuckets};

impl App {
    pub fn rate_limits(&mut self, caller: &Caller) -> Result<Managed<Vec<WithBuckets>>, Error> {
        self.with_service(caller, |service, _, _, _| service.rate_limits())
    }

    /// One rate limit, by its `RK…` SID or its `UniqueName`.
    pub fn rate_limit(
        &mut self,
        caller: &Caller,
        sid: &str,
    ) -> Result<Managed<WithBuckets>, Error> {
        self.with_service(caller, |service, _, _, _| service.rate_limit(sid))
    }

    pub fn create_rate_limit(
        &mut self,
        caller: &Caller,
        name: &str,
        description: Option<&str>,
    ) -> Result<Managed<RateLimit>, Error> {
        self.with_service(caller, |service, rng, _, now| {
            service.create_rate_limit(now, rng, name, description)
        })
    }

    pub fn update_rate_limit(
        &mut self,
        caller: &Caller,
        sid: &str,
        description: Option<&str>,
    ) -> Result<Managed<RateLimit>, Error> {
        self.with_service(caller, |service, _, _, now| {
            service.update_rate_limit(now, sid, description)
        })
    }

    pub fn delete_rate_limit(&mut self, caller: &Caller, sid: &str) -> Result<Managed<()>, Error> {
        self.with_service(caller, |service, _, _, now| {
            service.delete_rate_limit(now, sid)
        })
    }

    pub fn bucket(
        &mut self,
        caller: &Caller,
        rate_limit: &str,
        sid: &str,
    ) -> Result<Managed<Bucket>, Error> {
        self.with_service(caller, |service, _, _, _| service.bucket(rate_limit, sid))
    }

    pub fn create_bucket(
        &mut self,
        caller: &Caller,
        rate_limit: &str,
        max: u32,
        interval: u32,
    ) -> Result<Managed<Bucket>, Error> {
        self.with_service(caller, |service, rng, _, now| {
            service.create_bucket(now, rng, rate_limit, max, interval)
        })
    }

    pub fn update_bucket(
        &mut self,
        caller: &Caller,
        rate_limit: &str,
        sid: &str,
        (max, interval): (Option<u32>, Option<u32>),
    ) -> Result<Managed<Bucket>, Error> {
        self.with_service(caller, |service, _, _, now| {
            service.update_bucket(now, rate_limit, sid, max, interval)
        })
    }

    pub fn delete_bucket(
        &mut self,
        caller: &Caller,
        rate_limit: &str,
        sid: &str,
    ) -> Result<Managed<()>, Error> {
        self.with_service(caller, |service, _, _, now| {
            service.delete_bucket(now, rate_limit, sid)
        })
    }
}

impl App {
    /// The Verify Service's settings as they apply now (any key may read them).
    pub fn service_settings(
        &mut self,
        caller: &Caller,
    ) -> Result<crate::service::settings::ServiceView, Error> {
        self.with_service(caller, |service, _, _, _| service.service_settings())
    }

    /// Sets the app name messages carry (admins only; audited).
    pub fn set_friendly_name(
        &mut self,
        caller: &Caller,
        name: &str,
    ) -> Result<Managed<crate::service::settings::ServiceView>, Error> {
        self.with_service(caller, |service, _, _, now| {
            service.set_friendly_name(now, name)
        })
    }
}

impl App {
    /// Verify's Attempts as `q` selects them, from the audit log (auditors and admins).
    pub fn attempts(
        &mut self,
        caller: &Caller,
        q: &crate::service::attempts::AttemptQuery,
    ) -> Result<
        std::result::Result<Vec<crate::service::attempts::Attempt>, crate::domain::Privilege>,
        Error,
    > {
        self.with_service(caller, |service, _, _, _| service.attempts(q))
    }
}

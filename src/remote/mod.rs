//! A terminal without secrets (issue 14): the prompt, the kiosk and the one-shot commands run
//! their typed requests through `otpd serve` with an API key instead of a local database. A
//! front-end like the others, whose "core" is the server: each request goes out in its wire
//! form ([`Wire`]) to `POST /otpd/v1/execute`, and the server's [`Outcome`] comes back in its
//! wire form ([`WireOutcome`], numbers in full) as the same typed value the local core returns, so it renders the same words, JSON and exit status.
//! A server out of reach is an [`Error::Remote`] after the configured timeouts, never a hang.

mod pinned;

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use reqwest::blocking::Client as Http;
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::app::Executor;
use crate::audit::AuditArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::config::remote::RemoteConfig;
use crate::domain::Outcome;
use crate::error::{Error, RemoteError, Usage};
use crate::request::Request;
use crate::request::wire::{Wire, WireOutcome, outcome_from_wire};

/// The path of the server's endpoint for typed requests.
pub const EXECUTE: &str = "/otpd/v1/execute";

/// The most of an answer read (an audit listing is the largest).
const MAX_BODY: u64 = 8 * 1024 * 1024;

/// A remote terminal's connection to its server.
pub struct Client {
    config: Config,
    remote: RemoteConfig,
    http: Http,
    clock: Box<dyn Clock>,
}

/// Twilio's error object, as the server answers a refusal.
#[derive(Deserialize)]
struct TwilioError {
    code: u32,
    message: String,
    /// With 403 from `/otpd/v1/execute`: the privilege the use case found missing.
    #[serde(default)]
    privilege: Option<crate::domain::Privilege>,
}

/// Whom the key acts as.
#[derive(Deserialize)]
struct Whoami {
    station: String,
    /// The server's `policy.resend_cooldown` (absent from older servers).
    #[serde(default)]
    resend_cooldown_seconds: Option<i64>,
    /// The server's `policy.code_length` (absent from older servers).
    #[serde(default)]
    code_length: Option<usize>,
}

/// What `audit …` answers: what it printed, and its exit status.
#[derive(Deserialize)]
struct Printed {
    exit_status: u8,
    output: String,
}

impl Client {
    /// The client for `config.remote`; opens nothing local (no database, no secret).
    pub fn new(config: Config) -> Result<Client, Error> {
        let Some(remote) = config.remote.clone() else {
            return Err(Usage::NoServer.into());
        };
        // Errs only if a provider is already installed, which is then used.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = Http::builder();
        if let Some(pem) = &remote.ca_pem {
            // Only the configured CA or the server's own certificate: a terminal pinned to its
            // site's server trusts nothing else.
            let tls = pinned::client_config(pem).map_err(|e| {
                Error::from(Usage::BadCaFile {
                    detail: e.to_string(),
                })
            })?;
            builder = builder.tls_backend_preconfigured(tls);
        }
        if remote.url.starts_with("http://") {
            // The key's secret would cross in clear to a proxy named by the environment
            // (`http_proxy`, `ALL_PROXY`): plain http goes straight to the server named.
            builder = builder.no_proxy();
        }
        let http = builder
            .user_agent(concat!("otpd/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(remote.connect_timeout)
            .timeout(remote.request_timeout)
            // The credentials go to the server named, nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            // A send must not go out twice behind the terminal's back.
            .retry(reqwest::retry::never())
            .build()
            .map_err(|e| unreachable(&remote.url, &e))?;
        let clock = crate::clock::for_process(config.fake_now, config.fake_clock.as_deref());
        Ok(Client {
            config,
            remote,
            http,
            clock,
        })
    }

    /// [`Client::new`], then asks the server whose key this is, for the prompt and the kiosk:
    /// their station is the key's (shown in the banner), their resend cooldown the server's
    /// (the kiosk offers "resend" once the server would allow it), its code length the
    /// server's (a code of another length is refused at the terminal), and a server out of reach
    /// or a revoked key stops them at start rather than in front of a visitor.
    pub fn connect(config: Config) -> Result<Client, Error> {
        let mut client = Client::new(config)?;
        let me: Whoami = client.post(&Wire::Station)?;
        client.config.station = me.station;
        if let Some(s) = me
            .resend_cooldown_seconds
            .filter(|s| (0..=86_400).contains(s))
        {
            client.config.policy.resend_cooldown = chrono::TimeDelta::seconds(s);
        }
        // So the prompt and the kiosk refuse a code of the wrong length as a local one does.
        if let Some(remote) = client.config.remote.as_mut() {
            remote.code_length = me.code_length.filter(|n| {
                (crate::domain::code::MIN_LEN..=crate::domain::code::MAX_LEN).contains(n)
            });
        }
        Ok(client)
    }

    /// Posts one wire request; the answer's JSON on success, else the error it stands for.
    fn post<T: for<'de> Deserialize<'de>>(&self, wire: &Wire) -> Result<T, Error> {
        let url = &self.remote.url;
        let body = zeroize::Zeroizing::new(
            serde_json::to_string(wire).map_err(|e| protocol(format!("cannot encode: {e}")))?,
        );
        let response = self
            .http
            .post(format!("{url}{EXECUTE}"))
            .basic_auth(
                &self.remote.api_key,
                Some(self.remote.api_secret.expose_secret()),
            )
            .form(&[("Request", body.as_str())])
            .send()
            .map_err(|e| unreachable(url, &e))?;
        let status = response.status().as_u16();
        let mut text = String::new();
        response
            .take(MAX_BODY)
            .read_to_string(&mut text)
            .map_err(
                |e| match e.get_ref().and_then(|i| i.downcast_ref::<reqwest::Error>()) {
                    Some(r) => unreachable(url, r),
                    None => protocol(format!("unreadable answer: {e}")),
                },
            )?;
        if status == 200 {
            return serde_json::from_str(&text)
                .map_err(|e| protocol(format!("unexpected answer: {e}")));
        }
        let err: Option<TwilioError> = serde_json::from_str(&text).ok();
        Err(Error::Remote(match (status, err) {
            (401, _) => RemoteError::Unauthorized { url: url.clone() },
            (403, Some(e)) => RemoteError::Forbidden {
                message: e.message,
                privilege: e.privilege,
            },
            (400, Some(e)) => RemoteError::Rejected(e.message),
            (_, Some(e)) => RemoteError::Server {
                status,
                code: e.code,
                message: e.message,
            },
            (_, None) => RemoteError::Protocol(format!("HTTP {status} without an error object")),
        }))
    }
}

fn protocol(what: String) -> Error {
    Error::Remote(RemoteError::Protocol(what))
}

/// No connection, or no answer in time: the innermost cause, never the URL's credentials
/// (there are none in it: the key goes in a header).
fn unreachable(url: &str, e: &reqwest::Error) -> Error {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    Error::Remote(RemoteError::Unreachable {
        url: url.to_string(),
        timed_out: e.is_timeout(),
        detail: cause.to_string(),
    })
}

impl Executor for Client {
    fn execute(&mut self, request: &Request) -> Result<Outcome, Error> {
        match self.post::<WireOutcome>(&Wire::of(request)) {
            Ok(outcome) => Ok(outcome_from_wire(outcome)),
            // The server's use case refused this key: an outcome, rendered as a local one is.
            Err(Error::Remote(RemoteError::Forbidden {
                privilege: Some(privilege),
                ..
            })) => Ok(Outcome::Forbidden { privilege }),
            Err(e) => Err(e),
        }
    }

    fn audit(&mut self, args: &AuditArgs, json: bool, out: &mut dyn Write) -> Result<u8, Error> {
        let printed: Printed = self.post(&Wire::Audit {
            words: args.words(),
            json,
            zone: crate::audit::Zone::this_machine(self.remote.tz.as_deref()),
        })?;
        // The server's words reach this terminal as plain lines, never escape sequences.
        for line in printed.output.lines() {
            writeln!(out, "{}", crate::sanitize::sanitize(line)).map_err(Error::Output)?;
        }
        Ok(printed.exit_status)
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn take_warnings(&mut self) -> Vec<String> {
        Vec::new()
    }

    fn config(&self) -> &Config {
        &self.config
    }

    fn delivery_name(&self) -> String {
        format!("through {}", self.remote.url)
    }

    fn shows_codes_locally(&self) -> bool {
        false
    }
}

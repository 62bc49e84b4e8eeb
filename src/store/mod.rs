//! Storage, seen from the use cases: the vocabulary they speak ([`Tx`]: count an attempt,
//! consume, append an audit event, count sends in a window…) and the [`Backend`] that opens
//! transactions in it. Each store implements both with its own SQL and its own way of
//! serialising writers: [`sqlite`] (`BEGIN IMMEDIATE`) and [`postgres`] (a row lock taken first
//! in every write transaction); [`any`] opens whichever the configuration names. The service
//! never names a database crate.
//!
//! Every [`Tx`] also speaks the audit review's vocabulary ([`AuditTx`]: the chain head and
//! anchor, paged scans in id order, the filtered listing, stats buckets, retention's cut) and
//! the copier's ([`CopyTx`]: is the store empty, dump a table page by page, load rows with
//! their ids), so `otpd audit …`, `otpd prune` and `otpd store copy` run on any [`Backend`].
//! Nothing outside [`sqlite`] sees a SQLite connection.

pub mod any;
pub mod audit;
pub mod audit_batch;
pub mod audit_query;
pub mod copy;
pub mod events;
pub mod health;
pub mod key_seal;
pub mod postgres;
pub mod rate_limits;
pub mod retention;
pub mod review;
pub mod sqlite;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::crypto::Secrets;
use crate::domain::limits::{self, FailureEffect, NumberState, Pause, Scope, Usage};
use crate::domain::{Challenge, Channel, Limits, PhoneNumber, State};
use audit::NewEvent;
pub use audit_query::AuditTx;
pub use copy::CopyTx;
pub use events::EventsTx;
pub use rate_limits::RateTx;
pub use review::ReviewTx;

/// How long a writer waits for another terminal's transaction before giving up.
pub const BUSY_TIMEOUT_MS: u64 = 10_000;

/// Worded in `render::failures`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    Corrupt {
        path: PathBuf,
        detail: String,
    },
    ReadOnly {
        path: PathBuf,
    },
    Full {
        path: PathBuf,
    },
    /// A lock or a free connection did not come in time; `why` says which wait ran out.
    Busy {
        path: PathBuf,
        why: String,
    },
    Open {
        path: PathBuf,
        detail: String,
    },
    Other {
        path: PathBuf,
        detail: String,
    },
    /// A PostgreSQL server that accepts no writes (`default_transaction_read_only`, a standby).
    ReadOnlyServer {
        path: PathBuf,
    },
    /// The server could not be reached, or the connection was lost mid-command.
    Connection {
        path: PathBuf,
        detail: String,
    },
    /// The server asks for a password and none was configured: the configuration's fault.
    NoPassword {
        path: PathBuf,
    },
    /// A serialization failure or deadlock: retried by [`Backend`]'s helpers, then reported.
    Conflict {
        path: PathBuf,
        detail: String,
    },
}

impl StoreError {
    /// Whether running the whole transaction again may succeed (a serialization failure or a
    /// deadlock), as opposed to a failure that would repeat.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

/// How many times [`Backend`]'s helpers run a transaction that failed with a conflict.
pub const CONFLICT_ATTEMPTS: u32 = 5;

pub type Result<T> = std::result::Result<T, StoreError>;

/// A store: opens transactions in the use cases' vocabulary. Dropping a [`Tx`] without
/// [`Tx::commit`] rolls it back.
pub trait Backend {
    /// A write transaction: every use case's reads and writes in it are one serialised unit
    /// (no other writer interleaves), so checks made in it still hold when it commits.
    fn begin_write(&mut self) -> Result<Box<dyn Tx + '_>>;
    /// A read transaction: one consistent snapshot, no write lock.
    fn begin_read(&mut self) -> Result<Box<dyn Tx + '_>>;
}

impl dyn Backend + '_ {
    /// Runs `f` in a write transaction: commit on `Ok`, roll back on `Err`. A transaction
    /// that fails with a conflict ([`StoreError::is_retryable`]) is rolled back and run again,
    /// at most [`CONFLICT_ATTEMPTS`] times in all.
    pub fn transaction<T>(&mut self, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        retrying(|| {
            let mut tx = self.begin_write()?;
            let value = f(&mut *tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// Runs `f` in a read transaction (one snapshot, no write lock), retried as
    /// [`transaction`](Self::transaction) is.
    pub fn snapshot<T>(&mut self, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
        retrying(|| {
            let mut tx = self.begin_read()?;
            let value = f(&mut *tx)?;
            tx.commit()?;
            Ok(value)
        })
    }
}

/// Runs `attempt` until it succeeds, fails for good, or conflicted [`CONFLICT_ATTEMPTS`] times.
fn retrying<T>(mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
    let mut tries = 1;
    loop {
        match attempt() {
            Err(e) if e.is_retryable() && tries < CONFLICT_ATTEMPTS => tries += 1,
            r => return r,
        }
    }
}

/// What the use cases ask of a store inside one transaction. The conditional updates
/// (`count_attempt`, `consume`, `close`, `reissue`) report whether they changed the row: that,
/// not an earlier read, is what makes a code single-use. The audit review's and the copier's
/// methods come with it ([`AuditTx`], [`CopyTx`]).
pub trait Tx: AuditTx + CopyTx + RateTx + EventsTx + ReviewTx {
    // Verifications.
    /// One verification by id.
    fn challenge(&mut self, id: i64) -> Result<Option<Challenge>>;
    /// The newest verification `station` started for a number (each station's verifications
    /// of one number are apart: another station's is, to it, nothing at all).
    fn latest_challenge(&mut self, phone: &PhoneNumber, station: &str)
    -> Result<Option<Challenge>>;
    /// This station's verifications whose code has not expired and which are pending or were
    /// approved, newest first, one per number: the candidates when a command names no phone.
    fn recent_challenges(&mut self, station: &str, now: DateTime<Utc>) -> Result<Vec<Challenge>>;
    /// Starts a verification; returns its id.
    fn insert_challenge(&mut self, new: &NewChallenge<'_>) -> Result<i64>;
    /// Replaces the code of a pending verification (a resend): the old code stops working, the
    /// attempt count is kept.
    fn reissue(&mut self, r: &Reissue<'_>) -> Result<bool>;
    /// Counts one attempt if the budget allows and the code is still generation `generation`.
    fn count_attempt(&mut self, id: i64, generation: i64) -> Result<bool>;
    /// Accepts the code: the single point where a code is used; exactly one caller wins.
    fn consume(&mut self, id: i64, generation: i64, now: DateTime<Utc>) -> Result<bool>;
    /// Ends a pending verification (`failed` or `cancelled`).
    fn close(&mut self, id: i64, generation: i64, state: State) -> Result<bool>;
    /// Records what delivery reported for the current code.
    fn set_delivery(
        &mut self,
        id: i64,
        generation: i64,
        status: &str,
        provider_ref: Option<&str>,
    ) -> Result<()>;

    // Limits.
    /// A number's back-off streak and wrong-code lock-out.
    fn number_state(&mut self, phone_key: &str) -> Result<NumberState>;
    /// Everything the limits decide on for one prospective send (sends in each window, the
    /// number's state, the pauses that hold it, the conversion figures of this station, this
    /// number's prefix and the installation).
    fn usage(
        &mut self,
        limits: &Limits,
        keys: &LedgerKeys,
        station: &str,
        now: DateTime<Utc>,
        counting: Counting,
    ) -> Result<Usage>;
    /// The counters that do not depend on a number: the pauses holding this station, this
    /// station, every station and the conversion guard's figures (no prefix).
    fn station_usage(
        &mut self,
        limits: &Limits,
        station: &str,
        now: DateTime<Utc>,
        counting: Counting,
    ) -> Result<Usage>;
    /// Records one send in the ledger and the number's back-off streak.
    fn record_send(&mut self, limits: &Limits, send: &NewSend<'_>) -> Result<()>;
    /// A verification was approved: it converted; the number's streak and failures reset.
    fn record_success(&mut self, phone_key: &str, challenge_id: i64) -> Result<()>;
    /// Stores the effect of a wrong code on the number.
    fn record_failure(
        &mut self,
        phone_key: &str,
        phone: &PhoneNumber,
        effect: &FailureEffect,
    ) -> Result<()>;
    /// Lifts a number's lock and clears its failures; `true` if there was anything to clear.
    fn unlock_number(&mut self, phone_key: &str) -> Result<bool>;
    /// Pauses one scope's sending (the conversion guard); `true` if this call paused it.
    fn pause_scope(&mut self, pause: &NewPause<'_>) -> Result<bool>;
    /// Lifts every pause (and restarts the guard's windows); returns the pauses lifted.
    fn resume_all(&mut self, now: DateTime<Utc>) -> Result<Vec<Pause>>;
    /// Every pause in force: global first, then stations, then prefixes.
    fn pauses(&mut self) -> Result<Vec<Pause>>;
    /// The numbers locked now, as `otpd limits` lists them.
    fn locked_numbers(&mut self, now: DateTime<Utc>) -> Result<Vec<LockedNumber>>;

    // The server's keys, verification SIDs and settings (`otpd serve`).
    /// Stores a new API key (its secret already hashed).
    fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> Result<()>;
    /// One key by SID, revoked or not.
    fn api_key(&mut self, sid: &str) -> Result<Option<ApiKey>>;
    /// Every key, oldest first.
    fn api_keys(&mut self) -> Result<Vec<ApiKey>>;
    /// Marks a key's row revoked at `now`, with its new seal (`None`: keep the stored one, for
    /// a row whose seal already fails); `true` if the row existed and was not yet marked.
    fn revoke_api_key(&mut self, sid: &str, now: DateTime<Utc>, mac: Option<&str>) -> Result<bool>;
    /// When the audit log first recorded `key_revoked` for `sid` (indexed: one lookup). The
    /// chain, not the key's row, is what says a key was revoked.
    fn key_revoked_at(&mut self, sid: &str) -> Result<Option<DateTime<Utc>>>;
    /// The verification SID of a challenge, if one was given.
    fn verification_sid(&mut self, challenge_id: i64) -> Result<Option<String>>;
    /// Gives a challenge `sid` unless it already has one; returns the SID it has now.
    fn assign_verification_sid(&mut self, challenge_id: i64, sid: &str) -> Result<String>;
    /// The challenge a verification SID stands for.
    fn challenge_by_sid(&mut self, sid: &str) -> Result<Option<Challenge>>;
    /// A server setting (e.g. `service_sid`).
    fn server_setting(&mut self, name: &str) -> Result<Option<String>>;
    /// Stores a setting unless it is set; returns the value it has now.
    fn init_server_setting(&mut self, name: &str, value: &str) -> Result<String>;
    /// Sets a setting to `value`, or removes it (`None`).
    fn put_server_setting(&mut self, name: &str, value: Option<&str>) -> Result<()>;
    /// Adds one to the counter stored under `name` (a server setting; from 1): a write that
    /// always changes a page, so it always makes a durable commit.
    fn bump_counter(&mut self, name: &str) -> Result<()>;

    // Audit.
    /// Appends one event to the MAC chain, in this transaction (so the chain cannot fork and
    /// the event commits with the change it records); returns the row id.
    fn append_event(&mut self, secrets: &Secrets, event: &NewEvent<'_>) -> Result<i64>;

    /// Ends the transaction, keeping a write transaction's changes.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// What an API key may do: a domain type, named here for the key rows' callers.
pub use crate::domain::caller::Role;

/// A stored API key. `secret_hash` is a keyed hash, never the secret; `mac` seals the row
/// ([`key_seal`]).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub sid: String,
    pub secret_hash: String,
    pub station: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The row's seal as stored (`None`: the row has none).
    pub mac: Option<String>,
    /// Set by the application when the seal does not match the row (the store reads `false`).
    pub tampered: bool,
}

impl ApiKey {
    /// The caller this key authenticates: its station, SID and role.
    pub fn caller(&self) -> crate::domain::Caller {
        crate::domain::Caller::key(&self.station, &self.sid, self.role)
    }
}

/// A key to store, with its row's seal.
pub struct NewApiKey<'a> {
    pub sid: &'a str,
    pub secret_hash: &'a str,
    pub station: &'a str,
    pub role: Role,
    pub now: DateTime<Utc>,
    pub mac: &'a str,
}

/// Fields of a new verification.
pub struct NewChallenge<'a> {
    pub phone: &'a PhoneNumber,
    pub station: &'a str,
    pub channel: Channel,
    pub code_hash: &'a str,
    pub code_length: usize,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub max_attempts: u32,
    /// The message's language tag; `None`: the configured one.
    pub locale: Option<&'a str>,
}

/// A new code for a pending verification.
pub struct Reissue<'a> {
    pub id: i64,
    pub channel: Channel,
    pub code_hash: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The new message's language tag; `None`: the configured one.
    pub locale: Option<&'a str>,
    /// Keep the replaced code's hash and expiry ([`crate::domain::Policy::accept_replaced_code`]).
    pub keep_replaced: bool,
}

/// One send, as the ledger records it.
pub struct NewSend<'a> {
    pub keys: &'a LedgerKeys,
    pub phone: &'a PhoneNumber,
    pub station: &'a str,
    pub challenge_id: i64,
    pub at: DateTime<Utc>,
}

/// A conversion pause to persist.
pub struct NewPause<'a> {
    pub scope: Scope,
    /// `""` (global), the station's name, or the prefix's keyed hash.
    pub key: &'a str,
    /// What otpd shows: `""`, the station's name, or the masked prefix.
    pub name: &'a str,
    pub at: DateTime<Utc>,
    pub reason: &'a str,
}

/// The keyed hashes the ledger stores instead of numbers, and the prefix's masked form.
pub struct LedgerKeys {
    pub phone: String,
    pub prefix: String,
    pub prefix_masked: String,
}

impl LedgerKeys {
    pub fn new(secrets: &Secrets, limits: &Limits, phone: &PhoneNumber) -> LedgerKeys {
        LedgerKeys {
            phone: secrets.phone_key(phone.e164()),
            prefix: secrets.phone_key(&format!(
                "prefix:{}",
                limits::prefix(phone, limits.prefix_digits)
            )),
            prefix_masked: limits::masked_prefix(phone, limits.prefix_digits),
        }
    }
}

/// How much counting a caller needs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Enough to decide: each count stops at its cap, so a send costs O(cap), not O(traffic).
    Decide,
    /// Exact counts, for `otpd limits`.
    Exact,
}

/// A number that is locked now, as `otpd limits` lists it.
#[derive(Debug, Clone)]
pub struct LockedNumber {
    pub phone_masked: String,
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub needs_unlock: bool,
}

#[cfg(test)]
mod tests;

//! The use cases' [`Tx`] vocabulary on one SQLite transaction: each method runs the SQL in
//! [`super::challenges`], [`super::limits`], [`super::pauses`] or [`super::audit`] and turns SQLite's error into
//! the [`StoreError`] that names the database.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::{audit, challenges, keys, limits, pauses};
use crate::crypto::Secrets;
use crate::domain::limits::{FailureEffect, NumberState, Pause, Usage};
use crate::domain::{Challenge, Limits, PhoneNumber, State};
use crate::store::audit::NewEvent;
use crate::store::{
    ApiKey, Counting, LedgerKeys, LockedNumber, NewApiKey, NewChallenge, NewPause, NewSend,
    Reissue, Result, StoreError, Tx,
};

/// One open SQLite transaction (`BEGIN IMMEDIATE` for writes, deferred for reads); dropping it
/// rolls back.
pub(super) struct SqliteTx<'c> {
    tx: Transaction<'c>,
    path: &'c Path,
    writes: bool,
}

impl<'c> SqliteTx<'c> {
    pub(super) fn new(tx: Transaction<'c>, path: &'c Path, writes: bool) -> Self {
        SqliteTx { tx, path, writes }
    }

    fn ok<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| StoreError::from_sqlite(self.path, &e))
    }
}

impl Tx for SqliteTx<'_> {
    fn challenge(&mut self, id: i64) -> Result<Option<Challenge>> {
        self.ok(challenges::get(&self.tx, id))
    }

    fn latest_challenge(&mut self, phone: &PhoneNumber) -> Result<Option<Challenge>> {
        self.ok(challenges::latest_for_phone(&self.tx, phone))
    }

    fn recent_challenges(&mut self, station: &str, now: DateTime<Utc>) -> Result<Vec<Challenge>> {
        self.ok(challenges::recent_for_station(&self.tx, station, now))
    }

    fn insert_challenge(&mut self, new: &NewChallenge<'_>) -> Result<i64> {
        self.ok(challenges::insert(&self.tx, new))
    }

    fn reissue(&mut self, r: &Reissue<'_>) -> Result<bool> {
        self.ok(challenges::reissue(&self.tx, r))
    }

    fn count_attempt(&mut self, id: i64, generation: i64) -> Result<bool> {
        self.ok(challenges::count_attempt(&self.tx, id, generation))
    }

    fn consume(&mut self, id: i64, generation: i64, now: DateTime<Utc>) -> Result<bool> {
        self.ok(challenges::consume(&self.tx, id, generation, now))
    }

    fn close(&mut self, id: i64, generation: i64, state: State) -> Result<bool> {
        self.ok(challenges::close(&self.tx, id, generation, state))
    }

    fn set_delivery(
        &mut self,
        id: i64,
        generation: i64,
        status: &str,
        provider_ref: Option<&str>,
    ) -> Result<()> {
        self.ok(challenges::set_delivery(
            &self.tx,
            id,
            generation,
            status,
            provider_ref,
        ))
    }

    fn number_state(&mut self, phone_key: &str) -> Result<NumberState> {
        self.ok(limits::number_state(&self.tx, phone_key))
    }

    fn usage(
        &mut self,
        l: &Limits,
        keys: &LedgerKeys,
        station: &str,
        now: DateTime<Utc>,
        counting: Counting,
    ) -> Result<Usage> {
        self.ok(limits::usage(&self.tx, l, keys, station, now, counting))
    }

    fn station_usage(
        &mut self,
        l: &Limits,
        station: &str,
        now: DateTime<Utc>,
        counting: Counting,
    ) -> Result<Usage> {
        self.ok(limits::station_usage(&self.tx, l, station, now, counting))
    }

    fn record_send(&mut self, l: &Limits, send: &NewSend<'_>) -> Result<()> {
        self.ok(limits::record_send(&self.tx, l, send))
    }

    fn record_success(&mut self, phone_key: &str, challenge_id: i64) -> Result<()> {
        self.ok(limits::record_success(&self.tx, phone_key, challenge_id))
    }

    fn record_failure(
        &mut self,
        phone_key: &str,
        phone: &PhoneNumber,
        effect: &FailureEffect,
    ) -> Result<()> {
        self.ok(limits::record_failure(&self.tx, phone_key, phone, effect))
    }

    fn unlock_number(&mut self, phone_key: &str) -> Result<bool> {
        self.ok(limits::unlock(&self.tx, phone_key))
    }

    fn pause_scope(&mut self, pause: &NewPause<'_>) -> Result<bool> {
        self.ok(pauses::pause(&self.tx, pause))
    }

    fn resume_all(&mut self, now: DateTime<Utc>) -> Result<Vec<Pause>> {
        self.ok(pauses::resume(&self.tx, now))
    }

    fn pauses(&mut self) -> Result<Vec<Pause>> {
        self.ok(pauses::all(&self.tx))
    }

    fn locked_numbers(&mut self, now: DateTime<Utc>) -> Result<Vec<LockedNumber>> {
        self.ok(limits::locked_numbers(&self.tx, now))
    }

    fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> Result<()> {
        self.ok(keys::insert(&self.tx, key))
    }

    fn api_key(&mut self, sid: &str) -> Result<Option<ApiKey>> {
        self.ok(keys::get(&self.tx, sid))
    }

    fn api_keys(&mut self) -> Result<Vec<ApiKey>> {
        self.ok(keys::all(&self.tx))
    }

    fn revoke_api_key(&mut self, sid: &str, now: DateTime<Utc>) -> Result<bool> {
        self.ok(keys::revoke(&self.tx, sid, now))
    }

    fn verification_sid(&mut self, challenge_id: i64) -> Result<Option<String>> {
        self.ok(keys::verification_sid(&self.tx, challenge_id))
    }

    fn assign_verification_sid(&mut self, challenge_id: i64, sid: &str) -> Result<String> {
        self.ok(keys::assign_verification_sid(&self.tx, challenge_id, sid))
    }

    fn challenge_by_sid(&mut self, sid: &str) -> Result<Option<Challenge>> {
        let id = self.ok(keys::challenge_id(&self.tx, sid))?;
        match id {
            Some(id) => self.ok(challenges::get(&self.tx, id)),
            None => Ok(None),
        }
    }

    fn server_setting(&mut self, name: &str) -> Result<Option<String>> {
        self.ok(keys::setting(&self.tx, name))
    }

    fn init_server_setting(&mut self, name: &str, value: &str) -> Result<String> {
        self.ok(keys::init_setting(&self.tx, name, value))
    }

    fn append_event(&mut self, secrets: &Secrets, event: &NewEvent<'_>) -> Result<i64> {
        self.ok(audit::append(&self.tx, secrets, event))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let SqliteTx { tx, path, writes } = *self;
        // A read transaction just ends (rolled back, as nothing was written).
        let r = if writes { tx.commit() } else { tx.finish() };
        r.map_err(|e| StoreError::from_sqlite(path, &e))
    }
}

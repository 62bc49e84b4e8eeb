//! The use cases' [`Tx`] vocabulary on one PostgreSQL transaction: each method runs the SQL in
//! [`super::challenges`], [`super::limits`], [`super::pauses`] or [`super::audit`] and turns
//! PostgreSQL's error into the [`StoreError`](crate::store::StoreError) that names the database.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::conn::{Conn, PgResult};
use super::{audit, challenges, limits, pauses};
use crate::crypto::Secrets;
use crate::domain::limits::{FailureEffect, NumberState, Pause, Usage};
use crate::domain::{Challenge, Limits, PhoneNumber, State};
use crate::store::audit::NewEvent;
use crate::store::{
    ApiKey, Counting, LedgerKeys, LockedNumber, NewApiKey, NewChallenge, NewPause, NewSend,
    Reissue, Result, Tx,
};

/// One open PostgreSQL transaction (the writers' lock taken for writes, a read-only snapshot
/// for reads); dropping it rolls back.
pub(super) struct PgTx<'c> {
    tx: Conn<'c>,
    path: &'c Path,
    writes: bool,
}

impl<'c> PgTx<'c> {
    pub(super) fn new(tx: Conn<'c>, path: &'c Path, writes: bool) -> Self {
        PgTx { tx, path, writes }
    }
}

fn ok<T>(path: &Path, r: PgResult<T>) -> Result<T> {
    r.map_err(|e| e.into_store(path))
}

impl Tx for PgTx<'_> {
    fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> Result<()> {
        PgTx::insert_api_key(self, key)
    }
    fn api_key(&mut self, sid: &str) -> Result<Option<ApiKey>> {
        PgTx::api_key(self, sid)
    }
    fn api_keys(&mut self) -> Result<Vec<ApiKey>> {
        PgTx::api_keys(self)
    }
    fn revoke_api_key(&mut self, sid: &str, now: DateTime<Utc>) -> Result<bool> {
        PgTx::revoke_api_key(self, sid, now)
    }
    fn verification_sid(&mut self, challenge_id: i64) -> Result<Option<String>> {
        PgTx::verification_sid(self, challenge_id)
    }
    fn assign_verification_sid(&mut self, challenge_id: i64, sid: &str) -> Result<String> {
        PgTx::assign_verification_sid(self, challenge_id, sid)
    }
    fn challenge_by_sid(&mut self, sid: &str) -> Result<Option<Challenge>> {
        PgTx::challenge_by_sid(self, sid)
    }
    fn server_setting(&mut self, name: &str) -> Result<Option<String>> {
        PgTx::server_setting(self, name)
    }
    fn init_server_setting(&mut self, name: &str, value: &str) -> Result<String> {
        PgTx::init_server_setting(self, name, value)
    }

    fn challenge(&mut self, id: i64) -> Result<Option<Challenge>> {
        ok(self.path, challenges::get(&mut self.tx, id))
    }

    fn latest_challenge(&mut self, phone: &PhoneNumber) -> Result<Option<Challenge>> {
        ok(self.path, challenges::latest_for_phone(&mut self.tx, phone))
    }

    fn recent_challenges(&mut self, station: &str, now: DateTime<Utc>) -> Result<Vec<Challenge>> {
        ok(
            self.path,
            challenges::recent_for_station(&mut self.tx, station, now),
        )
    }

    fn insert_challenge(&mut self, new: &NewChallenge<'_>) -> Result<i64> {
        ok(self.path, challenges::insert(&mut self.tx, new))
    }

    fn reissue(&mut self, r: &Reissue<'_>) -> Result<bool> {
        ok(self.path, challenges::reissue(&mut self.tx, r))
    }

    fn count_attempt(&mut self, id: i64, generation: i64) -> Result<bool> {
        ok(
            self.path,
            challenges::count_attempt(&mut self.tx, id, generation),
        )
    }

    fn consume(&mut self, id: i64, generation: i64, now: DateTime<Utc>) -> Result<bool> {
        ok(
            self.path,
            challenges::consume(&mut self.tx, id, generation, now),
        )
    }

    fn close(&mut self, id: i64, generation: i64, state: State) -> Result<bool> {
        ok(
            self.path,
            challenges::close(&mut self.tx, id, generation, state),
        )
    }

    fn set_delivery(
        &mut self,
        id: i64,
        generation: i64,
        status: &str,
        provider_ref: Option<&str>,
    ) -> Result<()> {
        ok(
            self.path,
            challenges::set_delivery(&mut self.tx, id, generation, status, provider_ref),
        )
    }

    fn number_state(&mut self, phone_key: &str) -> Result<NumberState> {
        ok(self.path, limits::number_state(&mut self.tx, phone_key))
    }

    fn usage(
        &mut self,
        l: &Limits,
        keys: &LedgerKeys,
        station: &str,
        now: DateTime<Utc>,
        counting: Counting,
    ) -> Result<Usage> {
        ok(
            self.path,
            limits::usage(&mut self.tx, l, keys, station, now, counting),
        )
    }

    fn station_usage(
        &mut self,
        l: &Limits,
        station: &str,
        now: DateTime<Utc>,
        counting: Counting,
    ) -> Result<Usage> {
        ok(
            self.path,
            limits::station_usage(&mut self.tx, l, station, now, counting),
        )
    }

    fn record_send(&mut self, l: &Limits, send: &NewSend<'_>) -> Result<()> {
        ok(self.path, limits::record_send(&mut self.tx, l, send))
    }

    fn record_success(&mut self, phone_key: &str, challenge_id: i64) -> Result<()> {
        ok(
            self.path,
            limits::record_success(&mut self.tx, phone_key, challenge_id),
        )
    }

    fn record_failure(
        &mut self,
        phone_key: &str,
        phone: &PhoneNumber,
        effect: &FailureEffect,
    ) -> Result<()> {
        ok(
            self.path,
            limits::record_failure(&mut self.tx, phone_key, phone, effect),
        )
    }

    fn unlock_number(&mut self, phone_key: &str) -> Result<bool> {
        ok(self.path, limits::unlock(&mut self.tx, phone_key))
    }

    fn pause_scope(&mut self, pause: &NewPause<'_>) -> Result<bool> {
        ok(self.path, pauses::pause(&mut self.tx, pause))
    }

    fn resume_all(&mut self, now: DateTime<Utc>) -> Result<Vec<Pause>> {
        ok(self.path, pauses::resume(&mut self.tx, now))
    }

    fn pauses(&mut self) -> Result<Vec<Pause>> {
        ok(self.path, pauses::all(&mut self.tx))
    }

    fn locked_numbers(&mut self, now: DateTime<Utc>) -> Result<Vec<LockedNumber>> {
        ok(self.path, limits::locked_numbers(&mut self.tx, now))
    }

    fn append_event(&mut self, secrets: &Secrets, event: &NewEvent<'_>) -> Result<i64> {
        ok(self.path, audit::append(&mut self.tx, secrets, event))
    }

    fn commit(self: Box<Self>) -> Result<()> {
        let PgTx { tx, path, writes } = *self;
        // A read transaction just ends (rolled back, as nothing was written).
        let r = if writes {
            tx.commit()
        } else {
            tx.tx.rollback().map_err(Into::into)
        };
        ok(path, r)
    }
}

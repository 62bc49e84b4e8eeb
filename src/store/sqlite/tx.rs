//! The use cases' [`Tx`] vocabulary (with the audit review's [`AuditTx`] and the copier's
//! [`CopyTx`]) on one SQLite transaction: each method runs the SQL in [`super::challenges`],
//! [`super::limits`], [`super::pauses`], [`super::audit`], [`super::audit_query`],
//! [`super::retention`] or [`super::copy`] and turns SQLite's error into the [`StoreError`]
//! that names the database.

use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::Transaction;

use super::{
    audit, audit_query, challenges, copy, events, keys, limits, pauses, retention, review,
};
use crate::crypto::Secrets;
use crate::domain::limits::{FailureEffect, NumberState, Pause, Usage};
use crate::domain::{Challenge, Limits, PhoneNumber, State};
use crate::store::audit::{Anchor, AuditBatch, AuditRow, NewEvent};
use crate::store::audit_query::{BucketCount, Filter};
use crate::store::copy::{Row, Table, Value};
use crate::store::events::{EventsTx, NewOutboxEvent, OutboxRow, SinkBacklog};
use crate::store::retention::Cut;
use crate::store::review::{ReviewTx, StoredSession};
use crate::store::{
    ApiKey, AuditTx, CopyTx, Counting, LedgerKeys, LockedNumber, NewApiKey, NewChallenge, NewPause,
    NewSend, Reissue, Result, StoreError, Tx,
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

    pub(super) fn ok<T>(&self, r: rusqlite::Result<T>) -> Result<T> {
        r.map_err(|e| StoreError::from_sqlite(self.path, &e))
    }

    /// The transaction's connection, for the SQL kept in sibling files.
    pub(super) fn conn(&self) -> &rusqlite::Connection {
        &self.tx
    }
}

impl Tx for SqliteTx<'_> {
    fn challenge(&mut self, id: i64) -> Result<Option<Challenge>> {
        self.ok(challenges::get(&self.tx, id))
    }

    fn latest_challenge(
        &mut self,
        phone: &PhoneNumber,
        station: &str,
    ) -> Result<Option<Challenge>> {
        self.ok(challenges::latest_for_phone(&self.tx, phone, station))
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

    fn revoke_api_key(&mut self, sid: &str, now: DateTime<Utc>, mac: Option<&str>) -> Result<bool> {
        self.ok(keys::revoke(&self.tx, sid, now, mac))
    }

    fn key_revoked_at(&mut self, sid: &str) -> Result<Option<DateTime<Utc>>> {
        self.ok(keys::revoked_at(&self.tx, sid))
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

    fn put_server_setting(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        self.ok(keys::put_setting(&self.tx, name, value))
    }

    fn bump_counter(&mut self, name: &str) -> Result<()> {
        self.ok(keys::bump_counter(&self.tx, name))
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

impl AuditTx for SqliteTx<'_> {
    fn audit_head(&mut self) -> Result<Option<(i64, String)>> {
        self.ok(audit::head(&self.tx))
    }

    fn audit_head_id(&mut self) -> Result<i64> {
        self.ok(audit::head_id(&self.tx))
    }

    fn audit_min_id(&mut self) -> Result<Option<i64>> {
        self.ok(audit::min_id(&self.tx))
    }

    fn audit_row(&mut self, id: i64) -> Result<Option<AuditRow>> {
        self.ok(audit::row(&self.tx, id))
    }

    fn audit_next_row(&mut self, id: i64) -> Result<Option<AuditRow>> {
        self.ok(audit::next_row(&self.tx, id))
    }

    fn audit_id_with_mac(&mut self, mac: &str) -> Result<Option<i64>> {
        self.ok(audit::id_with_mac(&self.tx, mac))
    }

    fn audit_latest_anchor(&mut self) -> Result<Option<Anchor>> {
        self.ok(audit::latest_anchor(&self.tx))
    }

    fn audit_scan(
        &mut self,
        filter: &Filter,
        after_id: Option<i64>,
        limit: usize,
        out: &mut AuditBatch,
    ) -> Result<()> {
        self.ok(audit_query::scan(&self.tx, filter, after_id, limit, out))
    }

    fn audit_list(&mut self, filter: &Filter, limit: i64) -> Result<Vec<AuditRow>> {
        self.ok(audit_query::list(&self.tx, filter, limit))
    }

    fn audit_bucket_counts(
        &mut self,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        bucket_ms: i64,
        events: &[&'static str],
    ) -> Result<Vec<BucketCount>> {
        self.ok(audit_query::bucket_counts(
            &self.tx, since_ms, until_ms, bucket_ms, events,
        ))
    }

    fn audit_plan_cut(&mut self, cutoff_ms: i64) -> Result<Option<Cut>> {
        self.ok(retention::plan_cut(&self.tx, cutoff_ms))
    }

    fn audit_truncate(&mut self, secrets: &Secrets, cut: Cut, now_ms: i64) -> Result<Anchor> {
        self.ok(retention::truncate_audit(&self.tx, secrets, cut, now_ms))
    }

    fn delete_finished_challenges(&mut self, cutoff_ms: i64, now_ms: i64) -> Result<usize> {
        self.ok(retention::delete_finished_challenges(
            &self.tx, cutoff_ms, now_ms,
        ))
    }
}

impl ReviewTx for SqliteTx<'_> {
    fn insert_session(&mut self, token_hash: &str, key_sid: &str, now_ms: i64) -> Result<()> {
        self.ok(review::insert_session(
            &self.tx, token_hash, key_sid, now_ms,
        ))
    }
    fn session(&mut self, token_hash: &str) -> Result<Option<StoredSession>> {
        self.ok(review::session(&self.tx, token_hash))
    }
    fn touch_session(&mut self, token_hash: &str, now_ms: i64) -> Result<()> {
        self.ok(review::touch_session(&self.tx, token_hash, now_ms))
    }
    fn end_session(&mut self, token_hash: &str, now_ms: i64) -> Result<bool> {
        self.ok(review::end_session(&self.tx, token_hash, now_ms))
    }
    fn delete_sessions_before(&mut self, cutoff_ms: i64) -> Result<usize> {
        self.ok(review::delete_sessions_before(&self.tx, cutoff_ms))
    }
    fn rollup_mark(&mut self) -> Result<i64> {
        self.ok(review::rollup_mark(&self.tx))
    }
    fn rollup_add(&mut self, counts: &[BucketCount], mark: i64) -> Result<()> {
        self.ok(review::rollup_add(&self.tx, counts, mark))
    }
    fn rollup_counts(
        &mut self,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<Vec<BucketCount>> {
        self.ok(review::rollup_counts(&self.tx, since, until))
    }
    fn bucket_counts_by_id(
        &mut self,
        after_id: i64,
        through_id: i64,
        bucket_ms: i64,
    ) -> Result<Vec<BucketCount>> {
        self.ok(review::bucket_counts_by_id(
            &self.tx, after_id, through_id, bucket_ms,
        ))
    }
}

impl CopyTx for SqliteTx<'_> {
    fn is_empty(&mut self) -> Result<bool> {
        self.ok(copy::is_empty(&self.tx))
    }

    fn dump_rows(
        &mut self,
        table: Table,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<Row>> {
        self.ok(copy::dump_rows(&self.tx, table, after, limit))
    }

    fn load_rows(&mut self, table: Table, rows: &[Row]) -> Result<()> {
        self.ok(copy::load_rows(&self.tx, table, rows))
    }
}

impl EventsTx for SqliteTx<'_> {
    fn enqueue_event(&mut self, e: &NewOutboxEvent<'_>, max: u64) -> Result<bool> {
        self.ok(events::enqueue(&self.tx, e, max))
    }

    fn lease_events(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        self.ok(events::lease(&self.tx, now, lease_until, limit))
    }

    fn event_delivered(&mut self, id: i64) -> Result<()> {
        self.ok(events::delivered(&self.tx, id))
    }

    fn event_failed(
        &mut self,
        id: i64,
        attempts: u32,
        next_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> Result<()> {
        self.ok(events::failed(&self.tx, id, attempts, next_at, error))
    }

    fn outbox_backlog(&mut self) -> Result<Vec<SinkBacklog>> {
        self.ok(events::backlog(&self.tx))
    }

    fn challenge_by_provider_ref(&mut self, provider_ref: &str) -> Result<Option<Challenge>> {
        self.ok(challenges::by_provider_ref(&self.tx, provider_ref))
    }

    fn expired_between(
        &mut self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Challenge>> {
        self.ok(challenges::expired_between(&self.tx, after, until))
    }
}

//! The use cases' [`Tx`] vocabulary on one PostgreSQL transaction: each method runs the SQL in
//! [`super::challenges`], [`super::limits`], [`super::pauses`], [`super::audit`] or
//! [`super::keys`] and turns PostgreSQL's error into the [`StoreError`](crate::store::StoreError) that names the database.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::conn::{Conn, PgResult};
use super::{
    audit, audit_query, challenges, copy, events, keys, limits, pauses, retention, review,
};
use crate::crypto::Secrets;
use crate::domain::limits::{FailureEffect, NumberState, Pause, Usage};
use crate::domain::{Challenge, Limits, PhoneNumber, State};
use crate::store::audit::{Anchor, AuditBatch, AuditRow, NewEvent};
use crate::store::audit_query::{AuditTx, BucketCount, Filter};
use crate::store::copy::{CopyTx, Row as CopyRow, Table, Value};
use crate::store::events::{EventsTx, NewOutboxEvent, OutboxRow, SinkBacklog};
use crate::store::retention::Cut;
use crate::store::review::{ReviewTx, StoredSession};
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

    /// Runs SQL kept in a sibling file on this transaction, its error naming the database.
    pub(super) fn run<T>(&mut self, f: impl FnOnce(&mut Conn<'c>) -> PgResult<T>) -> Result<T> {
        ok(self.path, f(&mut self.tx))
    }
}

fn ok<T>(path: &Path, r: PgResult<T>) -> Result<T> {
    r.map_err(|e| e.into_store(path))
}

impl Tx for PgTx<'_> {
    fn insert_api_key(&mut self, key: &NewApiKey<'_>) -> Result<()> {
        ok(self.path, keys::insert(&mut self.tx, key))
    }
    fn api_key(&mut self, sid: &str) -> Result<Option<ApiKey>> {
        ok(self.path, keys::get(&mut self.tx, sid))
    }
    fn api_keys(&mut self) -> Result<Vec<ApiKey>> {
        ok(self.path, keys::all(&mut self.tx))
    }
    fn revoke_api_key(&mut self, sid: &str, now: DateTime<Utc>, mac: Option<&str>) -> Result<bool> {
        ok(self.path, keys::revoke(&mut self.tx, sid, now, mac))
    }
    fn key_revoked_at(&mut self, sid: &str) -> Result<Option<DateTime<Utc>>> {
        ok(self.path, keys::revoked_at(&mut self.tx, sid))
    }
    fn verification_sid(&mut self, challenge_id: i64) -> Result<Option<String>> {
        ok(
            self.path,
            keys::verification_sid(&mut self.tx, challenge_id),
        )
    }
    fn assign_verification_sid(&mut self, challenge_id: i64, sid: &str) -> Result<String> {
        ok(
            self.path,
            keys::assign_verification_sid(&mut self.tx, challenge_id, sid),
        )
    }
    fn challenge_by_sid(&mut self, sid: &str) -> Result<Option<Challenge>> {
        match ok(self.path, keys::challenge_id(&mut self.tx, sid))? {
            Some(id) => ok(self.path, challenges::get(&mut self.tx, id)),
            None => Ok(None),
        }
    }
    fn server_setting(&mut self, name: &str) -> Result<Option<String>> {
        ok(self.path, keys::setting(&mut self.tx, name))
    }
    fn init_server_setting(&mut self, name: &str, value: &str) -> Result<String> {
        ok(self.path, keys::init_setting(&mut self.tx, name, value))
    }
    fn put_server_setting(&mut self, name: &str, value: Option<&str>) -> Result<()> {
        ok(self.path, keys::put_setting(&mut self.tx, name, value))
    }
    fn bump_counter(&mut self, name: &str) -> Result<()> {
        ok(self.path, keys::bump_counter(&mut self.tx, name))
    }

    fn challenge(&mut self, id: i64) -> Result<Option<Challenge>> {
        ok(self.path, challenges::get(&mut self.tx, id))
    }

    fn latest_challenge(
        &mut self,
        phone: &PhoneNumber,
        station: &str,
    ) -> Result<Option<Challenge>> {
        ok(
            self.path,
            challenges::latest_for_phone(&mut self.tx, phone, station),
        )
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
        let r = if writes { tx.commit() } else { tx.rollback() };
        ok(path, r)
    }
}

impl AuditTx for PgTx<'_> {
    fn audit_head(&mut self) -> Result<Option<(i64, String)>> {
        ok(self.path, audit::head(&mut self.tx))
    }
    fn audit_head_id(&mut self) -> Result<i64> {
        ok(self.path, audit_query::head_id(&mut self.tx))
    }
    fn audit_min_id(&mut self) -> Result<Option<i64>> {
        ok(self.path, audit_query::min_id(&mut self.tx))
    }
    fn audit_row(&mut self, id: i64) -> Result<Option<AuditRow>> {
        ok(self.path, audit_query::row(&mut self.tx, id))
    }
    fn audit_next_row(&mut self, id: i64) -> Result<Option<AuditRow>> {
        ok(self.path, audit_query::next_row(&mut self.tx, id))
    }
    fn audit_id_with_mac(&mut self, mac: &str) -> Result<Option<i64>> {
        ok(self.path, audit_query::id_with_mac(&mut self.tx, mac))
    }
    fn audit_latest_anchor(&mut self) -> Result<Option<Anchor>> {
        ok(self.path, audit_query::latest_anchor(&mut self.tx))
    }
    fn audit_scan(
        &mut self,
        filter: &Filter,
        after_id: Option<i64>,
        limit: usize,
        out: &mut AuditBatch,
    ) -> Result<()> {
        ok(
            self.path,
            audit_query::scan(&mut self.tx, filter, after_id, limit, out),
        )
    }
    fn audit_list(&mut self, filter: &Filter, limit: i64) -> Result<Vec<AuditRow>> {
        ok(self.path, audit_query::list(&mut self.tx, filter, limit))
    }
    fn audit_bucket_counts(
        &mut self,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        bucket_ms: i64,
        events: &[&'static str],
    ) -> Result<Vec<BucketCount>> {
        ok(
            self.path,
            audit_query::bucket_counts(&mut self.tx, since_ms, until_ms, bucket_ms, events),
        )
    }
    fn audit_plan_cut(&mut self, cutoff_ms: i64) -> Result<Option<Cut>> {
        ok(self.path, retention::plan_cut(&mut self.tx, cutoff_ms))
    }
    fn audit_truncate(&mut self, secrets: &Secrets, cut: Cut, now_ms: i64) -> Result<Anchor> {
        ok(
            self.path,
            retention::truncate_audit(&mut self.tx, secrets, cut, now_ms),
        )
    }
    fn delete_finished_challenges(&mut self, cutoff_ms: i64, now_ms: i64) -> Result<usize> {
        ok(
            self.path,
            retention::delete_finished_challenges(&mut self.tx, cutoff_ms, now_ms),
        )
    }
}

impl ReviewTx for PgTx<'_> {
    fn insert_session(&mut self, token_hash: &str, key_sid: &str, now_ms: i64) -> Result<()> {
        ok(
            self.path,
            review::insert_session(&mut self.tx, token_hash, key_sid, now_ms),
        )
    }
    fn session(&mut self, token_hash: &str) -> Result<Option<StoredSession>> {
        ok(self.path, review::session(&mut self.tx, token_hash))
    }
    fn touch_session(&mut self, token_hash: &str, now_ms: i64) -> Result<()> {
        ok(
            self.path,
            review::touch_session(&mut self.tx, token_hash, now_ms),
        )
    }
    fn end_session(&mut self, token_hash: &str, now_ms: i64) -> Result<bool> {
        ok(
            self.path,
            review::end_session(&mut self.tx, token_hash, now_ms),
        )
    }
    fn delete_sessions_before(&mut self, cutoff_ms: i64) -> Result<usize> {
        ok(
            self.path,
            review::delete_sessions_before(&mut self.tx, cutoff_ms),
        )
    }
    fn rollup_mark(&mut self) -> Result<i64> {
        ok(self.path, review::rollup_mark(&mut self.tx))
    }
    fn rollup_add(&mut self, counts: &[BucketCount], mark: i64) -> Result<()> {
        ok(self.path, review::rollup_add(&mut self.tx, counts, mark))
    }
    fn rollup_counts(
        &mut self,
        since: Option<i64>,
        until: Option<i64>,
    ) -> Result<Vec<BucketCount>> {
        ok(self.path, review::rollup_counts(&mut self.tx, since, until))
    }
    fn bucket_counts_by_id(
        &mut self,
        after_id: i64,
        through_id: i64,
        bucket_ms: i64,
    ) -> Result<Vec<BucketCount>> {
        ok(
            self.path,
            review::bucket_counts_by_id(&mut self.tx, after_id, through_id, bucket_ms),
        )
    }
}

impl CopyTx for PgTx<'_> {
    fn is_empty(&mut self) -> Result<bool> {
        ok(self.path, copy::is_empty(&mut self.tx))
    }
    fn dump_rows(
        &mut self,
        table: Table,
        after: Option<&[Value]>,
        limit: usize,
    ) -> Result<Vec<CopyRow>> {
        ok(
            self.path,
            copy::dump_rows(&mut self.tx, table, after, limit),
        )
    }
    fn load_rows(&mut self, table: Table, rows: &[CopyRow]) -> Result<()> {
        ok(self.path, copy::load_rows(&mut self.tx, table, rows))
    }
}

impl EventsTx for PgTx<'_> {
    fn enqueue_event(&mut self, e: &NewOutboxEvent<'_>, max: u64) -> Result<bool> {
        ok(self.path, events::enqueue(&mut self.tx, e, max))
    }
    fn lease_events(
        &mut self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>> {
        ok(
            self.path,
            events::lease(&mut self.tx, now, lease_until, limit),
        )
    }
    fn event_delivered(&mut self, id: i64) -> Result<()> {
        ok(self.path, events::delivered(&mut self.tx, id))
    }
    fn event_failed(
        &mut self,
        id: i64,
        attempts: u32,
        next_at: Option<DateTime<Utc>>,
        error: &str,
    ) -> Result<()> {
        ok(
            self.path,
            events::failed(&mut self.tx, id, attempts, next_at, error),
        )
    }
    fn outbox_backlog(&mut self) -> Result<Vec<SinkBacklog>> {
        ok(self.path, events::backlog(&mut self.tx))
    }
    fn challenge_by_provider_ref(&mut self, provider_ref: &str) -> Result<Option<Challenge>> {
        ok(
            self.path,
            challenges::by_provider_ref(&mut self.tx, provider_ref),
        )
    }
    fn expired_between(
        &mut self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<Challenge>> {
        ok(
            self.path,
            challenges::expired_between(&mut self.tx, after, until),
        )
    }
}

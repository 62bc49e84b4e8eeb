//! What PostgreSQL does not serve yet — the audit review, the copier and `otpd serve`'s keys —
//! refused with [`StoreError::NotYet`] so such a command fails with a clear line instead of
//! half-working. Each method here is replaced by real SQL as it lands.

use chrono::{DateTime, Utc};

use super::tx::PgTx;
use crate::crypto::Secrets;
use crate::domain::Challenge;
use crate::store::audit::{Anchor, AuditBatch, AuditRow};
use crate::store::audit_query::{AuditTx, BucketCount, Filter};
use crate::store::copy::{CopyTx, Row, Table, Value};
use crate::store::retention::Cut;
use crate::store::{ApiKey, NewApiKey, Result, StoreError};

const AUDIT: StoreError = StoreError::NotYet {
    what: "the audit review (audit, prune, the head file)",
};
const COPY: StoreError = StoreError::NotYet {
    what: "otpd store copy",
};
const SERVE: StoreError = StoreError::NotYet {
    what: "otpd serve and its keys",
};

impl AuditTx for PgTx<'_> {
    fn audit_head(&mut self) -> Result<Option<(i64, String)>> {
        Err(AUDIT)
    }
    fn audit_head_id(&mut self) -> Result<i64> {
        Err(AUDIT)
    }
    fn audit_min_id(&mut self) -> Result<Option<i64>> {
        Err(AUDIT)
    }
    fn audit_row(&mut self, _id: i64) -> Result<Option<AuditRow>> {
        Err(AUDIT)
    }
    fn audit_next_row(&mut self, _id: i64) -> Result<Option<AuditRow>> {
        Err(AUDIT)
    }
    fn audit_id_with_mac(&mut self, _mac: &str) -> Result<Option<i64>> {
        Err(AUDIT)
    }
    fn audit_latest_anchor(&mut self) -> Result<Option<Anchor>> {
        Err(AUDIT)
    }
    fn audit_scan(
        &mut self,
        _filter: &Filter,
        _after_id: Option<i64>,
        _limit: usize,
        _out: &mut AuditBatch,
    ) -> Result<()> {
        Err(AUDIT)
    }
    fn audit_list(&mut self, _filter: &Filter, _limit: i64) -> Result<Vec<AuditRow>> {
        Err(AUDIT)
    }
    fn audit_bucket_counts(
        &mut self,
        _since_ms: Option<i64>,
        _until_ms: Option<i64>,
        _bucket_ms: i64,
        _events: &[&'static str],
    ) -> Result<Vec<BucketCount>> {
        Err(AUDIT)
    }
    fn audit_plan_cut(&mut self, _cutoff_ms: i64) -> Result<Option<Cut>> {
        Err(AUDIT)
    }
    fn audit_truncate(&mut self, _secrets: &Secrets, _cut: Cut, _now_ms: i64) -> Result<Anchor> {
        Err(AUDIT)
    }
    fn delete_finished_challenges(&mut self, _cutoff_ms: i64, _now_ms: i64) -> Result<usize> {
        Err(AUDIT)
    }
}

impl CopyTx for PgTx<'_> {
    fn is_empty(&mut self) -> Result<bool> {
        Err(COPY)
    }
    fn dump_rows(
        &mut self,
        _table: Table,
        _after: Option<&[Value]>,
        _limit: usize,
    ) -> Result<Vec<Row>> {
        Err(COPY)
    }
    fn load_rows(&mut self, _table: Table, _rows: &[Row]) -> Result<()> {
        Err(COPY)
    }
}

/// `otpd serve`'s half of [`crate::store::Tx`], called from `tx.rs`.
impl PgTx<'_> {
    pub(super) fn insert_api_key(&mut self, _key: &NewApiKey<'_>) -> Result<()> {
        Err(SERVE)
    }
    pub(super) fn api_key(&mut self, _sid: &str) -> Result<Option<ApiKey>> {
        Err(SERVE)
    }
    pub(super) fn api_keys(&mut self) -> Result<Vec<ApiKey>> {
        Err(SERVE)
    }
    pub(super) fn revoke_api_key(&mut self, _sid: &str, _now: DateTime<Utc>) -> Result<bool> {
        Err(SERVE)
    }
    pub(super) fn verification_sid(&mut self, _challenge_id: i64) -> Result<Option<String>> {
        Err(SERVE)
    }
    pub(super) fn assign_verification_sid(&mut self, _id: i64, _sid: &str) -> Result<String> {
        Err(SERVE)
    }
    pub(super) fn challenge_by_sid(&mut self, _sid: &str) -> Result<Option<Challenge>> {
        Err(SERVE)
    }
    pub(super) fn server_setting(&mut self, _name: &str) -> Result<Option<String>> {
        Err(SERVE)
    }
    pub(super) fn init_server_setting(&mut self, _name: &str, _value: &str) -> Result<String> {
        Err(SERVE)
    }
}

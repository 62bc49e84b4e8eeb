//! Retention's plain values: the prefix of the audit chain that `prune` would remove. Deleting
//! finished verifications and cutting the chain (leaving a sealed anchor so the rest still
//! verifies) are [`super::audit_query::AuditTx`] methods each store implements.

/// The prefix of the audit chain that retention would remove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The last row to remove.
    pub last_removed: i64,
    /// The first row kept (its `prev_mac` links to `last_removed`), or `None` when every row
    /// goes.
    pub first_kept: Option<i64>,
}

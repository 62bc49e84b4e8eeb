//! The verification policy: code length, lifetime, attempt budget, resend cooldown and whether
//! a resend's replaced code still works.

use chrono::TimeDelta;

/// Validated policy values (see `config` for the ranges and their reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub code_length: usize,
    pub ttl: TimeDelta,
    pub max_attempts: u32,
    pub resend_cooldown: TimeDelta,
    /// A resend keeps the code it replaces valid until that code's own expiry (the attempt
    /// budget is shared), since texts can arrive out of order.
    pub accept_replaced_code: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            code_length: 6,
            ttl: TimeDelta::seconds(300),
            max_attempts: 5,
            resend_cooldown: TimeDelta::seconds(30),
            accept_replaced_code: true,
        }
    }
}

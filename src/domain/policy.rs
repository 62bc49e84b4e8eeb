//! The verification policy: code length, lifetime, attempt budget and resend cooldown.

use chrono::TimeDelta;

/// Validated policy values (see `config` for the ranges and their reasons).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub code_length: usize,
    pub ttl: TimeDelta,
    pub max_attempts: u32,
    pub resend_cooldown: TimeDelta,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            code_length: 6,
            ttl: TimeDelta::seconds(300),
            max_attempts: 5,
            resend_cooldown: TimeDelta::seconds(30),
        }
    }
}

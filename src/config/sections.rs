//! `[policy]`, `[hashing]`, `[audit]` and `[kiosk]`: each table validated against its ranges,
//! with the defaults filled in.

use std::path::PathBuf;

use chrono::TimeDelta;

use super::raw::{RawAudit, RawHashing, RawKiosk, RawPolicy};
use super::{AuditConfig, ConfigError, Dirs, KioskConfig, ranged};
use crate::crypto::HashParams;
use crate::domain::{Channel, Policy, code};

pub(super) fn policy(p: &RawPolicy) -> Result<Policy, ConfigError> {
    let code_length = ranged(
        "policy.code_length",
        p.code_length,
        6,
        code::MIN_LEN as i64..=code::MAX_LEN as i64,
        " digits",
    )?;
    let ttl = ranged(
        "policy.ttl_seconds",
        p.ttl_seconds,
        300,
        1..=600,
        " seconds (NIST SP 800-63B: at most 10 minutes)",
    )?;
    let max_attempts = ranged("policy.max_attempts", p.max_attempts, 5, 1..=100, "")?;
    let cooldown = ranged(
        "policy.resend_cooldown_seconds",
        p.resend_cooldown_seconds,
        30,
        0..=86_400,
        " seconds (0 disables)",
    )?;
    Ok(Policy {
        code_length: code_length as usize,
        ttl: TimeDelta::seconds(ttl),
        max_attempts: max_attempts as u32,
        resend_cooldown: TimeDelta::seconds(cooldown),
        accept_replaced_code: p.accept_replaced_code.unwrap_or(true),
    })
}

pub(super) fn hashing(h: &RawHashing) -> Result<HashParams, ConfigError> {
    let memory_kib = ranged(
        "hashing.memory_kib",
        h.memory_kib,
        HashParams::OWASP.memory_kib.into(),
        8..=4_194_304,
        " KiB (OWASP minimum 19456)",
    )?;
    let iterations = ranged("hashing.iterations", h.iterations, 2, 1..=100, "")?;
    let parallelism = ranged("hashing.parallelism", h.parallelism, 1, 1..=64, "")?;
    if memory_kib < 8 * parallelism {
        return Err(ConfigError::Value {
            key: "hashing.memory_kib",
            value: memory_kib.to_string(),
            expected: format!("argon2 needs at least 8 KiB per lane ({})", 8 * parallelism),
        });
    }
    Ok(HashParams {
        memory_kib: memory_kib as u32,
        iterations: iterations as u32,
        parallelism: parallelism as u32,
    })
}

/// `relative` resolves a file name against the configuration file's folder.
pub(super) fn audit(
    a: &RawAudit,
    relative: &dyn Fn(PathBuf) -> PathBuf,
    dirs: &Dirs,
) -> Result<AuditConfig, ConfigError> {
    let head_every = ranged(
        "audit.head_every",
        a.head_every,
        100,
        0..=1_000_000,
        " events (0 disables the head file)",
    )?;
    let retention_days = match a.retention_days {
        None => None,
        Some(d) => Some(ranged(
            "audit.retention_days",
            Some(d),
            d,
            1..=36_500,
            " days (leave it out to keep the audit log forever)",
        )? as u32),
    };
    Ok(AuditConfig {
        head_file: a
            .head_file
            .clone()
            .map(relative)
            .unwrap_or_else(|| dirs.state.join("audit-head.log")),
        head_every: head_every as u32,
        retention_days,
    })
}

/// `channel` is `[delivery] channel`, the kiosk's only channel unless `channels` lists more.
pub(super) fn kiosk(k: &RawKiosk, channel: Channel) -> Result<KioskConfig, ConfigError> {
    let idle_seconds = ranged(
        "kiosk.idle_seconds",
        k.idle_seconds,
        120,
        1..=86_400,
        " seconds",
    )?;
    let result_seconds = ranged(
        "kiosk.result_seconds",
        k.result_seconds,
        5,
        1..=600,
        " seconds",
    )?;
    let channels = k.channels.clone().unwrap_or_else(|| vec![channel]);
    let repeated = (1..channels.len()).any(|i| channels[..i].contains(&channels[i]));
    if channels.is_empty() || repeated {
        return Err(ConfigError::Value {
            key: "kiosk.channels",
            value: format!("{channels:?}").to_lowercase(),
            expected: "list one to three different channels: sms, whatsapp, call".into(),
        });
    }
    Ok(KioskConfig {
        idle_seconds: idle_seconds as u64,
        result_seconds: result_seconds as u64,
        channels,
        locales: Vec::new(),
    })
}

//! Each request's id, for the access log and the `X-Request-Id` header (moved out of
//! `routes.rs` to keep that file to the routes and their handlers).

use std::sync::atomic::Ordering;

/// Request ids: `PREFIX-N`, the prefix random per run (two runs' ids never collide in one
/// log), N counting from 1. Sent back as `X-Request-Id` so a client can quote it.
pub struct RequestIds {
    prefix: String,
    next: std::sync::atomic::AtomicU64,
}

impl RequestIds {
    pub fn new(prefix: String) -> RequestIds {
        RequestIds {
            prefix,
            next: std::sync::atomic::AtomicU64::new(1),
        }
    }

    pub fn take(&self) -> String {
        format!(
            "{}-{}",
            self.prefix,
            self.next.fetch_add(1, Ordering::Relaxed)
        )
    }
}

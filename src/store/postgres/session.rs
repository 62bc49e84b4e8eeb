//! One PostgreSQL connection together with the statements prepared on it: what the pool keeps
//! and a transaction leases, in a file of its own so neither of those two needs the other's.

use std::collections::HashMap;

use postgres::{Client, Statement};

/// The statements prepared on one connection, by SQL text.
pub(super) type Cache = HashMap<String, Statement>;

/// A connection and the statements prepared on it: they live and die together (a statement
/// prepared on a lost connection means nothing on its replacement).
pub(super) struct Session {
    pub(super) client: Client,
    pub(super) cache: Cache,
}

impl Session {
    pub(super) fn new(client: Client) -> Self {
        Session {
            client,
            cache: Cache::new(),
        }
    }
}

//! `otpd serve` marks the store it serves (host, process id, since when) and clears the mark
//! when it stops, so `otpd store copy` can say that a server is still writing to the store it
//! copies: what that server writes after the copy would be only in the original.

use chrono::{DateTime, Utc};

use super::App;
use crate::error::Error;

/// The server setting holding the mark.
pub(super) const KEY: &str = "serving";

/// A server that marked this store and, as far as this machine can tell, still runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serving {
    pub host: String,
    pub pid: u32,
    pub since: DateTime<Utc>,
}

impl Serving {
    fn encode(&self) -> String {
        format!("{} {} {}", self.pid, self.since.to_rfc3339(), self.host)
    }

    fn decode(text: &str) -> Option<Serving> {
        let mut parts = text.splitn(3, ' ');
        let pid = parts.next()?.parse().ok()?;
        let since = DateTime::parse_from_rfc3339(parts.next()?)
            .ok()?
            .with_timezone(&Utc);
        let host = parts.next()?.to_string();
        Some(Serving { host, pid, since })
    }

    fn here(now: DateTime<Utc>) -> Serving {
        Serving {
            host: this_host(),
            pid: std::process::id(),
            since: now,
        }
    }

    /// A mark left by a process of this machine that no longer runs is stale; one from
    /// another machine cannot be checked and counts.
    fn alive(&self) -> bool {
        if self.host != this_host() {
            return true;
        }
        i32::try_from(self.pid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
    }
}

fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

impl App {
    /// Marks the store as served by this process.
    pub fn mark_serving(&mut self) -> Result<(), Error> {
        let mark = Serving::here(self.clock.now()).encode();
        Ok(self
            .store
            .backend()
            .transaction(|tx| tx.put_server_setting(KEY, Some(&mark)))?)
    }

    /// Clears this process's mark (another server's is left alone).
    pub fn unmark_serving(&mut self) -> Result<(), Error> {
        let pid = std::process::id();
        let host = this_host();
        Ok(self.store.backend().transaction(|tx| {
            let ours = tx
                .server_setting(KEY)?
                .and_then(|m| Serving::decode(&m))
                .is_some_and(|s| s.pid == pid && s.host == host);
            if ours {
                tx.put_server_setting(KEY, None)?;
            }
            Ok(())
        })?)
    }

    /// The server still marked as serving this store, if it may still run.
    pub fn served_by(&mut self) -> Result<Option<Serving>, Error> {
        let mark = self.store.backend().snapshot(|tx| tx.server_setting(KEY))?;
        Ok(mark
            .and_then(|m| Serving::decode(&m))
            .filter(|s| s.pid != std::process::id() || s.host != this_host())
            .filter(Serving::alive))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_reads_back_and_a_dead_local_process_is_stale() {
        let s = Serving::here(DateTime::from_timestamp(1_800_000_000, 0).unwrap());
        assert_eq!(Serving::decode(&s.encode()), Some(s.clone()));
        assert!(s.alive());
        let gone = Serving {
            pid: u32::MAX / 2,
            ..s.clone()
        };
        assert!(!gone.alive());
        let elsewhere = Serving {
            host: format!("{}-other", s.host),
            ..gone
        };
        assert!(elsewhere.alive());
        assert_eq!(Serving::decode("nonsense"), None);
    }
}

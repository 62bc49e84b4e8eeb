//! `verify CODE [PHONE]` in three phases: admit (find the verification, refuse a locked number,
//! apply the gate, count the attempt and — provisionally — a wrong code towards the number's
//! lock-out: one short write transaction), hash outside any lock (against a decoy when there is
//! nothing to compare, so timing tells nothing), then settle (accept with a conditional update
//! exactly one caller wins, audit, and keep or undo the provisional failure — a second short
//! transaction). Each transaction reads the clock itself, after it holds the write lock, so a
//! wait for another terminal cannot make an expired code look fresh.
//!
//! Counting the failure with the attempt means parallel wrong guesses see each other in the
//! number's lock decision (they cannot overshoot `max_failures_per_number`), and a crash between
//! the phases leaves the failure counted rather than forgotten.
//!
//! After a resend the code it replaced is hashed too while it lives (`[policy]
//! accept_replaced_code`: texts arrive out of order): one more hash, made whatever the first
//! said, against the same attempt — the budget is shared, and accepting it consumes the
//! verification exactly as the current code does.

use chrono::{DateTime, Utc};

use super::refusal::{operator_action, wait_seconds};
use super::{Ctx, Result, Service, Target, Which};
use crate::clock::Clock;
use crate::domain::challenge::ceil_seconds;
use crate::domain::limits::{FailureEffect, Limit, NumberState, Wait};
use crate::domain::{Challenge, Code, Gate, Outcome, PhoneNumber, Privilege, State};
use crate::store::audit::Event;
use crate::store::{StoreError, Tx};

type StoreResult<T> = std::result::Result<T, StoreError>;

/// What admission decided.
pub(super) enum Step {
    /// Answered without a hash.
    Done(Outcome),
    /// Compare the code with this verification's hash.
    Check(Box<Checked>),
    /// Nothing to compare with: hash against a decoy, then say "nothing pending".
    Decoy,
}

/// A verification admitted for a hash: the gate says what a match means.
pub(super) struct Checked {
    ch: Challenge,
    gate: Gate,
    /// The wrong code counted with the attempt, until settling keeps or undoes it.
    provisional: Option<Provisional>,
}

/// A failure counted before the hash: the number as it was, and what the failure did to it.
struct Provisional {
    before: NumberState,
    effect: FailureEffect,
}

/// Which of a verification's codes the typed one matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Matched {
    /// The code of the last send.
    Current,
    /// The code that send replaced, still within its own lifetime.
    Replaced,
}

/// A settled attempt: the audit event, the answer and the event's detail.
type Verdict = (Event, Outcome, String);

impl Service<'_> {
    /// `verify CODE [PHONE]`. `clock` is read inside each transaction, once it holds the lock.
    pub fn verify<'p>(
        &mut self,
        clock: &dyn Clock,
        which: impl Into<Which<'p>>,
        code: &Code,
    ) -> Result<Outcome> {
        Ok(self.verify_settling(clock, which.into(), code)?.0)
    }

    /// [`Service::verify`], also naming the verification the attempt was settled against (the
    /// one phase 1 picked), so a caller can label the answer without a second, racy look-up.
    pub fn verify_settling(
        &mut self,
        clock: &dyn Clock,
        which: Which<'_>,
        code: &Code,
    ) -> Result<(Outcome, Option<i64>)> {
        if let Some(refused) = self.refuse_unless(Privilege::RunVerifications) {
            return Ok((refused, None));
        }
        let step = self.admit(clock, which)?;
        let settled = match &step {
            Step::Check(c) => Some(c.ch.id),
            _ => None,
        };
        Ok((self.finish(clock, which, code, step)?, settled))
    }

    /// Phase 1, in its own transaction.
    pub(super) fn admit(&mut self, clock: &dyn Clock, which: Which<'_>) -> Result<Step> {
        let cx = self.cx;
        Ok(self
            .store
            .transaction(|tx| cx.admit(tx, clock.now(), which))?)
    }

    /// Phases 2 and 3: hash outside any lock, then settle.
    pub(super) fn finish(
        &mut self,
        clock: &dyn Clock,
        which: Which<'_>,
        code: &Code,
        step: Step,
    ) -> Result<Outcome> {
        let cx = self.cx;
        // Expired and unknown codes are hashed too, so timing does not tell them apart.
        let (checked, matched) = match step {
            Step::Done(o) => return Ok(o),
            Step::Decoy => {
                let decoy = cx.hasher.decoy();
                let _ = cx.hasher.verify(code, &decoy);
                return self.no_pending(clock.now(), which);
            }
            Step::Check(c) => {
                let current = cx.hasher.verify(code, &c.ch.code_hash);
                // The code a resend replaced, while it lives ([policy] accept_replaced_code):
                // one hash more, made whatever the first said, so a right and a wrong code
                // cost the same (after approval it tells "already used" from "wrong").
                let counts = matches!(c.gate, Gate::Attempt | Gate::AlreadyApproved);
                let replaced = match c.ch.live_replaced_hash(clock.now()) {
                    Some(hash) if cx.policy.accept_replaced_code && counts => {
                        cx.hasher.verify(code, hash)
                    }
                    _ => false,
                };
                let matched = match (current, replaced) {
                    (true, _) => Some(Matched::Current),
                    (false, true) => Some(Matched::Replaced),
                    (false, false) => None,
                };
                (c, matched)
            }
        };
        Ok(self
            .store
            .transaction(|tx| cx.settle(tx, clock.now(), &checked, matched))?)
    }
}

impl Ctx<'_> {
    /// Phase 1: find the verification, refuse a locked number, apply the gate and count the
    /// attempt (and, provisionally, a failure).
    fn admit(&self, tx: &mut dyn Tx, now: DateTime<Utc>, which: Which<'_>) -> StoreResult<Step> {
        let ch = match self.resolve(tx, which, now)? {
            Target::One(ch) => ch,
            Target::Many(n) => return Ok(Step::Done(Outcome::PhoneRequired { pending: n })),
            Target::None => return self.decoy(tx),
        };
        let number = tx.number_state(&self.secrets.phone_key(ch.phone.e164()))?;
        if let Some(o) = self.number_locked(tx, now, &ch, &number)? {
            return Ok(Step::Done(o));
        }
        self.gate(tx, now, *ch, number)
    }

    /// Nothing this caller may check. A real check writes before its hash (the attempt) and
    /// after it (the result); so does a decoy: a count of checks against nothing, and its
    /// audit row after the hash. An unknown number, another station's, a wrong and an expired
    /// code thus make the same two durable commits, and timing tells nothing.
    fn decoy(&self, tx: &mut dyn Tx) -> StoreResult<Step> {
        tx.bump_counter("decoy_checks")?;
        Ok(Step::Decoy)
    }

    /// A number locked by wrong codes across codes is refused without a hash (audited).
    fn number_locked(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        ch: &Challenge,
        number: &NumberState,
    ) -> StoreResult<Option<Outcome>> {
        let Some(wait) = self.limits.number_lock(number, now) else {
            return Ok(None);
        };
        let (limit, how) = match wait {
            Wait::For(d) => (
                Limit::NumberLocked,
                format!("retry after {} s", ceil_seconds(d)),
            ),
            _ => (Limit::NumberNeedsUnlock, "needs an operator".to_string()),
        };
        let detail = format!(
            "number locked after {} wrong codes in a row ({}); {how}",
            number.failures,
            limit.key()
        );
        self.record(tx, now, Event::Locked, Some(&ch.phone), Some(ch.id), detail)?;
        Ok(Some(Outcome::NumberLocked {
            phone: ch.phone.clone(),
            consecutive_failures: number.failures,
            retry_after_seconds: wait_seconds(wait),
            operator_action: operator_action(limit),
        }))
    }

    /// The verification's own gate: count the attempt (and provisionally a failure), or
    /// refuse a spent budget.
    fn gate(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        ch: Challenge,
        number: NumberState,
    ) -> StoreResult<Step> {
        let locked = |detail: &str, tx: &mut dyn Tx| -> StoreResult<Step> {
            self.record(tx, now, Event::Locked, Some(&ch.phone), Some(ch.id), detail)?;
            Ok(Step::Done(Outcome::Locked {
                phone: ch.phone.clone(),
            }))
        };
        let check = |ch, gate, provisional| {
            Ok(Step::Check(Box::new(Checked {
                ch,
                gate,
                provisional,
            })))
        };
        match ch.verify_gate(now) {
            Gate::Attempt => {
                if !tx.count_attempt(ch.id, ch.generation)? {
                    // Spent or replaced since it was read (not possible inside the write
                    // lock, but the conditional update is the guarantee, not the read).
                    return locked("", tx);
                }
                let effect = self.limits.after_failure(&number, now);
                let key = self.secrets.phone_key(ch.phone.e164());
                tx.record_failure(&key, &ch.phone, &effect)?;
                let provisional = Provisional {
                    before: number,
                    effect,
                };
                check(ch, Gate::Attempt, Some(provisional))
            }
            Gate::Locked => locked("attempt budget spent", tx),
            Gate::Expired => {
                // Counted like any attempt, so an expired code makes the same two durable
                // commits as a right or wrong one and its timing does not stand out.
                tx.count_attempt(ch.id, ch.generation)?;
                check(ch, Gate::Expired, None)
            }
            Gate::AlreadyApproved => check(ch, Gate::AlreadyApproved, None),
            Gate::Closed => self.decoy(tx),
        }
    }

    /// Phase 3: record the result; accepting is a conditional update that exactly one caller
    /// wins.
    fn settle(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        c: &Checked,
        matched: Option<Matched>,
    ) -> StoreResult<Outcome> {
        let ch = &c.ch;
        let matches = matched.is_some();
        let which = match matched {
            Some(Matched::Replaced) => "; the code a resend replaced",
            _ => "",
        };
        let phone = ch.phone.clone();
        let (event, outcome, detail) = match c.gate {
            Gate::Expired => (Event::Expired, Outcome::Expired { phone }, String::new()),
            Gate::AlreadyApproved if matches => (
                Event::AlreadyUsed,
                Outcome::AlreadyUsed { phone },
                String::new(),
            ),
            Gate::AlreadyApproved => (
                Event::NoPending,
                Outcome::NoPending { phone: Some(phone) },
                "already verified; wrong code".into(),
            ),
            _ if matches && tx.consume(ch.id, ch.generation, now)? => (
                Event::Approved,
                Outcome::Approved { phone },
                format!("attempt {}{which}", ch.attempts + 1),
            ),
            _ => self.not_accepted(tx, now, ch, matches)?,
        };
        self.record(tx, now, event, Some(&ch.phone), Some(ch.id), detail)?;
        self.count_result(tx, now, c, event)?;
        Ok(outcome)
    }

    /// A wrong code, or a right one that could not be accepted: the row as it is now says why.
    fn not_accepted(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        ch: &Challenge,
        matches: bool,
    ) -> StoreResult<Verdict> {
        let phone = ch.phone.clone();
        Ok(match tx.challenge(ch.id)? {
            // Someone else accepted this very code first.
            Some(r) if matches && r.state == State::Approved => (
                Event::AlreadyUsed,
                Outcome::AlreadyUsed { phone },
                "lost the race to another terminal".into(),
            ),
            Some(r) if matches && r.generation != ch.generation => (
                Event::Invalid,
                Outcome::Invalid {
                    phone,
                    attempts_left: r.attempts_left(),
                },
                "code replaced by a resend".into(),
            ),
            Some(r) if matches && r.is_expired(now) => {
                (Event::Expired, Outcome::Expired { phone }, String::new())
            }
            Some(r) => (
                Event::Invalid,
                Outcome::Invalid {
                    phone,
                    attempts_left: r.attempts_left(),
                },
                format!("attempt {} of {}", r.attempts, r.max_attempts),
            ),
            None => (
                Event::NoPending,
                Outcome::NoPending { phone: Some(phone) },
                String::new(),
            ),
        })
    }

    /// Verify's failure accounting across codes. The failure counted at admission stands for
    /// a wrong code (audited when it locked the number) and is undone for anything else; an
    /// approval then converts the send and resets the number.
    fn count_result(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        c: &Checked,
        event: Event,
    ) -> StoreResult<()> {
        let phone = &c.ch.phone;
        let key = self.secrets.phone_key(phone.e164());
        if let Some(p) = &c.provisional {
            if event != Event::Invalid {
                undo_failure(tx, &key, phone, p)?;
            } else if p.effect.newly_locked {
                self.audit_lock(tx, now, phone, c.ch.id, &p.effect)?;
            }
        }
        if event == Event::Approved {
            tx.record_success(&key, c.ch.id)?;
        }
        Ok(())
    }

    /// Audits that a wrong code locked the number.
    fn audit_lock(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        challenge_id: i64,
        effect: &FailureEffect,
    ) -> StoreResult<()> {
        let how = match effect.locked_until {
            _ if effect.needs_unlock => {
                "until an operator runs otpd unlock (limits.failures_before_unlock)".to_string()
            }
            Some(until) => format!(
                "for {} s (limits.max_failures_per_number)",
                ceil_seconds(until - now)
            ),
            None => String::new(),
        };
        let detail = format!("{} wrong codes in a row; locked {how}", effect.failures);
        let id = Some(challenge_id);
        self.record(tx, now, Event::NumberLocked, Some(phone), id, detail)
    }
}

/// Takes back a failure counted at admission: one failure fewer and, if it imposed a lock, the
/// lock the number had before. (While that lock held every other guess was refused unseen, so
/// nothing else can have changed the lock meanwhile; an operator's unlock only clears more.)
fn undo_failure(
    tx: &mut dyn Tx,
    key: &str,
    phone: &PhoneNumber,
    p: &Provisional,
) -> StoreResult<()> {
    let now = tx.number_state(key)?;
    let (locked_until, needs_unlock) = if p.effect.newly_locked {
        (p.before.locked_until, p.before.needs_unlock)
    } else {
        (now.locked_until, now.needs_unlock)
    };
    let restored = FailureEffect {
        failures: now.failures.saturating_sub(1),
        locked_until,
        needs_unlock,
        newly_locked: false,
    };
    tx.record_failure(key, phone, &restored)
}

//! `verify CODE [PHONE]` in three phases: admit (find the verification, refuse a locked number,
//! apply the gate and count the attempt — one short write transaction), hash outside any lock
//! (against a decoy when there is nothing to compare, so timing tells nothing), then settle
//! (accept with a conditional update exactly one caller wins, audit, and count the result
//! towards the number's lock-out — a second short transaction).

use chrono::{DateTime, Utc};

use super::refusal::{operator_action, wait_seconds};
use super::{Ctx, Result, Service, Target};
use crate::domain::challenge::ceil_seconds;
use crate::domain::limits::{Limit, Wait};
use crate::domain::{Challenge, Code, Gate, Outcome, PhoneNumber, State};
use crate::store::audit::Event;
use crate::store::{StoreError, Tx};

type StoreResult<T> = std::result::Result<T, StoreError>;

/// What admission decided.
enum Step {
    /// Answered without a hash.
    Done(Outcome),
    /// Compare the code with this verification's hash; the gate says what a match means.
    Check(Box<Challenge>, Gate),
    /// Nothing to compare with: hash against a decoy, then say "nothing pending".
    Decoy,
}

/// A settled attempt: the audit event, the answer and the event's detail.
type Verdict = (Event, Outcome, String);

impl Service<'_> {
    /// `verify CODE [PHONE]`.
    pub fn verify(
        &mut self,
        now: DateTime<Utc>,
        phone: Option<&PhoneNumber>,
        code: &Code,
    ) -> Result<Outcome> {
        let cx = self.cx;
        let step = self.store.transaction(|tx| cx.admit(tx, now, phone))?;
        // Expired and unknown codes are hashed too, so timing does not tell them apart.
        let (ch, gate, matches) = match step {
            Step::Done(o) => return Ok(o),
            Step::Decoy => {
                let decoy = cx.hasher.decoy();
                let _ = cx.hasher.verify(code, &decoy);
                return self.no_pending(now, phone);
            }
            Step::Check(ch, gate) => {
                let ok = cx.hasher.verify(code, &ch.code_hash);
                (ch, gate, ok)
            }
        };
        Ok(self
            .store
            .transaction(|tx| cx.settle(tx, now, &ch, gate, matches))?)
    }
}

impl Ctx<'_> {
    /// Phase 1: find the verification, refuse a locked number, apply the gate and count the
    /// attempt.
    fn admit(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: Option<&PhoneNumber>,
    ) -> StoreResult<Step> {
        let ch = match self.resolve(tx, phone, now)? {
            Target::One(ch) => ch,
            Target::Many(n) => return Ok(Step::Done(Outcome::PhoneRequired { pending: n })),
            Target::None => return Ok(Step::Decoy),
        };
        if let Some(o) = self.number_locked(tx, now, &ch)? {
            return Ok(Step::Done(o));
        }
        self.gate(tx, now, ch)
    }

    /// A number locked by wrong codes across codes is refused without a hash (audited).
    fn number_locked(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        ch: &Challenge,
    ) -> StoreResult<Option<Outcome>> {
        let number = tx.number_state(&self.secrets.phone_key(ch.phone.e164()))?;
        let Some(wait) = self.limits.number_lock(&number, now) else {
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

    /// The verification's own gate: count the attempt, or refuse a spent budget.
    fn gate(&self, tx: &mut dyn Tx, now: DateTime<Utc>, ch: Box<Challenge>) -> StoreResult<Step> {
        let locked = |detail: &str, tx: &mut dyn Tx| -> StoreResult<Step> {
            self.record(tx, now, Event::Locked, Some(&ch.phone), Some(ch.id), detail)?;
            Ok(Step::Done(Outcome::Locked {
                phone: ch.phone.clone(),
            }))
        };
        match ch.verify_gate(now) {
            Gate::Attempt => {
                if tx.count_attempt(ch.id, ch.generation)? {
                    Ok(Step::Check(ch, Gate::Attempt))
                } else {
                    // Spent or replaced since it was read (not possible inside the write
                    // lock, but the conditional update is the guarantee, not the read).
                    locked("", tx)
                }
            }
            Gate::Locked => locked("attempt budget spent", tx),
            Gate::Expired => {
                // Counted like any attempt, so an expired code makes the same two durable
                // commits as a right or wrong one and its timing does not stand out.
                tx.count_attempt(ch.id, ch.generation)?;
                Ok(Step::Check(ch, Gate::Expired))
            }
            Gate::AlreadyApproved => Ok(Step::Check(ch, Gate::AlreadyApproved)),
            Gate::Closed => Ok(Step::Decoy),
        }
    }

    /// Phase 3: record the result; accepting is a conditional update that exactly one caller
    /// wins.
    fn settle(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        ch: &Challenge,
        gate: Gate,
        matches: bool,
    ) -> StoreResult<Outcome> {
        let phone = ch.phone.clone();
        let (event, outcome, detail) = match gate {
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
                format!("attempt {}", ch.attempts + 1),
            ),
            _ => self.not_accepted(tx, now, ch, matches)?,
        };
        self.record(tx, now, event, Some(&ch.phone), Some(ch.id), detail)?;
        self.count_result(tx, now, &ch.phone, ch.id, event)?;
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

    /// Verify's failure accounting across codes: a wrong code counts towards the number's
    /// lock-out (audited when it locks); an approval converts the send and resets the number.
    fn count_result(
        &self,
        tx: &mut dyn Tx,
        now: DateTime<Utc>,
        phone: &PhoneNumber,
        challenge_id: i64,
        event: Event,
    ) -> StoreResult<()> {
        let key = self.secrets.phone_key(phone.e164());
        match event {
            Event::Approved => tx.record_success(&key, challenge_id),
            Event::Invalid => {
                let before = tx.number_state(&key)?;
                let effect = self.limits.after_failure(&before, now);
                tx.record_failure(&key, phone, &effect)?;
                if !effect.newly_locked {
                    return Ok(());
                }
                let how = match effect.locked_until {
                    _ if effect.needs_unlock => {
                        "until an operator runs otpd unlock (limits.failures_before_unlock)"
                            .to_string()
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
            _ => Ok(()),
        }
    }
}

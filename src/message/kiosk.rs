//! The kiosk's visitor screens in one locale: the questions, the answers a visitor may type in
//! their language ("llamada", "reenviar"), and the outcomes a visitor can meet, worded for the
//! public. The texts come from the locale's `[kiosk]` table.

use serde::Deserialize;

use super::fold::fold;
use super::template::fill;
use super::when::{duration, local_time};
use crate::domain::limits::Limit;
use crate::domain::{Channel, Outcome};

/// A word per channel: what a visitor types, or how a sentence names it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelWords {
    sms: String,
    whatsapp: String,
    call: String,
}

impl ChannelWords {
    fn get(&self, c: Channel) -> &str {
        match c {
            Channel::Sms => &self.sms,
            Channel::Whatsapp => &self.whatsapp,
            Channel::Call => &self.call,
        }
    }
}

/// Every text a kiosk visitor reads, from one locale file. Placeholders in braces are filled
/// here; the file's comments say which each text takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskTexts {
    pub(super) choose_language: String,
    not_a_language: String,
    welcome: String,
    ask_phone: String,
    ask_phone_national: String,
    not_a_phone: String,
    not_a_phone_national: String,
    ask_channel: String,
    or: String,
    channels: ChannelWords,
    by: ChannelWords,
    ask_code: String,
    ask_code_or_resend: String,
    resend: String,
    undelivered: String,
    not_a_code: String,
    wrong_length: String,
    done: String,
    start_over: String,
    ask_staff: String,
    unavailable: String,
    number_refused: String,
    wait: String,
    country_blocked: String,
    not_confirmed: String,
    sent: String,
    sent_again: String,
    invalid_phone: String,
    approved: String,
    wrong_code: String,
    wrong_code_last: String,
    attempts_none: String,
    attempts_one: String,
    attempts_other: String,
    expired: String,
    locked: String,
    already_used: String,
    no_pending: String,
}

impl KioskTexts {
    pub fn welcome(&self) -> &str {
        &self.welcome
    }

    /// An answer to the language menu that names none of its languages.
    pub fn not_a_language(&self) -> &str {
        &self.not_a_language
    }

    /// The kiosk cannot send codes now (its server cannot be reached, an error): the
    /// operator's reason goes to the log, not to the public.
    pub fn unavailable(&self) -> &str {
        &self.unavailable
    }

    /// The number question; `national_example` (e.g. "(201) 555-0123") when the station reads
    /// national numbers of its region.
    pub fn ask_phone(&self, national_example: Option<&str>) -> String {
        match national_example {
            Some(example) => fill(&self.ask_phone_national, &[("example", example)]),
            None => self.ask_phone.clone(),
        }
    }

    /// After an answer that was not a number.
    pub fn not_a_phone(&self, national: bool) -> &str {
        if national {
            &self.not_a_phone_national
        } else {
            &self.not_a_phone
        }
    }

    /// "How should we send the code? Type sms or whatsapp or call:", in the visitor's words.
    pub fn ask_channel(&self, channels: &[Channel]) -> String {
        let names: Vec<&str> = channels.iter().map(|&c| self.channels.get(c)).collect();
        let choices = names.join(&format!(" {} ", self.or));
        fill(&self.ask_channel, &[("choices", &choices)])
    }

    /// The provider could not deliver the code `by` this channel: type the call word for a call.
    pub fn undelivered(&self, by: Channel) -> String {
        fill(
            &self.undelivered,
            &[
                ("by", self.by.get(by)),
                ("call", self.channels.get(Channel::Call)),
            ],
        )
    }

    /// The channel an answer names, among `channels`: the visitor's word ("llamada", or
    /// "ligacao" for "ligação") or otpd's own (`call`).
    pub fn parse_channel(&self, answer: &str, channels: &[Channel]) -> Option<Channel> {
        let folded = fold(answer.trim());
        let own = channels
            .iter()
            .copied()
            .find(|&c| fold(self.channels.get(c)) == folded);
        own.or_else(|| answer.parse::<Channel>().ok())
            .filter(|c| channels.contains(c))
    }

    pub fn ask_code(&self, resend_allowed: bool) -> String {
        if resend_allowed {
            fill(&self.ask_code_or_resend, &[("resend", &self.resend)])
        } else {
            self.ask_code.clone()
        }
    }

    /// Whether an answer asks for a new code: the visitor's word or `resend`.
    pub fn is_resend(&self, answer: &str) -> bool {
        let answer = answer.trim();
        answer.eq_ignore_ascii_case("resend") || fold(answer) == fold(&self.resend)
    }

    /// How a sentence names a channel ("by SMS"): the page's channel buttons.
    pub fn by(&self, c: Channel) -> &str {
        self.by.get(c)
    }

    pub fn not_a_code(&self) -> &str {
        &self.not_a_code
    }

    /// Digits of a length the code cannot have (`{digits}`: the codes' length).
    pub fn wrong_length(&self, digits: usize) -> String {
        fill(&self.wrong_length, &[("digits", &digits.to_string())])
    }

    pub fn done(&self, seconds: u64) -> String {
        let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
        fill(&self.done, &[("wait", &duration(seconds))])
    }

    pub fn start_over(&self) -> &str {
        &self.start_over
    }

    fn attempts(&self, n: u32) -> String {
        match n {
            0 => self.attempts_none.clone(),
            1 => self.attempts_one.clone(),
            n => fill(&self.attempts_other, &[("n", &n.to_string())]),
        }
    }

    /// What a visitor reads for an outcome, or `None` for one a visitor should not meet
    /// (the caller falls back to the operator's sentence).
    pub fn outcome(&self, o: &Outcome) -> Option<String> {
        let with_phone = |text: &str, phone: &dyn std::fmt::Display| {
            fill(text, &[("phone", &phone.to_string())])
        };
        Some(match o {
            Outcome::Sent {
                phone,
                channel,
                code_length,
                expires_at,
                expires_in_seconds,
                attempts_left,
                resent,
                ..
            } => fill(
                if *resent {
                    &self.sent_again
                } else {
                    &self.sent
                },
                &[
                    ("digits", &code_length.to_string()),
                    ("by", self.by.get(*channel)),
                    ("phone", &phone.to_string()),
                    ("time", &local_time(*expires_at)),
                    ("wait", &duration(*expires_in_seconds)),
                    ("attempts", &self.attempts(*attempts_left)),
                ],
            ),
            Outcome::RateLimited {
                operator_action: Some(_),
                ..
            }
            | Outcome::NumberLocked {
                operator_action: Some(_),
                ..
            } => self.ask_staff.clone(),
            // Limits on sends to many numbers: nothing this visitor can wait out.
            Outcome::RateLimited {
                limit: Some(Limit::PrefixHour | Limit::StationHour | Limit::GlobalHour),
                ..
            } => self.unavailable.clone(),
            Outcome::RateLimited {
                retry_after_seconds,
                ..
            }
            | Outcome::NumberLocked {
                retry_after_seconds,
                ..
            } => fill(&self.wait, &[("wait", &duration(*retry_after_seconds))]),
            Outcome::CountryBlocked { .. } => self.country_blocked.clone(),
            Outcome::NumberTypeBlocked { .. } => self.number_refused.clone(),
            Outcome::DeliveryFailed { .. } | Outcome::DeliveryUnknown { .. } => {
                self.not_confirmed.clone()
            }
            Outcome::InvalidPhone { error } => fill(&self.invalid_phone, &[("error", error)]),
            Outcome::Approved { phone } => with_phone(&self.approved, phone),
            Outcome::Invalid {
                attempts_left: 0, ..
            } => self.wrong_code_last.clone(),
            Outcome::Invalid { attempts_left, .. } => fill(
                &self.wrong_code,
                &[("attempts", &self.attempts(*attempts_left))],
            ),
            Outcome::Expired { phone } => with_phone(&self.expired, phone),
            Outcome::Locked { phone } => with_phone(&self.locked, phone),
            Outcome::AlreadyUsed { phone } => with_phone(&self.already_used, phone),
            Outcome::NoPending { phone: Some(phone) } => with_phone(&self.no_pending, phone),
            _ => return None,
        })
    }
}

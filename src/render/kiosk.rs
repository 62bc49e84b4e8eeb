//! What a kiosk visitor reads for an outcome their locale file has no sentence for: the
//! operator's sentence, reworded where it would show the public internals or give nothing to act
//! on. The kiosk's questions and everything else a visitor reads live in the locale files
//! (`src/message/locales/*.toml`), not here.

use super::{duration, text};
use crate::domain::Outcome;

/// What a kiosk visitor reads for an outcome: the operator's sentence, except where that would
/// show the public internals (limit names, provider errors) or give nothing to act on.
pub fn outcome(o: &Outcome) -> String {
    match o {
        Outcome::RateLimited {
            operator_action: Some(_),
            ..
        }
        | Outcome::NumberLocked {
            operator_action: Some(_),
            ..
        } => "Sorry, codes cannot be sent to this number right now. Please ask a member of staff."
            .into(),
        Outcome::RateLimited {
            retry_after_seconds,
            ..
        }
        | Outcome::NumberLocked {
            retry_after_seconds,
            ..
        } => format!(
            "Please wait {} before asking for another code.",
            duration(*retry_after_seconds)
        ),
        Outcome::CountryBlocked { .. } => {
            "Sorry, we cannot send codes to numbers from that country here.".into()
        }
        Outcome::DeliveryFailed { .. } | Outcome::DeliveryUnknown { .. } => {
            "Sorry, we could not confirm that the code was sent. Please try again, or ask a member of staff."
                .into()
        }
        other => text(other),
    }
}

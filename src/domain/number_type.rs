//! What kind of number a phone number is, as the numbering plan says offline (issue 15): the
//! names `[limits] refuse_types` uses, and the parser for that list.

use std::fmt;
use std::str::FromStr;

/// The type the numbering plan gives a number. Names (`as_str`, `Display`, serde) are stable
/// snake_case: configuration, JSON output and the audit log use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NumberType {
    Mobile,
    FixedLine,
    /// The plan cannot tell fixed from mobile (the US and Canada, among others).
    FixedLineOrMobile,
    Voip,
    TollFree,
    PremiumRate,
    SharedCost,
    /// Universal access number (a company's one national number).
    Uan,
    Pager,
    PersonalNumber,
    Voicemail,
    Unknown,
}

impl NumberType {
    /// Every type, in the order the names are listed to people.
    pub const ALL: [NumberType; 12] = [
        Self::Mobile,
        Self::FixedLine,
        Self::FixedLineOrMobile,
        Self::Voip,
        Self::TollFree,
        Self::PremiumRate,
        Self::SharedCost,
        Self::Uan,
        Self::Pager,
        Self::PersonalNumber,
        Self::Voicemail,
        Self::Unknown,
    ];

    /// `[limits] refuse_types` when unset: premium ranges are where SMS-pumping revenue comes
    /// from; shared-cost and UAN numbers also bill the caller's side.
    pub const DEFAULT_REFUSED: [NumberType; 3] = [Self::PremiumRate, Self::SharedCost, Self::Uan];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::FixedLine => "fixed_line",
            Self::FixedLineOrMobile => "fixed_line_or_mobile",
            Self::Voip => "voip",
            Self::TollFree => "toll_free",
            Self::PremiumRate => "premium_rate",
            Self::SharedCost => "shared_cost",
            Self::Uan => "uan",
            Self::Pager => "pager",
            Self::PersonalNumber => "personal_number",
            Self::Voicemail => "voicemail",
            Self::Unknown => "unknown",
        }
    }

    /// Words for people, e.g. "premium-rate" in "Not sent: +44 ••• is a premium-rate number".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Mobile => "mobile",
            Self::FixedLine => "fixed-line",
            Self::FixedLineOrMobile => "fixed-line or mobile",
            Self::Voip => "VoIP",
            Self::TollFree => "toll-free",
            Self::PremiumRate => "premium-rate",
            Self::SharedCost => "shared-cost",
            Self::Uan => "universal access (UAN)",
            Self::Pager => "pager",
            Self::PersonalNumber => "personal",
            Self::Voicemail => "voicemail",
            Self::Unknown => "unknown-type",
        }
    }

    /// True for a number the plan knows to be fixed-line only: an SMS cannot reach it
    /// (`[delivery] fixed_line_channel` decides what to do instead). `fixed_line_or_mobile` is
    /// not: it may well be a mobile.
    pub fn is_fixed_line(self) -> bool {
        self == Self::FixedLine
    }

    /// Parses a list such as `[limits] refuse_types`: every name must be known (a typo must not
    /// silently let premium numbers through); duplicates are dropped, order kept.
    pub fn parse_list<S: AsRef<str>>(names: &[S]) -> Result<Vec<NumberType>, NumberTypeError> {
        let mut out = Vec::with_capacity(names.len());
        for name in names {
            let t = name.as_ref().parse::<NumberType>()?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(out)
    }

    fn from_plan(t: phonenumber::Type) -> Self {
        use phonenumber::Type as T;
        match t {
            T::Mobile => Self::Mobile,
            T::FixedLine => Self::FixedLine,
            T::FixedLineOrMobile => Self::FixedLineOrMobile,
            T::Voip => Self::Voip,
            T::TollFree => Self::TollFree,
            T::PremiumRate => Self::PremiumRate,
            T::SharedCost => Self::SharedCost,
            T::Uan => Self::Uan,
            T::Pager => Self::Pager,
            T::PersonalNumber => Self::PersonalNumber,
            T::Voicemail => Self::Voicemail,
            // phonenumber's classifier never returns these for a full number (they are
            // short-number and metadata categories); if it ever did, "unknown" is the
            // honest name.
            T::Emergency
            | T::ShortCode
            | T::StandardRate
            | T::Carrier
            | T::NoInternational
            | T::Unknown => Self::Unknown,
        }
    }
}

impl From<phonenumber::Type> for NumberType {
    fn from(t: phonenumber::Type) -> Self {
        Self::from_plan(t)
    }
}

/// `[delivery] fixed_line_channel`: what a send by SMS to a number the plan knows to be
/// fixed-line does, since an SMS cannot reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FixedLineChannel {
    /// Call instead: the code is read out by a voice call (the default).
    #[default]
    Call,
    /// Send the SMS anyway (for a provider that turns SMS to landlines into calls itself).
    Sms,
    /// Refuse the send as `number_type_blocked`.
    Refuse,
}

impl FixedLineChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "call",
            Self::Sms => "sms",
            Self::Refuse => "refuse",
        }
    }
}

/// A name that is not one of [`NumberType::ALL`]; the message lists the accepted names.
/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NumberTypeError(pub String);

impl FromStr for NumberType {
    type Err = NumberTypeError;

    /// Exact snake_case names; surrounding spaces and case are forgiven.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        NumberType::ALL
            .into_iter()
            .find(|t| t.as_str() == wanted)
            .ok_or_else(|| NumberTypeError(crate::sanitize::sanitize(s)))
    }
}

impl fmt::Display for NumberType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for NumberType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for NumberType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_snake_case() {
        for t in NumberType::ALL {
            assert_eq!(t.as_str().parse::<NumberType>(), Ok(t));
            assert_eq!(t.to_string(), t.as_str());
            assert!(
                t.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{t}"
            );
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(serde_json::from_str::<NumberType>(&json).unwrap(), t);
        }
        assert_eq!(
            " Premium_Rate ".parse::<NumberType>(),
            Ok(NumberType::PremiumRate)
        );
    }

    #[test]
    fn the_default_refusal_list_parses_from_its_config_names() {
        let names = ["premium_rate", "shared_cost", "uan"];
        assert_eq!(
            NumberType::parse_list(&names).unwrap(),
            NumberType::DEFAULT_REFUSED.to_vec()
        );
        let empty: [&str; 0] = [];
        assert_eq!(NumberType::parse_list(&empty).unwrap(), vec![]);
        assert_eq!(
            NumberType::parse_list(&["uan", "voip", "uan"]).unwrap(),
            vec![NumberType::Uan, NumberType::Voip]
        );
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_accepted_ones() {
        let err = NumberType::parse_list(&["premium_rate", "premium"]).unwrap_err();
        assert_eq!(err, NumberTypeError("premium".into()));
        let msg = err.to_string();
        assert!(
            msg.starts_with("\"premium\" is not a number type: use one of mobile, fixed_line,"),
            "{msg}"
        );
        assert!(msg.ends_with("voicemail, unknown"), "{msg}");
        let hostile = "x\u{1b}[2J".parse::<NumberType>().unwrap_err().to_string();
        assert!(!hostile.contains('\u{1b}'), "{hostile:?}");
        assert!(serde_json::from_str::<NumberType>("\"premium\"").is_err());
    }

    #[test]
    fn only_a_plain_fixed_line_counts_as_fixed_line() {
        let fixed: Vec<_> = NumberType::ALL
            .into_iter()
            .filter(|t| t.is_fixed_line())
            .collect();
        assert_eq!(fixed, vec![NumberType::FixedLine]);
    }
}

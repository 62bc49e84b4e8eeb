//! The ways a code can reach a phone.

use std::{fmt, str::FromStr};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    #[default]
    Sms,
    Whatsapp,
    Call,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Sms, Channel::Whatsapp, Channel::Call];

    /// The stored and typed name: `sms`, `whatsapp`, `call`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Whatsapp => "whatsapp",
            Channel::Call => "call",
        }
    }

    /// How a sentence names it: "by SMS", "on WhatsApp", "by a voice call".
    pub fn by_phrase(self) -> &'static str {
        match self {
            Channel::Sms => "by SMS",
            Channel::Whatsapp => "on WhatsApp",
            Channel::Call => "by a voice call",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ChannelError(pub String);

impl FromStr for Channel {
    type Err = ChannelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sms" | "text" => Ok(Channel::Sms),
            "whatsapp" | "wa" => Ok(Channel::Whatsapp),
            "call" | "voice" => Ok(Channel::Call),
            _ => Err(ChannelError(crate::sanitize::truncate(
                &crate::sanitize::sanitize(s.trim()),
                20,
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_refuses_others_with_a_short_clean_echo() {
        let cases = [
            ("sms", Ok(Channel::Sms)),
            (" SMS ", Ok(Channel::Sms)),
            ("wa", Ok(Channel::Whatsapp)),
            ("voice", Ok(Channel::Call)),
            (
                "pigeon",
                Err("\"pigeon\" is not a channel: use sms, whatsapp or call"),
            ),
            (
                "\x1b[2Jx",
                Err("\"\u{FFFD}[2Jx\" is not a channel: use sms, whatsapp or call"),
            ),
        ];
        for (input, want) in cases {
            let got = input.parse::<Channel>().map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(str::to_string), "{input:?}");
        }
        let long = "x"
            .repeat(100_000)
            .parse::<Channel>()
            .unwrap_err()
            .to_string();
        assert!(long.len() < 100, "{long}");
    }
}

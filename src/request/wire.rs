//! The wire between a remote terminal and `otpd serve`'s `POST /otpd/v1/execute`, both ways:
//! a [`Request`] as plain JSON values (the full number, the code's digits, the locale's tag)
//! that become the same typed request on the server, and the [`Outcome`] that comes back with
//! its numbers in full ([`WireOutcome`]), which the terminal masks when it renders. There is no
//! station field: the server acts as the station of the key that signed the request. No
//! `Debug`: a request carries a code.

use serde::{Deserialize, Serialize};

use super::Request;
use crate::domain::{Channel, Code, Outcome, PhoneNumber};
use crate::message::{AppHash, Locale};

/// One request as it crosses the network, `{"request": "send", …}`.
#[derive(Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case", deny_unknown_fields)]
pub enum Wire {
    Send {
        phone: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<Channel>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locale: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        app_hash: Option<String>,
    },
    Resend {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        locale: Option<String>,
    },
    Verify {
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
    },
    Status {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
    },
    Cancel {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
    },
    Limits {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone: Option<String>,
    },
    ResumeSending,
    Unlock {
        phone: String,
    },
    /// `audit …`: the words after `audit`, and whether the answer is JSON lines.
    Audit {
        words: Vec<String>,
        json: bool,
        /// The terminal's time zone (an IANA name), for the times shown and read; absent:
        /// the server's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        zone: Option<String>,
    },
    /// The key's station (a prompt or a kiosk asks once at start: it names the station, and a
    /// dead server or a revoked key stops it before a visitor arrives).
    Station,
}

/// A number in full (E.164) on the wire, read back only from a full number. Only the answer
/// to an authenticated remote terminal carries one: the terminal goes on with the number
/// (`verify` after `send`) and masks it when it shows it. Everywhere else a [`PhoneNumber`]
/// serialises masked and is never read back.
pub struct FullNumber(pub PhoneNumber);

impl Serialize for FullNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.e164())
    }
}

impl<'de> Deserialize<'de> for FullNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PhoneNumber::parse(&s)
            .map(FullNumber)
            .map_err(|_| serde::de::Error::custom("not a full phone number"))
    }
}

/// An outcome as it crosses the network: `{"outcome": "sent", "phone": "+14155552671", …}`.
pub type WireOutcome = Outcome<FullNumber>;

/// The wire form of an outcome (numbers in full).
pub fn outcome_to_wire(o: Outcome) -> WireOutcome {
    match o.map_numbers(|p| Ok::<_, std::convert::Infallible>(FullNumber(p))) {
        Ok(w) => w,
        Err(never) => match never {},
    }
}

/// The core's outcome again, from its wire form.
pub fn outcome_from_wire(o: WireOutcome) -> Outcome {
    match o.map_numbers(|f| Ok::<_, std::convert::Infallible>(f.0)) {
        Ok(o) => o,
        Err(never) => match never {},
    }
}

/// What a wire request asks for once read.
pub enum WireAsk {
    Run(Request),
    Audit {
        words: Vec<String>,
        json: bool,
        zone: Option<String>,
    },
    Station,
}

fn e164(p: &PhoneNumber) -> String {
    p.e164().to_string()
}

impl Wire {
    /// The wire form of a typed request.
    pub fn of(r: &Request) -> Wire {
        let tag = |l: &Option<&'static Locale>| l.map(|l| l.tag().to_string());
        match r {
            Request::Send {
                phone,
                channel,
                locale,
                app_hash,
            } => Wire::Send {
                phone: e164(phone),
                channel: *channel,
                locale: tag(locale),
                app_hash: app_hash.as_ref().map(|h| h.as_str().to_string()),
            },
            Request::Resend { phone, locale } => Wire::Resend {
                phone: phone.as_ref().map(e164),
                locale: tag(locale),
            },
            Request::Verify { code, phone } => Wire::Verify {
                code: code.expose_digits().to_string(),
                phone: phone.as_ref().map(e164),
            },
            Request::Status { phone } => Wire::Status {
                phone: phone.as_ref().map(e164),
            },
            Request::Cancel { phone } => Wire::Cancel {
                phone: phone.as_ref().map(e164),
            },
            Request::Limits { phone } => Wire::Limits {
                phone: phone.as_ref().map(e164),
            },
            Request::ResumeSending => Wire::ResumeSending,
            Request::Unlock { phone } => Wire::Unlock { phone: e164(phone) },
        }
    }

    /// The typed request; `Err` names the field that is not what a terminal sends.
    pub fn read(self) -> Result<WireAsk, &'static str> {
        let phone = |p: String| PhoneNumber::parse(&p).map_err(|_| "phone");
        let maybe = |p: Option<String>| p.map(phone).transpose();
        let locale =
            |l: Option<String>| l.map(|l| Locale::get(&l).map_err(|_| "locale")).transpose();
        Ok(WireAsk::Run(match self {
            Wire::Send {
                phone: p,
                channel,
                locale: l,
                app_hash,
            } => Request::Send {
                phone: phone(p)?,
                channel,
                locale: locale(l)?,
                app_hash: app_hash
                    .map(|h| AppHash::parse(&h).map_err(|_| "app_hash"))
                    .transpose()?,
            },
            Wire::Resend { phone, locale: l } => Request::Resend {
                phone: maybe(phone)?,
                locale: locale(l)?,
            },
            Wire::Verify { code, phone } => Request::Verify {
                code: Code::parse(&zeroize::Zeroizing::new(code)).map_err(|_| "code")?,
                phone: maybe(phone)?,
            },
            Wire::Status { phone } => Request::Status {
                phone: maybe(phone)?,
            },
            Wire::Cancel { phone } => Request::Cancel {
                phone: maybe(phone)?,
            },
            Wire::Limits { phone } => Request::Limits {
                phone: maybe(phone)?,
            },
            Wire::ResumeSending => Request::ResumeSending,
            Wire::Unlock { phone: p } => Request::Unlock { phone: phone(p)? },
            Wire::Audit { words, json, zone } => return Ok(WireAsk::Audit { words, json, zone }),
            Wire::Station => return Ok(WireAsk::Station),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(r: &Request) -> Request {
        let text = serde_json::to_string(&Wire::of(r)).unwrap();
        let back: Wire = serde_json::from_str(&text).unwrap();
        match back.read() {
            Ok(WireAsk::Run(r)) => r,
            _ => panic!("not a request: {text}"),
        }
    }

    #[test]
    fn requests_survive_the_wire() {
        let phone = PhoneNumber::parse("+1 415 555 2671").unwrap();
        let sent = Request::Send {
            phone: phone.clone(),
            channel: Some(Channel::Sms),
            locale: Some(Locale::get("es").unwrap()),
            app_hash: None,
        };
        let Request::Send {
            phone: p, locale, ..
        } = round_trip(&sent)
        else {
            panic!()
        };
        assert_eq!(p.e164(), "+14155552671");
        assert_eq!(locale.map(Locale::tag), Some("es"));
        let verify = Request::Verify {
            code: Code::parse("123456").unwrap(),
            phone: None,
        };
        let Request::Verify { code, phone: None } = round_trip(&verify) else {
            panic!()
        };
        assert_eq!(code.expose_digits(), "123456");
    }

    #[test]
    fn outcomes_cross_the_wire_in_full_and_are_masked_everywhere_else() {
        let phone = PhoneNumber::parse("+1 415 555 2671").unwrap();
        let sent = Outcome::Approved {
            phone: phone.clone(),
        };
        let masked = serde_json::to_string(&sent).unwrap();
        assert!(!masked.contains("4155552671"), "{masked}");
        let wire = serde_json::to_string(&outcome_to_wire(sent)).unwrap();
        assert_eq!(wire, r#"{"outcome":"approved","phone":"+14155552671"}"#);
        let back: WireOutcome = serde_json::from_str(&wire).unwrap();
        let Outcome::Approved { phone: p } = outcome_from_wire(back) else {
            panic!()
        };
        assert_eq!(p.e164(), phone.e164());
        // A masked number (what any other JSON output holds) is not a number on the wire.
        assert!(serde_json::from_str::<WireOutcome>(&masked).is_err());
    }

    #[test]
    fn a_station_field_is_refused() {
        let text = r#"{"request":"status","station":"other desk"}"#;
        assert!(serde_json::from_str::<Wire>(text).is_err());
        let bad = r#"{"request":"verify","code":"12ab"}"#;
        let wire: Wire = serde_json::from_str(bad).unwrap();
        assert!(matches!(wire.read(), Err("code")));
    }
}

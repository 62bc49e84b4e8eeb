//! The sentences of the input errors raised below the core (a phone number, a code, a channel,
//! a region, a number type, a locale, a message template, an autofill setting, a secret file's
//! safety): the lower layers name what was wrong as a value, and this is where it is worded.

use std::fmt;

use crate::domain::channel::ChannelError;
use crate::domain::code::{CodeError, MAX_LEN, MIN_LEN};
use crate::domain::number_type::{NumberType, NumberTypeError};
use crate::domain::phone::PhoneError;
use crate::domain::region::RegionError;
use crate::message::template::MAX_TEMPLATE_CHARS;
use crate::message::{AutofillError, LocaleError, MessageError, TemplateError};
use crate::secret_file::SecretFileError;

/// Where a number goes in an example, so every sentence gives the same valid one.
const EXAMPLE: &str = "+1 415 555 2671";

impl fmt::Display for PhoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhoneError::Empty => write!(f, "a phone number is needed, e.g. {EXAMPLE}"),
            PhoneError::TooLong(s) => write!(f, "\"{s}\" is too long to be a phone number"),
            PhoneError::NoCountryCode(s) => write!(
                f,
                "\"{s}\" has no country code: start with + and the country code, e.g. {EXAMPLE}"
            ),
            PhoneError::Malformed(s) => write!(
                f,
                "\"{s}\" is not a phone number: use digits, spaces, dashes or brackets after +, e.g. {EXAMPLE}"
            ),
            PhoneError::Invalid(s) => write!(
                f,
                "\"{s}\" cannot exist in the numbering plan of its country; check the digits"
            ),
            PhoneError::InvalidIn(s, region) => write!(
                f,
                "\"{s}\" is not a valid number in {region}; check the digits, or start with + and the country code, e.g. {EXAMPLE}"
            ),
        }
    }
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Empty => write!(
                f,
                "a code is needed: type the {MIN_LEN} to {MAX_LEN} digits you received"
            ),
            CodeError::NotDigits => {
                f.write_str("a code is only digits 0-9 (spaces and dashes are fine)")
            }
            CodeError::Length(n) => {
                write!(f, "a code is {MIN_LEN} to {MAX_LEN} digits; that was {n}")
            }
            CodeError::WrongLength { expected, got } => {
                write!(f, "codes here have {expected} digits; that was {got}")
            }
            CodeError::Neither { expected, got } => write!(
                f,
                "{got} digits are neither a code (codes here have {expected} digits) nor a phone number (type one with + and its country code)"
            ),
        }
    }
}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not a channel: use sms, whatsapp or call",
            self.0
        )
    }
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::Shape(s) => write!(
                f,
                "\"{s}\" is not a region code: use an ISO 3166 two-letter code (alpha-2), e.g. US, GB, DE or IN"
            ),
            RegionError::Unknown(s) => write!(
                f,
                "\"{s}\" is not a region in the numbering plan: use an ISO 3166 two-letter code (alpha-2) of a country or territory, e.g. US, GB, DE or IN"
            ),
        }
    }
}

impl fmt::Display for NumberTypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = NumberType::ALL.iter().map(|t| t.as_str()).collect();
        write!(
            f,
            "\"{}\" is not a number type: use one of {}",
            self.0,
            names.join(", ")
        )
    }
}

impl fmt::Display for LocaleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocaleError::Unknown { given, known } => write!(
                f,
                "unknown locale \"{given}\": the built-in locales are {known}"
            ),
            LocaleError::Damaged { tag, detail } => {
                write!(f, "the built-in locale {tag} is damaged: {detail}")
            }
        }
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Template(e) => write!(f, "message.template: {e}"),
            MessageError::AppName(s) => write!(f, "message.app_name: {s}"),
            MessageError::WebOtpDomain(e) => write!(f, "message.webotp_domain: {e}"),
            MessageError::AppHash(e) => write!(f, "message.app_hash: {e}"),
            MessageError::Locale(e) => write!(f, "message.locale: {e}"),
        }
    }
}

impl fmt::Display for AutofillError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutofillError::Domain(s) => write!(
                f,
                "\"{s}\" is not a domain name: give the web site's host alone, like example.com (letters, digits, hyphens and dots; no https://, port or path)"
            ),
            AutofillError::AppHash(s) => write!(
                f,
                "an app hash is 11 characters of A-Z, a-z, 0-9, + and / (the hash Android's SMS Retriever computes for the app); that was {s}"
            ),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Empty => f.write_str(
                "the template is empty: write the message, with {code} where the code goes",
            ),
            TemplateError::MissingCode => {
                f.write_str("the template must contain {code}, where the code goes")
            }
            TemplateError::UnknownPlaceholder(name) => write!(
                f,
                "unknown placeholder {{{name}}}: the accepted placeholders are {{code}}, {{app}} and {{minutes}} (write {{{{ and }}}} for literal braces)"
            ),
            TemplateError::Unclosed(at) => write!(
                f,
                "the '{{' at character {at} is not closed: placeholders are {{code}}, {{app}} and {{minutes}} (write {{{{ for a literal brace)"
            ),
            TemplateError::StrayClose(at) => write!(
                f,
                "the '}}' at character {at} closes nothing (write }}}} for a literal brace)"
            ),
            TemplateError::Control(at) => write!(
                f,
                "the template has a control character at character {at}: only plain text and line breaks are accepted"
            ),
            TemplateError::TooLong(n) => write!(
                f,
                "the template is {n} characters long; the limit is {MAX_TEMPLATE_CHARS}"
            ),
            TemplateError::AppWithoutName => {
                f.write_str("the template uses {app} but message.app_name is not set")
            }
        }
    }
}

impl fmt::Display for SecretFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretFileError::Symlink => f.write_str(
                "it is a symbolic link, which otpd does not follow for secret files: name the file itself",
            ),
            SecretFileError::NotRegular => f.write_str("it is not a regular file"),
            SecretFileError::Owner { owner, me, path } => write!(
                f,
                "it is owned by user {owner}, not by the user running otpd ({me}); run `chown {me} {}` or run otpd as its owner",
                path.display()
            ),
            SecretFileError::Loose { mode, path } => write!(
                f,
                "it is readable by other users (mode {mode:o}); run `chmod 600 {}`",
                path.display()
            ),
            SecretFileError::Io(e) => write!(f, "{e}"),
        }
    }
}

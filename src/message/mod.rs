//! What a person receives, in their language: the SMS or WhatsApp text (a built-in locale's, or
//! the operator's `[message] template`), the voice call's TwiML, the autofill lines phones read,
//! and what the text costs in SMS segments. Pure: delivery, config and the kiosk call in.
//!
//! [`Composer::new`] checks `[message]` once at start-up; [`Composer::compose`] then builds each
//! message as a [`Body`], which holds the code and so is wiped on drop and never shown by Debug.

pub mod autofill;
mod fold;
pub mod kiosk;
pub mod kiosk_page;
pub mod locale;
pub mod segments;
pub mod template;
pub mod when;

use std::fmt;

use zeroize::Zeroizing;

use crate::domain::{Channel, Code};

pub use autofill::{AppHash, AutofillError, WebOtpDomain};
pub use kiosk::KioskTexts;
pub use locale::{Locale, LocaleError, VoiceTexts, language_menu, pick_language};
pub use segments::{Encoding, Segments};
pub use template::{Template, TemplateError};

/// The longest `app_name`: it is repeated in every message.
pub const MAX_APP_NAME_CHARS: usize = 40;

/// A `[message]` value otpd refuses, naming its key.
/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    Template(#[from] TemplateError),
    AppName(String),
    WebOtpDomain(AutofillError),
    AppHash(AutofillError),
    Locale(#[from] LocaleError),
}

/// `[message]` as written in the config file (or its flags), before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub app_name: Option<String>,
    /// The default locale's tag; `en` when unset.
    pub locale: Option<String>,
    pub template: Option<String>,
    pub webotp_domain: Option<String>,
    pub app_hash: Option<String>,
}

/// The text a phone receives, or the TwiML a call speaks. It holds the code: wiped when dropped
/// and never shown by `Debug`; [`Body::expose`] is for the delivery that sends it.
#[derive(Clone, PartialEq, Eq)]
pub struct Body(Zeroizing<String>);

impl Body {
    /// The text itself, for the request that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What this text costs as SMS.
    pub fn segments(&self) -> Segments {
        Segments::count(&self.0)
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Body({} chars, code hidden)", self.0.chars().count())
    }
}

/// What one message needs besides the checked `[message]` settings.
#[derive(Debug, Clone, Copy)]
pub struct Parts<'a> {
    pub code: &'a Code,
    /// Seconds the code stays valid from now (shown rounded up to minutes).
    pub valid_for_seconds: i64,
    /// This message's language (`send PHONE --locale es`); the configured one when `None`.
    pub locale: Option<&'static Locale>,
    /// This message's app hash (the server's `AppHash`); the configured one when `None`.
    pub app_hash: Option<&'a AppHash>,
}

/// The checked `[message]` settings, building every message.
#[derive(Debug, Clone)]
pub struct Composer {
    locale: &'static Locale,
    app_name: Option<String>,
    template: Option<Template>,
    webotp_domain: Option<WebOtpDomain>,
    app_hash: Option<AppHash>,
}

impl Composer {
    /// Checks every `[message]` value; the first problem is refused, naming its key.
    pub fn new(s: &Settings) -> Result<Composer, MessageError> {
        let app_name = s.app_name.as_deref().map(check_app_name).transpose()?;
        let template = s.template.as_deref().map(Template::parse).transpose()?;
        if template.as_ref().is_some_and(Template::uses_app) && app_name.is_none() {
            return Err(TemplateError::AppWithoutName.into());
        }
        let locale = match &s.locale {
            Some(tag) => Locale::get(tag)?,
            None => Locale::default_locale()?,
        };
        Ok(Composer {
            locale,
            app_name,
            template,
            webotp_domain: s
                .webotp_domain
                .as_deref()
                .map(WebOtpDomain::parse)
                .transpose()
                .map_err(MessageError::WebOtpDomain)?,
            app_hash: s
                .app_hash
                .as_deref()
                .map(AppHash::parse)
                .transpose()
                .map_err(MessageError::AppHash)?,
        })
    }

    /// The configured default locale.
    pub fn locale(&self) -> &'static Locale {
        self.locale
    }

    pub fn app_name(&self) -> Option<&str> {
        self.app_name.as_deref()
    }

    /// This composer with another app name (a service's `FriendlyName` set through `otpd
    /// serve`, issue 26), checked as `message.app_name` is.
    pub fn with_app_name(&self, name: &str) -> Result<Composer, MessageError> {
        Ok(Composer {
            app_name: Some(check_app_name(name)?),
            ..self.clone()
        })
    }

    pub fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }

    pub fn webotp_domain(&self) -> Option<&WebOtpDomain> {
        self.webotp_domain.as_ref()
    }

    pub fn app_hash(&self) -> Option<&AppHash> {
        self.app_hash.as_ref()
    }

    /// The message for `channel`: the text for SMS (with the autofill lines) and WhatsApp
    /// (without: WhatsApp does not autofill), the TwiML for a call.
    pub fn compose(&self, channel: Channel, p: &Parts<'_>) -> Body {
        let locale = p.locale.unwrap_or(self.locale);
        let code = p.code.expose_digits();
        match channel {
            Channel::Sms => self.text(locale, code, p.valid_for_seconds, true, p.app_hash),
            Channel::Whatsapp => self.text(locale, code, p.valid_for_seconds, false, None),
            Channel::Call => self.twiml(locale, code),
        }
    }

    /// What a voice call says, as plain text (the outbox's and the console's record of a
    /// call): the words and digits of [`Composer::compose`]'s TwiML, without its markup.
    pub fn spoken(&self, p: &Parts<'_>) -> Body {
        let locale = p.locale.unwrap_or(self.locale);
        let code = p.code.expose_digits();
        let voice = locale.voice();
        let intro = voice.intro(self.app_name.as_deref());
        let size = intro.len() + voice.again.len() + voice.goodbye.len() + code.len() * 6 + 16;
        let mut out = Zeroizing::new(String::with_capacity(size));
        let digits = |out: &mut String| {
            for (i, d) in code.chars().filter(char::is_ascii_digit).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push(d);
            }
            out.push_str(". ");
        };
        out.push_str(&intro);
        out.push(' ');
        digits(&mut out);
        out.push_str(&voice.again);
        out.push(' ');
        digits(&mut out);
        out.push_str(&voice.goodbye);
        Body(out)
    }

    /// What `locale`'s SMS costs with a code of `code_length` digits valid `valid_for_seconds`
    /// (the autofill lines included), for start-up warnings and `otpd config`.
    pub fn cost(&self, locale: &Locale, code_length: usize, valid_for_seconds: i64) -> Segments {
        let sample: String = "1234567890".chars().cycle().take(code_length).collect();
        self.text(locale, &sample, valid_for_seconds, true, None)
            .segments()
    }

    fn text(
        &self,
        locale: &Locale,
        code: &str,
        valid_for_seconds: i64,
        autofill: bool,
        app_hash: Option<&AppHash>,
    ) -> Body {
        let minutes = (valid_for_seconds + 59) / 60;
        let app = self.app_name.as_deref();
        let template = self
            .template
            .as_ref()
            .unwrap_or_else(|| locale.sms_template(app.is_some(), minutes));
        // Allocated once, large enough, so no copy of the code is left behind by a regrowth.
        let autofill_len = self.webotp_domain.as_ref().map_or(0, |d| d.as_str().len());
        let capacity = template.capacity(app) + autofill_len + code.len() + 64;
        let mut out = Zeroizing::new(String::with_capacity(capacity));
        template.render_into(&mut out, code, app, minutes);
        if autofill {
            // SMS Retriever finds its hash anywhere in the text; WebOTP needs its line last.
            if let Some(hash) = app_hash.or(self.app_hash.as_ref()) {
                out.push_str("\n\n");
                out.push_str(hash.as_str());
            }
            if let Some(domain) = &self.webotp_domain {
                out.push_str("\n\n");
                domain.push_line(&mut out, code);
            }
        }
        Body(out)
    }

    /// TwiML that says the intro, the code digit by digit, again, then goodbye, in the
    /// locale's language. Only ASCII digits of `code` are spoken, and the texts are escaped.
    fn twiml(&self, locale: &Locale, code: &str) -> Body {
        let voice = locale.voice();
        let open = format!("<Say language=\"{}\">", xml_escape(&voice.language));
        let say = |text: &str| format!("{open}{}</Say>", xml_escape(text));
        let intro = say(&voice.intro(self.app_name.as_deref()));
        let again = say(&voice.again);
        let goodbye = say(&voice.goodbye);
        // `None` stands for the digits, said twice.
        let script: [Option<&str>; 13] = [
            Some("<Response><Pause length=\"1\"/>"),
            Some(&intro),
            Some("<Pause length=\"1\"/>"),
            Some(&open),
            None,
            Some(".</Say><Pause length=\"2\"/>"),
            Some(&again),
            Some("<Pause length=\"1\"/>"),
            Some(&open),
            None,
            Some(".</Say><Pause length=\"1\"/>"),
            Some(&goodbye),
            Some("</Response>"),
        ];
        let size: usize = script
            .iter()
            .map(|p| p.map_or(code.len() * 3, str::len))
            .sum();
        let mut out = Zeroizing::new(String::with_capacity(size));
        for piece in script {
            match piece {
                Some(text) => out.push_str(text),
                None => {
                    for (i, d) in code.chars().filter(char::is_ascii_digit).enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push(d);
                    }
                }
            }
        }
        Body(out)
    }
}

fn check_app_name(name: &str) -> Result<String, MessageError> {
    let name = name.trim();
    let count = name.chars().count();
    if name.is_empty() {
        return Err(MessageError::AppName(
            "the app name is empty: remove the key, or give the name people know you by".into(),
        ));
    }
    if name
        .chars()
        .any(|c| crate::sanitize::is_dangerous(c) || c == '{' || c == '}')
    {
        return Err(MessageError::AppName(
            "the app name has a control character or a brace: plain text on one line only".into(),
        ));
    }
    if count > MAX_APP_NAME_CHARS {
        return Err(MessageError::AppName(format!(
            "the app name is {count} characters long; the limit is {MAX_APP_NAME_CHARS}"
        )));
    }
    Ok(name.to_string())
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;

//! `[message]` and `[kiosk] locales`: what a person receives and in which languages, checked
//! once at start-up by [`crate::message::Composer`] (a bad template is one line naming the key),
//! and what each configured locale's SMS costs — for `otpd config`, the prompt's banner and a
//! start-up warning when a message needs more than one segment.

use serde::Deserialize;

use super::{Config, ConfigError};
use crate::message::{Composer, Locale, Segments, Settings};

/// `[message]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMessage {
    app_name: Option<String>,
    locale: Option<String>,
    template: Option<String>,
    webotp_domain: Option<String>,
    app_hash: Option<String>,
}

/// Checks `[message]`; the first problem is refused, naming its key.
pub(super) fn composer(m: &RawMessage) -> Result<Composer, ConfigError> {
    Ok(Composer::new(&Settings {
        app_name: m.app_name.clone(),
        locale: m.locale.clone(),
        template: m.template.clone(),
        webotp_domain: m.webotp_domain.clone(),
        app_hash: m.app_hash.clone(),
    })?)
}

/// `[kiosk] locales`: the languages a visitor picks from, in the menu's order; unset, the
/// message locale alone (no question is asked).
pub(super) fn kiosk_locales(
    tags: Option<&[String]>,
    default: &'static Locale,
) -> Result<Vec<&'static Locale>, ConfigError> {
    let Some(tags) = tags else {
        return Ok(vec![default]);
    };
    let refuse = |expected: String| ConfigError::Value {
        key: "kiosk.locales",
        value: format!(
            "[{}]",
            tags.iter()
                .map(|t| format!(
                    "\"{}\"",
                    crate::sanitize::truncate(&crate::sanitize::sanitize(t), 20)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        expected,
    };
    let mut locales: Vec<&'static Locale> = Vec::new();
    for tag in tags {
        let l = Locale::get(tag).map_err(|e| refuse(e.to_string()))?;
        if locales.contains(&l) {
            return Err(refuse(format!("{} is listed twice", l.tag())));
        }
        locales.push(l);
    }
    if locales.is_empty() {
        return Err(refuse(format!(
            "list one or more of the built-in locales: {}",
            Locale::tags().collect::<Vec<_>>().join(", ")
        )));
    }
    Ok(locales)
}

impl Config {
    /// The locales messages may go out in from configuration alone: `[message] locale`, then
    /// the kiosk's others. (`send --locale` may pick any built-in one.)
    pub fn configured_locales(&self) -> Vec<&'static Locale> {
        let mut all = vec![self.message.locale()];
        for l in &self.kiosk.locales {
            if !all.contains(l) {
                all.push(l);
            }
        }
        all
    }

    /// What one SMS costs in each configured locale, with a code of the configured length and
    /// lifetime (the autofill lines included).
    pub fn message_costs(&self) -> Vec<(&'static Locale, Segments)> {
        let (digits, ttl) = (self.policy.code_length, self.policy.ttl.num_seconds());
        self.configured_locales()
            .into_iter()
            .map(|l| (l, self.message.cost(l, digits, ttl)))
            .collect()
    }

    /// A warning per configured locale whose SMS needs more than one segment.
    pub(super) fn cost_warnings(&self) -> Vec<String> {
        let what = if self.message.template().is_some() {
            "message.template"
        } else {
            "the built-in message"
        };
        self.message_costs()
            .into_iter()
            .filter_map(|(l, s)| s.warning(&format!("{what} in {}", l.tag())))
            .map(|w| format!("warning: {w}"))
            .collect()
    }
}

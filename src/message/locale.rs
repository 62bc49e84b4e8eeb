//! The built-in languages: one TOML file per locale under `locales/`, compiled in, parsed the
//! first time that locale is used. Adding a language is adding a file and one line to
//! [`BUILT_IN`]; the unit tests check every file has every text.

use std::sync::OnceLock;

use serde::Deserialize;

use super::fold::fold;
use super::kiosk::KioskTexts;
use super::kiosk_page::PageTexts;
use super::template::{Template, fill};

/// Every built-in locale: its tag and its file. The first is the default.
const BUILT_IN: [(&str, &str); 5] = [
    ("en", include_str!("locales/en.toml")),
    ("es", include_str!("locales/es.toml")),
    ("fr", include_str!("locales/fr.toml")),
    ("de", include_str!("locales/de.toml")),
    ("pt", include_str!("locales/pt.toml")),
];

static LOADED: [OnceLock<Result<Locale, String>>; BUILT_IN.len()] =
    [const { OnceLock::new() }; BUILT_IN.len()];

/// Why a locale could not be had.
/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocaleError {
    Unknown {
        given: String,
        known: String,
    },
    /// A built-in file is wrong: a bug the unit tests catch, reported rather than panicking.
    Damaged {
        tag: &'static str,
        detail: String,
    },
}

/// One language's texts.
pub struct Locale {
    tag: &'static str,
    name: String,
    also: Vec<String>,
    sms: SmsTemplates,
    voice: VoiceTexts,
    kiosk: KioskTexts,
    kiosk_page: PageTexts,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocaleFile {
    name: String,
    #[serde(default)]
    also: Vec<String>,
    sms: SmsFile,
    voice: VoiceTexts,
    kiosk: KioskTexts,
    kiosk_page: PageTexts,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsFile {
    text: String,
    one_minute: String,
    with_app: String,
    with_app_one_minute: String,
}

struct SmsTemplates {
    text: Template,
    one_minute: Template,
    with_app: Template,
    with_app_one_minute: Template,
}

/// What the voice call says around the digits, and the language `<Say>` speaks it in.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoiceTexts {
    /// A language tag Twilio's `<Say language=…>` accepts: `en-US`, `es-ES`, `pt-BR`…
    pub language: String,
    /// Said before the digits: "Your verification code is".
    pub intro: String,
    /// The same, naming the app: "This is {app}. Your verification code is".
    pub with_app: String,
    /// Said before the digits the second time: "Again, your code is".
    pub again: String,
    pub goodbye: String,
}

impl VoiceTexts {
    /// The sentence before the digits, with the app's name when there is one.
    pub fn intro(&self, app: Option<&str>) -> String {
        match app {
            Some(app) => fill(&self.with_app, &[("app", app)]),
            None => self.intro.clone(),
        }
    }
}

impl Locale {
    /// The locale for a tag: `es`, `ES`, `pt-BR` and `pt_BR` (the language part decides).
    pub fn get(tag: &str) -> Result<&'static Locale, LocaleError> {
        let wanted = tag.trim().to_ascii_lowercase().replace('_', "-");
        let language = wanted.split('-').next().unwrap_or_default();
        match BUILT_IN.iter().position(|(t, _)| *t == language) {
            Some(i) => load(i),
            None => Err(LocaleError::Unknown {
                given: crate::sanitize::truncate(&crate::sanitize::sanitize(tag.trim()), 20),
                known: Self::tags().collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// The default locale, English.
    pub fn default_locale() -> Result<&'static Locale, LocaleError> {
        load(0)
    }

    /// Every built-in locale, in [`BUILT_IN`] order (this parses them all).
    pub fn all() -> Result<Vec<&'static Locale>, LocaleError> {
        (0..BUILT_IN.len()).map(load).collect()
    }

    /// The built-in tags: `en`, `es`, `fr`, `de`, `pt`.
    pub fn tags() -> impl Iterator<Item = &'static str> {
        BUILT_IN.iter().map(|(t, _)| *t)
    }

    pub fn tag(&self) -> &'static str {
        self.tag
    }

    /// The language's name in itself, for a visitor to pick: "Español".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a visitor's answer names this language: its tag, its name or another name it
    /// is known by ("spanish"), ignoring case and accents ("espanol").
    pub fn is_named(&self, answer: &str) -> bool {
        let answer = fold(answer.trim());
        !answer.is_empty()
            && (answer == self.tag
                || answer == fold(&self.name)
                || self.also.iter().any(|a| fold(a) == answer))
    }

    /// The built-in SMS text for a message with or without the app's name.
    pub fn sms_template(&self, with_app: bool, minutes: i64) -> &Template {
        let s = &self.sms;
        match (with_app, minutes == 1) {
            (false, false) => &s.text,
            (false, true) => &s.one_minute,
            (true, false) => &s.with_app,
            (true, true) => &s.with_app_one_minute,
        }
    }

    pub fn voice(&self) -> &VoiceTexts {
        &self.voice
    }

    /// The kiosk's visitor screens.
    pub fn kiosk(&self) -> &KioskTexts {
        &self.kiosk
    }

    /// The kiosk page's own words.
    pub fn kiosk_page(&self) -> &PageTexts {
        &self.kiosk_page
    }
}

/// Locales are built in, one per tag: the tag decides.
impl PartialEq for Locale {
    fn eq(&self, other: &Self) -> bool {
        self.tag == other.tag
    }
}

impl Eq for Locale {}

impl std::fmt::Debug for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Locale").field(&self.tag).finish()
    }
}

/// The first screen when a kiosk offers several languages: one numbered line per language in
/// its own name, then each language's question.
pub fn language_menu(locales: &[&Locale]) -> String {
    let mut menu: Vec<String> = locales
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{}  {}", i + 1, l.name()))
        .collect();
    let questions: Vec<&str> = locales
        .iter()
        .map(|l| l.kiosk().choose_language.as_str())
        .collect();
    menu.push(questions.join(" / "));
    menu.join("\n")
}

/// The language a visitor's answer picks: its number in the menu, or its name or tag.
pub fn pick_language(answer: &str, locales: &[&'static Locale]) -> Option<&'static Locale> {
    let answer = answer.trim();
    if let Ok(n) = answer.parse::<usize>() {
        return n.checked_sub(1).and_then(|i| locales.get(i)).copied();
    }
    locales.iter().find(|l| l.is_named(answer)).copied()
}

fn load(i: usize) -> Result<&'static Locale, LocaleError> {
    let (tag, source) = BUILT_IN[i];
    LOADED[i]
        .get_or_init(|| parse(tag, source))
        .as_ref()
        .map_err(|detail| LocaleError::Damaged {
            tag,
            detail: detail.clone(),
        })
}

fn parse(tag: &'static str, source: &str) -> Result<Locale, String> {
    let file: LocaleFile = toml::from_str(source).map_err(|e| e.message().to_string())?;
    let template =
        |key: &str, text: &str| Template::parse(text).map_err(|e| format!("sms.{key}: {e}"));
    let sms = SmsTemplates {
        text: template("text", &file.sms.text)?,
        one_minute: template("one_minute", &file.sms.one_minute)?,
        with_app: template("with_app", &file.sms.with_app)?,
        with_app_one_minute: template("with_app_one_minute", &file.sms.with_app_one_minute)?,
    };
    if !sms.with_app.uses_app() || !sms.with_app_one_minute.uses_app() {
        return Err("sms.with_app and sms.with_app_one_minute must contain {app}".into());
    }
    Ok(Locale {
        tag,
        name: file.name,
        also: file.also,
        sms,
        voice: file.voice,
        kiosk: file.kiosk,
        kiosk_page: file.kiosk_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_file_loads() {
        let all = Locale::all().unwrap();
        assert_eq!(
            all.iter().map(|l| l.tag()).collect::<Vec<_>>(),
            ["en", "es", "fr", "de", "pt"]
        );
        for l in all {
            assert!(!l.name().is_empty());
            let lang = &l.voice().language;
            assert!(
                lang.len() == 5 && lang.starts_with(l.tag()) && lang.as_bytes()[2] == b'-',
                "{}: <Say> language {lang}",
                l.tag()
            );
        }
    }

    #[test]
    fn tags_are_read_loosely_and_unknown_ones_refused_with_the_list() {
        for (input, want) in [
            ("es", "es"),
            (" ES ", "es"),
            ("pt-BR", "pt"),
            ("fr_CA", "fr"),
        ] {
            assert_eq!(Locale::get(input).unwrap().tag(), want, "{input}");
        }
        assert_eq!(Locale::default_locale().unwrap().tag(), "en");
        let e = Locale::get("xx").unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown locale \"xx\": the built-in locales are en, es, fr, de, pt"
        );
        let e = Locale::get("\x1b[31mzz").unwrap_err().to_string();
        assert!(!e.contains('\x1b'), "{e}");
    }

    #[test]
    fn a_language_is_named_by_tag_name_or_alias_without_accents() {
        let es = Locale::get("es").unwrap();
        for yes in ["es", "Español", "ESPAÑOL", "espanol", "Spanish"] {
            assert!(es.is_named(yes), "{yes}");
        }
        for no in ["", "en", "English", "esp"] {
            assert!(!es.is_named(no), "{no}");
        }
        assert!(Locale::get("fr").unwrap().is_named("francais"));
        assert!(Locale::get("pt").unwrap().is_named("portugues"));
        assert!(Locale::get("de").unwrap().is_named("deutsch"));
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        assert!(parse("xx", "name = 1").is_err());
        let missing_app = BUILT_IN[0]
            .1
            .replace("with_app = \"{app}: your", "with_app = \"Your");
        let e = parse("xx", &missing_app).unwrap_err();
        assert!(e.contains("must contain {app}"), "{e}");
    }
}

//! Text with `{name}` placeholders: the operator's `[message] template`, checked once at
//! start-up so a typo is refused with one clear line instead of reaching a phone, and the
//! locales' own texts, filled with the same parser.

use std::borrow::Cow;
use std::fmt;

use zeroize::Zeroizing;

/// The placeholders a message template may use.
pub const PLACEHOLDERS: [&str; 3] = ["code", "app", "minutes"];

/// The longest template accepted: ten SMS segments of Unicode text; Twilio refuses bodies over
/// 1,600 characters.
pub const MAX_TEMPLATE_CHARS: usize = 670;

/// One piece of a parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    Text(Cow<'a, str>),
    Name(&'a str),
}

/// Why a template was refused. The texts name no config key: [`super::MessageError`] adds it.
/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    Empty,
    MissingCode,
    UnknownPlaceholder(String),
    Unclosed(usize),
    StrayClose(usize),
    Control(usize),
    TooLong(usize),
    AppWithoutName,
}

/// Splits `text` into literal text and `{name}` placeholders; `{{` and `}}` are literal braces.
pub(crate) fn parse(text: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((n, (i, c))) = chars.next() {
        match c {
            '{' if matches!(chars.peek(), Some((_, (_, '{')))) => {
                chars.next();
                literal.push('{');
            }
            '}' if matches!(chars.peek(), Some((_, (_, '}')))) => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let rest = &text[i + 1..];
                let end = rest.find('}').ok_or(TemplateError::Unclosed(n + 1))?;
                let name = &rest[..end];
                if name.contains('{') {
                    return Err(TemplateError::Unclosed(n + 1));
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(Cow::Owned(std::mem::take(&mut literal))));
                }
                pieces.push(Piece::Name(name));
                // Skip the name and its closing brace.
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
            }
            '}' => return Err(TemplateError::StrayClose(n + 1)),
            '\n' => literal.push('\n'),
            c if crate::sanitize::is_dangerous(c) => return Err(TemplateError::Control(n + 1)),
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(Cow::Owned(literal)));
    }
    Ok(pieces)
}

/// Fills `text`'s placeholders from `values`; an unknown or unfilled placeholder is kept as
/// written, so a mistake in a locale file shows instead of vanishing. Values are sanitised.
pub(crate) fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let Ok(pieces) = parse(text) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len() + 32);
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Name(name) => match values.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(&crate::sanitize::sanitize(v)),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

/// A checked message template: text with `{code}`, `{app}` and `{minutes}`.
#[derive(Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
    pieces: Vec<Slot>,
}

#[derive(Clone, PartialEq, Eq)]
enum Slot {
    Text(String),
    Code,
    App,
    Minutes,
}

impl Template {
    /// Checks `text`: not empty, not too long, only known placeholders, `{code}` present.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let length = text.chars().count();
        if text.trim().is_empty() {
            return Err(TemplateError::Empty);
        }
        if length > MAX_TEMPLATE_CHARS {
            return Err(TemplateError::TooLong(length));
        }
        let mut pieces = Vec::new();
        for piece in parse(text)? {
            pieces.push(match piece {
                Piece::Text(t) => Slot::Text(t.into_owned()),
                Piece::Name("code") => Slot::Code,
                Piece::Name("app") => Slot::App,
                Piece::Name("minutes") => Slot::Minutes,
                Piece::Name(other) => {
                    let shown = crate::sanitize::truncate(&crate::sanitize::sanitize(other), 20);
                    return Err(TemplateError::UnknownPlaceholder(shown));
                }
            });
        }
        if !pieces.contains(&Slot::Code) {
            return Err(TemplateError::MissingCode);
        }
        Ok(Template {
            source: text.to_string(),
            pieces,
        })
    }

    /// The text as configured.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the template shows the app's name.
    pub fn uses_app(&self) -> bool {
        self.pieces.contains(&Slot::App)
    }

    /// Appends the filled template to `out` (`{app}` becomes "" when there is no name).
    pub(crate) fn render_into(
        &self,
        out: &mut Zeroizing<String>,
        code: &str,
        app: Option<&str>,
        minutes: i64,
    ) {
        for piece in &self.pieces {
            match piece {
                Slot::Text(t) => out.push_str(t),
                Slot::Code => out.push_str(code),
                Slot::App => out.push_str(app.unwrap_or("")),
                Slot::Minutes => out.push_str(&minutes.to_string()),
            }
        }
    }

    /// An upper bound of the rendered length in bytes, to allocate once.
    pub(crate) fn capacity(&self, app: Option<&str>) -> usize {
        let app = app.map_or(0, str::len);
        self.source.len() + self.pieces.len() * (app + 20)
    }
}

impl fmt::Debug for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Template").field(&self.source).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(t: &Template, app: Option<&str>) -> String {
        let mut out = Zeroizing::new(String::new());
        t.render_into(&mut out, "482913", app, 5);
        out.to_string()
    }

    #[test]
    fn fills_every_placeholder() {
        let t = Template::parse("{app}: {code} is your code, valid {minutes} min. {{not a slot}}")
            .unwrap();
        assert_eq!(
            render(&t, Some("Acme Clinic")),
            "Acme Clinic: 482913 is your code, valid 5 min. {not a slot}"
        );
        assert!(t.uses_app());
        let multi = Template::parse("Code:\n{code}").unwrap();
        assert_eq!(render(&multi, None), "Code:\n482913");
        assert!(!multi.uses_app());
    }

    #[test]
    fn refusals_name_the_problem() {
        let cases = [
            ("", TemplateError::Empty),
            ("  ", TemplateError::Empty),
            (
                "Your code expires in {minutes} minutes",
                TemplateError::MissingCode,
            ),
            ("{{code}} is literal", TemplateError::MissingCode),
            (
                "Your code is {cod}",
                TemplateError::UnknownPlaceholder("cod".into()),
            ),
            (
                "{code} for {name}",
                TemplateError::UnknownPlaceholder("name".into()),
            ),
            (
                "{code} {}",
                TemplateError::UnknownPlaceholder(String::new()),
            ),
            ("{code} and {app", TemplateError::Unclosed(12)),
            ("{co{de}", TemplateError::Unclosed(1)),
            ("{code} }", TemplateError::StrayClose(8)),
            ("{code}\x1b[2J", TemplateError::Control(7)),
            ("{code}\u{202E}", TemplateError::Control(7)),
        ];
        for (text, want) in cases {
            assert_eq!(Template::parse(text), Err(want), "{text:?}");
        }
        let long = format!("{{code}}{}", "x".repeat(MAX_TEMPLATE_CHARS));
        assert!(matches!(
            Template::parse(&long),
            Err(TemplateError::TooLong(_))
        ));
    }

    #[test]
    fn unknown_placeholder_message_lists_the_accepted_ones() {
        let e = Template::parse("Code {kode}").unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown placeholder {kode}: the accepted placeholders are {code}, {app} and {minutes} (write {{ and }} for literal braces)"
        );
        // A hostile name is echoed clean and short.
        let e = Template::parse("{code} {\x1b[31mxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}")
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\x1b') && e.contains('…'), "{e}");
    }

    #[test]
    fn fill_keeps_unknown_names_and_sanitises_values() {
        assert_eq!(
            fill("Wait {wait} for {who}.", &[("wait", "5 s\x1b[2J")]),
            "Wait 5 s\u{FFFD}[2J for {who}."
        );
    }
}

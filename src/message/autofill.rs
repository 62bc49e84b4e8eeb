//! The lines that let a phone fill the code in for the person: the origin-bound line of WebOTP
//! (`@example.com #123456`, read by Safari on iOS and Chrome on Android) and the app hash of
//! Android's SMS Retriever. Both are checked once, when configured or passed with a message.

use std::fmt;

/// Why a WebOTP domain or an app hash was refused. The texts name no config key:
/// [`super::MessageError`] adds it.
/// Worded in `render::causes`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AutofillError {
    Domain(String),
    AppHash(String),
}

/// The web site's host for WebOTP's origin-bound line, lower-cased: `example.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebOtpDomain(String);

impl WebOtpDomain {
    pub fn parse(input: &str) -> Result<WebOtpDomain, AutofillError> {
        let host = input.trim().to_ascii_lowercase();
        let refuse = || {
            AutofillError::Domain(crate::sanitize::truncate(
                &crate::sanitize::sanitize(input.trim()),
                40,
            ))
        };
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        let labels: Vec<&str> = host.split('.').collect();
        if host.len() > 253 || labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
            return Err(refuse());
        }
        Ok(WebOtpDomain(host))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Appends the line WebOTP reads, `@example.com #123456`, without a copy of the code.
    pub(crate) fn push_line(&self, out: &mut String, code: &str) {
        out.push('@');
        out.push_str(&self.0);
        out.push_str(" #");
        out.push_str(code);
    }
}

impl fmt::Display for WebOtpDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The 11-character hash of an Android app's package and signing key, which SMS Retriever
/// looks for to hand the message to that app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHash(String);

impl AppHash {
    pub const LEN: usize = 11;

    pub fn parse(input: &str) -> Result<AppHash, AutofillError> {
        let hash = input.trim();
        let ok = hash.len() == Self::LEN
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
        if ok {
            return Ok(AppHash(hash.to_string()));
        }
        let count = hash.chars().count();
        Err(AutofillError::AppHash(if count == Self::LEN {
            format!(
                "\"{}\", which has other characters",
                crate::sanitize::sanitize(hash)
            )
        } else {
            format!("{count} characters")
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        for (input, want) in [
            ("example.com", "example.com"),
            (" Login.Example.COM ", "login.example.com"),
            ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ] {
            assert_eq!(WebOtpDomain::parse(input).unwrap().as_str(), want);
        }
        for bad in [
            "",
            "localhost",
            "https://example.com",
            "example.com:443",
            "example.com/login",
            "-bad.example.com",
            "exa mple.com",
            "example..com",
            "bücher.example",
        ] {
            let e = WebOtpDomain::parse(bad).unwrap_err().to_string();
            assert!(e.contains("like example.com"), "{bad}: {e}");
        }
        let mut line = String::new();
        WebOtpDomain::parse("example.com")
            .unwrap()
            .push_line(&mut line, "123456");
        assert_eq!(line, "@example.com #123456");
    }

    #[test]
    fn app_hashes() {
        for good in ["FA+9qCX9VSu", "abc/DEF+123", " FA+9qCX9VSu "] {
            assert_eq!(AppHash::parse(good).unwrap().as_str(), good.trim());
        }
        let cases = [
            ("FA+9qCX9VS", "that was 10 characters"),
            ("FA+9qCX9VSuX", "that was 12 characters"),
            ("", "that was 0 characters"),
            (
                "FA-9qCX9VSu",
                "that was \"FA-9qCX9VSu\", which has other characters",
            ),
        ];
        for (bad, want) in cases {
            let e = AppHash::parse(bad).unwrap_err().to_string();
            assert!(e.ends_with(want), "{bad}: {e}");
            assert!(e.starts_with("an app hash is 11 characters"), "{e}");
        }
    }
}

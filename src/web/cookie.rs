//! Cookies the pages set: always `HttpOnly` (no script reads them) and `SameSite=Strict` (no
//! other site's page sends them), `Secure` when the server speaks TLS, scoped to a path.

use axum::http::{HeaderMap, HeaderValue, header};

/// A `Set-Cookie` value: `name=value`, for `max_age` seconds, under `path`.
pub fn set(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    // Names, values and paths are ours (hex, fixed words): always valid header text.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=1"))
}

/// A `Set-Cookie` value that removes `name` under `path`.
pub fn clear(name: &str, path: &str, secure: bool) -> HeaderValue {
    set(name, "", path, 0, secure)
}

/// The value of cookie `name` the browser sent, if any.
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookies_are_http_only_strict_and_secure_under_tls() {
        let c = set("d", "ab", "/kiosk/", 60, true);
        assert_eq!(
            c.to_str().unwrap(),
            "d=ab; Path=/kiosk/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(
            !set("d", "ab", "/", 60, false)
                .to_str()
                .unwrap()
                .contains("Secure")
        );
        assert!(
            clear("d", "/", false)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }

    #[test]
    fn reads_one_cookie_among_several() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; d=xy; e=2"));
        assert_eq!(read(&h, "d").as_deref(), Some("xy"));
        assert_eq!(read(&h, "z"), None);
    }
}

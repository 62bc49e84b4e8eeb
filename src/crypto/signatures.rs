//! The two webhook signatures otpd deals in. Outgoing: each Verify Events request carries
//! `X-Otpd-Signature: sha256=HEX`, HMAC-SHA256 of the exact body under the sink's secret, so a
//! receiver can tell otpd's events from forged ones. Incoming: Twilio signs its status
//! callbacks with `X-Twilio-Signature`, base64 of HMAC-SHA1 under the account's auth token of
//! the full URL followed by every POST parameter (sorted by name, then value) as name then
//! value — checked here as Twilio's own helper libraries check it (the URL with and without
//! its default port; with `bodySHA256` in the query, the URL alone and the body's SHA-256).

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The header otpd's event requests carry.
pub const EVENT_SIGNATURE_HEADER: &str = "X-Otpd-Signature";

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn event_signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Twilio's signature of a request to `url` with the form `params` (base64).
pub fn twilio_signature(token: &[u8], url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(token).expect("any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is Twilio's for a POST of `body` (a form, or with `bodySHA256` in the
/// URL's query any body) to `url`, under `token`. Compared in constant time.
pub fn twilio_valid(token: &[u8], url: &str, body: &[u8], signature: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let body_hash = parsed
        .query_pairs()
        .find(|(k, _)| k == "bodySHA256")
        .map(|(_, v)| v.into_owned());
    let params: Vec<(String, String)> = match &body_hash {
        Some(expected) => {
            if !constant_eq(
                hex::encode(Sha256::digest(body)).as_bytes(),
                expected.as_bytes(),
            ) {
                return false;
            }
            Vec::new()
        }
        None => form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
    };
    let with_port = with_default_port(&parsed);
    let without_port = without_port(&parsed);
    [with_port, without_port].iter().any(|u| {
        constant_eq(
            twilio_signature(token, u, &params).as_bytes(),
            signature.trim().as_bytes(),
        )
    })
}

/// `url` with its port written out (443 for https, 80 for http) when it has none. The url
/// crate drops a scheme's default port when one is set, so it is written in by hand.
fn with_default_port(url: &reqwest::Url) -> String {
    let text = url.to_string();
    let (None, Some(port), Some(host)) = (url.port(), url.port_or_known_default(), url.host_str())
    else {
        return text;
    };
    let origin = format!("{}://{host}", url.scheme());
    match text.strip_prefix(&origin) {
        Some(rest) => format!("{origin}:{port}{rest}"),
        // User information before the host: left as it is.
        None => text,
    }
}

/// `url` without a port.
fn without_port(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_port(None);
    u.to_string()
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Twilio's published example (docs "Webhooks security"): auth token 12345, the URL and
    /// POST parameters of a call, and the signature Twilio sends.
    #[test]
    fn twilio_signature_matches_twilios_documented_example() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sig = twilio_signature(b"12345", url, &params);
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .finish();
        assert!(twilio_valid(b"12345", url, body.as_bytes(), &sig));
        // The same URL with its default port written out is the same request.
        assert!(twilio_valid(
            b"12345",
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            body.as_bytes(),
            &sig
        ));
        assert!(!twilio_valid(b"12346", url, body.as_bytes(), &sig));
        assert!(!twilio_valid(b"12345", url, b"CallSid=CA1", &sig));
        assert!(!twilio_valid(b"12345", url, body.as_bytes(), ""));
    }

    #[test]
    fn a_json_body_is_signed_through_its_hash_in_the_url() {
        let body = br#"{"property": "value", "boolean": true}"#;
        let hash = hex::encode(Sha256::digest(body));
        let url = format!("https://mycompany.com/myapp?bodySHA256={hash}");
        let sig = twilio_signature(b"12345", &url, &[]);
        assert!(twilio_valid(b"12345", &url, body, &sig));
        assert!(!twilio_valid(b"12345", &url, b"{}", &sig));
    }

    #[test]
    fn event_signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            event_signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}

//! CSRF tokens: random per session, carried in a hidden field of every form, compared in
//! constant time. The session cookie is `SameSite=Strict` as well; the token is the second lock.

use rand::TryRng;

/// The hidden field's name.
pub const FIELD: &str = "csrf";

/// A fresh token (32 random bytes, hex).
pub fn token() -> String {
    random_hex()
}

/// 32 bytes from the operating system's CSPRNG, hex: tokens, cookie values, session ids.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // The OS generator does not fail on Linux once booted; a failure leaves a token nobody
    // can guess anyway only if it is not all zeros, so fall back to the thread generator.
    if rand::rngs::SysRng.try_fill_bytes(&mut bytes).is_err() {
        rand::fill(&mut bytes);
    }
    hex::encode(bytes)
}

/// Whether `given` is `expected`, in time independent of where they differ.
pub fn matches(expected: &str, given: Option<&str>) -> bool {
    let Some(given) = given else { return false };
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_compared_whole() {
        let t = token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, token());
        assert!(matches(&t, Some(&t)));
        assert!(!matches(&t, Some(&t[..63])));
        assert!(!matches(&t, None));
        assert!(!matches("", Some("")));
    }
}

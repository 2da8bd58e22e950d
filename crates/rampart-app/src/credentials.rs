//! Reading credentials out of an `Authorization` header value: one parser for the API's
//! bearer tokens, the Terraform backend's Basic auth and webhooks'.

use base64::Engine;
use zeroize::Zeroizing;

/// The token of `Bearer <token>` (scheme case-insensitive).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, credential) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credential.trim())
        .filter(|token| !token.is_empty())
}

/// The user and password of `Basic base64(user:password)`.
pub fn basic(value: &str) -> Option<(String, Zeroizing<String>)> {
    let (scheme, credential) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(credential.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), Zeroizing::new(password.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        // "user:pa:ss" → the password keeps its colons.
        let (user, password) = basic("Basic dXNlcjpwYTpzcw==").unwrap();
        assert_eq!((user.as_str(), password.as_str()), ("user", "pa:ss"));
        assert!(basic("Basic !!!").is_none());
        assert!(basic("Bearer dXNlcjpwYTpzcw==").is_none());
    }
}

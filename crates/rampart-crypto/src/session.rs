//! Web session identifiers: 256 random bits, given to the browser once in a cookie; only
//! the SHA-256 of the id is stored, so a database leak does not hand out sessions.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::Zeroizing;

use crate::CryptoError;

/// Mints a session id (43 URL-safe characters).
pub fn mint_session_id() -> Result<Zeroizing<String>, CryptoError> {
    let bytes = Zeroizing::new(crate::random::bytes::<32>()?);
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_slice())))
}

/// The stored form of a session id or CSRF token.
pub fn session_id_hash(session_id: &str) -> [u8; 32] {
    crate::digest::sha256(session_id.as_bytes())
}

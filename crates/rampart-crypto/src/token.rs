//! API tokens in the contract's format:
//! `rmp_<kind>_<32 base62 chars of randomness>_<6 base62 chars of CRC32 checksum>`.
//!
//! The checksum is the CRC32 (IEEE) of everything before the last underscore
//! (`rmp_<kind>_<random>`), written in base62 and left-padded with `0` to six characters.
//! It lets a secret scanner recognise a real token offline, and lets the server refuse a
//! mistyped or truncated token before any store lookup.

use std::fmt;

use rampart_domain::platform::identity::TokenKind;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::CryptoError;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_CHARS: usize = 32;
const CHECKSUM_CHARS: usize = 6;
/// `rmp_` + 3 + `_` + 32 + `_` + 6.
pub const TOKEN_CHARS: usize = 4 + 3 + 1 + RANDOM_CHARS + 1 + CHECKSUM_CHARS;

/// A token's secret text. Zeroed on drop; `Debug` never shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct SecretToken(String);

impl SecretToken {
    /// Exposes the secret, for showing it once to its owner or sending it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The last four characters, stored for display in token lists.
    pub fn last_four(&self) -> String {
        self.0
            .get(self.0.len().saturating_sub(4)..)
            .unwrap_or_default()
            .to_owned()
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken(<redacted>)")
    }
}

/// Why a presented string is not a token. None of the variants carries the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenFormatError {
    #[error("the token does not have the rmp_<kind>_<secret>_<checksum> shape")]
    Shape,
    #[error("the token kind is unknown")]
    Kind,
    #[error("the token checksum does not match (mistyped or truncated token)")]
    Checksum,
}

/// A token whose shape and checksum are valid. Only now may the store be asked about it.
#[derive(Debug)]
pub struct ParsedToken {
    pub kind: TokenKind,
    pub secret: SecretToken,
}

fn checksum(body: &str) -> String {
    let mut value = crc32fast::hash(body.as_bytes());
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        let digit = usize::try_from(value % 62).unwrap_or_default();
        *slot = BASE62.get(digit).copied().unwrap_or(b'0');
        value /= 62;
    }
    out.iter().map(|b| char::from(*b)).collect()
}

/// Mints a new token of `kind`.
pub fn mint(kind: TokenKind) -> Result<SecretToken, CryptoError> {
    let mut random = String::with_capacity(RANDOM_CHARS);
    // Rejection sampling: bytes >= 248 (= 4 * 62) are discarded so that every character
    // is equally likely.
    while random.len() < RANDOM_CHARS {
        let mut batch = [0u8; 48];
        crate::random::fill(&mut batch)?;
        for byte in batch {
            if byte < 248
                && random.len() < RANDOM_CHARS
                && let Some(symbol) = BASE62.get(usize::from(byte % 62))
            {
                random.push(char::from(*symbol));
            }
        }
        batch.zeroize();
    }
    let body = format!("rmp_{}_{}", kind.prefix_code(), random);
    random.zeroize();
    let sum = checksum(&body);
    Ok(SecretToken(format!("{body}_{sum}")))
}

/// Parses a presented token: shape, kind and checksum. Cheap and constant in the store:
/// nothing is looked up.
pub fn parse(presented: &str) -> Result<ParsedToken, TokenFormatError> {
    if presented.len() != TOKEN_CHARS || !presented.is_ascii() {
        return Err(TokenFormatError::Shape);
    }
    let mut parts = presented.split('_');
    let (Some("rmp"), Some(kind), Some(random), Some(sum), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(TokenFormatError::Shape);
    };
    if random.len() != RANDOM_CHARS
        || sum.len() != CHECKSUM_CHARS
        || !random
            .bytes()
            .chain(sum.bytes())
            .all(|b| b.is_ascii_alphanumeric())
    {
        return Err(TokenFormatError::Shape);
    }
    let kind: TokenKind = kind.parse().map_err(|_| TokenFormatError::Kind)?;
    let body_len = presented.len() - CHECKSUM_CHARS - 1;
    let body = presented.get(..body_len).ok_or(TokenFormatError::Shape)?;
    if !crate::digest::constant_time_eq(checksum(body).as_bytes(), sum.as_bytes()) {
        return Err(TokenFormatError::Checksum);
    }
    Ok(ParsedToken {
        kind,
        secret: SecretToken(presented.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_have_the_contract_shape() {
        for kind in TokenKind::ALL {
            let token = mint(kind).unwrap();
            let text = token.expose();
            assert_eq!(text.len(), TOKEN_CHARS);
            assert!(text.starts_with(&format!("rmp_{}_", kind.prefix_code())));
            let parsed = parse(text).unwrap();
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.secret, token);
        }
    }

    #[test]
    fn any_single_character_change_is_caught_by_the_checksum() {
        let token = mint(TokenKind::Personal).unwrap();
        let text = token.expose().to_owned();
        for position in 8..text.len() {
            let mut bytes = text.clone().into_bytes();
            bytes[position] = if bytes[position] == b'a' { b'b' } else { b'a' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(parse(&changed).is_err(), "change at {position} accepted");
        }
    }

    #[test]
    fn malformed_tokens_are_refused_with_a_reason() {
        assert_eq!(parse("").unwrap_err(), TokenFormatError::Shape);
        assert_eq!(parse("Bearer x").unwrap_err(), TokenFormatError::Shape);
        let token = mint(TokenKind::Personal).unwrap();
        let wrong_kind = token.expose().replacen("_pat_", "_xyz_", 1);
        assert_eq!(parse(&wrong_kind).unwrap_err(), TokenFormatError::Kind);
        assert!(format!("{token:?}").contains("redacted"));
    }

    #[test]
    fn the_checksum_is_crc32_in_base62() {
        // Expected value computed independently with Python's zlib.crc32 and base62.
        assert_eq!(
            checksum("rmp_pat_abcdefghijklmnopqrstuvwxyz012345"),
            "17pztI"
        );
        assert!(parse("rmp_pat_abcdefghijklmnopqrstuvwxyz012345_17pztI").is_ok());
    }
}

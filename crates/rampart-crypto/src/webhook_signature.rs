//! Signatures on incoming webhooks: the header
//! `X-Rampart-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, each `v1` being
//! HMAC-SHA256 over `"<t>." + the raw body bytes` with one of the integration's secrets.
//! Two secrets are valid while one is rotated, and a sender may send one signature per
//! secret; any `v1` matching any secret passes. The timestamp must lie within the replay
//! window of the server's clock (either side). Comparison is constant-time.

use aws_lc_rs::hmac;

use crate::digest::{constant_time_eq, from_hex, hex};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "x-rampart-signature";
/// The most `v1=` entries read from one header.
const SIGNATURES_MAX: usize = 8;

/// Why a signature was refused. Messages never echo what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing or not t=<seconds>,v1=<hex>")]
    Malformed,
    #[error("the signature's timestamp is outside the replay window")]
    Stale,
    #[error("no signature matches")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    context.sign().as_ref().to_vec()
}

/// The header value a sender puts on `body` at `timestamp` with `secret`.
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", hex(&mac(secret, timestamp, body)))
}

/// Checks `header` on `body` against `secrets` at `now` (unix seconds) with a replay
/// window of `window_secs` either side.
pub fn verify(
    secrets: &[&[u8]],
    header: &str,
    body: &[u8],
    now: i64,
    window_secs: i64,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match name {
            "t" => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            "v1" if signatures.len() < SIGNATURES_MAX => {
                signatures.push(from_hex(value).ok_or(SignatureError::Malformed)?);
            }
            // Other schemes (and signatures beyond the cap) are ignored.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > window_secs {
        return Err(SignatureError::Stale);
    }
    let mut matched = false;
    for secret in secrets {
        let expected = mac(secret, timestamp, body);
        for signature in &signatures {
            // No early exit: the work does not depend on which one matches.
            matched |= constant_time_eq(&expected, signature);
        }
    }
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_795_000_000;

    #[test]
    fn signatures_verify_over_the_raw_bytes_with_either_secret() {
        let body = br#"{"dedup_key":"k", "summary":"s"}"#;
        let header = sign(b"old-secret", NOW, body);
        verify(
            &[b"new-secret", b"old-secret"],
            &header,
            body,
            NOW + 10,
            300,
        )
        .unwrap();
        // Several v1 entries (the sender signs with both secrets during rotation).
        let both = format!(
            "{},v1={}",
            sign(b"unknown", NOW, body),
            hex(&mac(b"new-secret", NOW, body))
        );
        verify(&[b"new-secret"], &both, body, NOW, 300).unwrap();
        // The raw bytes count: re-serialised JSON (one space less) does not match.
        assert_eq!(
            verify(
                &[b"old-secret"],
                &header,
                br#"{"dedup_key":"k","summary":"s"}"#,
                NOW,
                300
            ),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(&[b"other"], &header, body, NOW, 300),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_and_malformed_headers_are_refused() {
        let body = b"{}";
        let header = sign(b"s", NOW, body);
        assert_eq!(
            verify(&[b"s"], &header, body, NOW + 301, 300),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(&[b"s"], &header, body, NOW - 301, 300),
            Err(SignatureError::Stale)
        );
        // A replayed signature with a new timestamp does not match.
        let replayed = header.replace(&format!("t={NOW}"), &format!("t={}", NOW + 100));
        assert_eq!(
            verify(&[b"s"], &replayed, body, NOW + 100, 300),
            Err(SignatureError::Mismatch)
        );
        for bad in ["", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "garbage"] {
            assert_eq!(
                verify(&[b"s"], bad, body, NOW, 300),
                Err(SignatureError::Malformed),
                "{bad}"
            );
        }
    }
}

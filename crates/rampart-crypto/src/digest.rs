//! SHA-256, the HTTP `Content-MD5` check and constant-time comparison.

use aws_lc_rs::digest;
use subtle::ConstantTimeEq;

pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Whether a `Content-MD5` header value (base64 of the body's MD5, RFC 1864) matches
/// `body`. MD5 here is the client's transport checksum, never a security measure: what
/// is stored is protected by SHA-256 and AES-GCM.
pub fn content_md5_matches(body: &[u8], header: &str) -> bool {
    use base64::Engine;
    use md5::Digest;
    let expected = md5::Md5::digest(body);
    base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .is_ok_and(|given| given.as_slice() == expected.as_slice())
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.ct_eq(right).into()
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Parses hexadecimal (either case); `None` if it is not.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| {
            text.get(at..at + 2)
                .filter(|pair| pair.bytes().all(|byte| byte.is_ascii_hexdigit()))
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn content_md5_is_base64_of_the_md5() {
        // RFC 1321 test vector: MD5("abc") = 900150983cd24fb0d6963f7d28e17f72.
        assert!(super::content_md5_matches(
            b"abc",
            "kAFQmDzST7DWlj99KOF/cg=="
        ));
        assert!(!super::content_md5_matches(
            b"abd",
            "kAFQmDzST7DWlj99KOF/cg=="
        ));
        assert!(!super::content_md5_matches(b"abc", "not base64!"));
    }

    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_non_hex() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(from_hex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(from_hex("0g"), None);
        assert_eq!(from_hex("+1"), None);
        assert_eq!(from_hex("abc"), None);
    }
}

//! JSON Web Signatures (RFC 7515, compact form) as OpenID Connect ID tokens use them:
//! splitting a token, verifying its signature with an identity provider's public key,
//! and the PKCE S256 challenge (RFC 7636).
//!
//! Only asymmetric algorithms exist here, each tied to the key type it needs: `none` and
//! the HMAC family (`HS256`…) are not algorithms this module knows, so a token that names
//! them cannot verify, and a public key can never be used as an HMAC secret (the
//! classic "HS256 signed with the provider's public key" forgery). Which of the known
//! algorithms a provider may use is the caller's allow-list on top of this.
//!
//! On `aws-lc-rs`, like every other primitive (no second crypto stack).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A JWS algorithm this module verifies.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Algorithm {
    Rs256,
    Rs384,
    Rs512,
    Ps256,
    Ps384,
    Ps512,
    Es256,
    Es384,
    EdDsa,
}

impl Algorithm {
    /// Every algorithm, in the order of their `alg` names below.
    pub const ALL: [Algorithm; 9] = [
        Algorithm::Rs256,
        Algorithm::Rs384,
        Algorithm::Rs512,
        Algorithm::Ps256,
        Algorithm::Ps384,
        Algorithm::Ps512,
        Algorithm::Es256,
        Algorithm::Es384,
        Algorithm::EdDsa,
    ];

    /// The `alg` header value.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The algorithm an `alg` header names, if this module knows it (exact, case-sensitive
    /// match: `none`, `HS256` and `rs256` are not known).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|alg| alg.name() == name)
    }

    /// The key type (`kty`) the algorithm's key must have.
    pub const fn key_type(self) -> &'static str {
        match self {
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512 => "RSA",
            Algorithm::Es256 | Algorithm::Es384 => "EC",
            Algorithm::EdDsa => "OKP",
        }
    }
}

/// A provider's public key, as its JWK set gives it (raw big-endian components).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// `crv` P-256 or P-384, affine coordinates.
    Ec {
        curve: String,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    /// `crv` Ed25519.
    Ed25519 {
        x: Vec<u8>,
    },
}

/// Why a compact JWS was refused. No variant carries key material.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum JwsError {
    #[error("the token is not three base64url parts separated by dots")]
    Malformed,
    #[error("the key does not fit the algorithm")]
    KeyMismatch,
    #[error("the signature does not verify")]
    BadSignature,
}

/// A compact JWS split into its parts: the decoded header and payload, the signing input
/// (`header.payload` as sent) and the decoded signature.
#[derive(Debug)]
pub struct CompactJws<'a> {
    pub header: Vec<u8>,
    pub payload: Vec<u8>,
    pub signing_input: &'a str,
    pub signature: Vec<u8>,
}

/// Splits a compact JWS. Exactly three parts, each unpadded base64url (RFC 7515 §7.1);
/// an encrypted (five-part) token or stray padding is malformed.
pub fn split_compact(token: &str) -> Result<CompactJws<'_>, JwsError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed);
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| JwsError::Malformed)
    };
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(JwsError::Malformed)?;
    Ok(CompactJws {
        header: decode(header)?,
        payload: decode(payload)?,
        signing_input,
        signature: decode(signature)?,
    })
}

/// Verifies `signature` over `signing_input` with `key` under `alg`. The key's type (and
/// curve) must be the algorithm's; RSA keys must be 2048 bits or more.
pub fn verify(
    alg: Algorithm,
    key: &PublicKey,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), JwsError> {
    let bad = |_| JwsError::BadSignature;
    match (alg, key) {
        (
            Algorithm::Rs256
            | Algorithm::Rs384
            | Algorithm::Rs512
            | Algorithm::Ps256
            | Algorithm::Ps384
            | Algorithm::Ps512,
            PublicKey::Rsa { n, e },
        ) => {
            let params: &signature::RsaParameters = match alg {
                Algorithm::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                _ => &signature::RSA_PSS_2048_8192_SHA512,
            };
            RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(params, signing_input, signature)
            .map_err(bad)
        }
        (Algorithm::Es256 | Algorithm::Es384, PublicKey::Ec { curve, x, y }) => {
            let (params, width): (&'static signature::EcdsaVerificationAlgorithm, usize) =
                match (alg, curve.as_str()) {
                    (Algorithm::Es256, "P-256") => (&signature::ECDSA_P256_SHA256_FIXED, 32),
                    (Algorithm::Es384, "P-384") => (&signature::ECDSA_P384_SHA384_FIXED, 48),
                    _ => return Err(JwsError::KeyMismatch),
                };
            if x.len() != width || y.len() != width {
                return Err(JwsError::KeyMismatch);
            }
            // The uncompressed SEC1 point: 0x04 ‖ x ‖ y.
            let mut point = Vec::with_capacity(1 + 2 * width);
            point.push(0x04);
            point.extend_from_slice(x);
            point.extend_from_slice(y);
            UnparsedPublicKey::new(params, point)
                .verify(signing_input, signature)
                .map_err(bad)
        }
        (Algorithm::EdDsa, PublicKey::Ed25519 { x }) => {
            if x.len() != 32 {
                return Err(JwsError::KeyMismatch);
            }
            UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(signing_input, signature)
                .map_err(bad)
        }
        _ => Err(JwsError::KeyMismatch),
    }
}

/// The PKCE S256 code challenge of `verifier`: base64url(SHA-256(verifier)), unpadded.
pub fn pkce_s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, verifier.as_bytes()))
}

/// Unpadded base64url, the encoding of every JOSE binary field.
pub fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair};

    fn token(header: &str, payload: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn check(token: &str, alg: Algorithm, key: &PublicKey) -> Result<(), JwsError> {
        let parts = split_compact(token)?;
        verify(alg, key, parts.signing_input.as_bytes(), &parts.signature)
    }

    #[test]
    fn rfc7636_appendix_b_challenge() {
        assert_eq!(
            pkce_s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn each_algorithm_verifies_its_own_signature_and_nothing_else() {
        let random = SystemRandom::new();
        let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let public = ec.public_key().as_ref();
        let ec_key = PublicKey::Ec {
            curve: "P-256".into(),
            x: public[1..33].to_vec(),
            y: public[33..65].to_vec(),
        };
        let signed = token("{\"alg\":\"ES256\"}", "{}", |input| {
            ec.sign(&random, input).unwrap().as_ref().to_vec()
        });
        assert_eq!(check(&signed, Algorithm::Es256, &ec_key), Ok(()));
        // Same key, other curve's algorithm; and a flipped payload byte.
        assert_eq!(
            check(&signed, Algorithm::Es384, &ec_key),
            Err(JwsError::KeyMismatch)
        );
        let mut tampered = signed.clone().into_bytes();
        tampered[signed.find('.').unwrap() + 1] ^= 1;
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(check(&tampered, Algorithm::Es256, &ec_key).is_err());

        let ed = Ed25519KeyPair::generate().unwrap();
        let ed_key = PublicKey::Ed25519 {
            x: ed.public_key().as_ref().to_vec(),
        };
        let signed = token("{\"alg\":\"EdDSA\"}", "{}", |input| {
            ed.sign(input).as_ref().to_vec()
        });
        assert_eq!(check(&signed, Algorithm::EdDsa, &ed_key), Ok(()));
        assert_eq!(
            check(&signed, Algorithm::Es256, &ed_key),
            Err(JwsError::KeyMismatch)
        );

        let rsa = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let components: RsaPublicKeyComponents<Vec<u8>> = rsa.public_key().into();
        let rsa_key = PublicKey::Rsa {
            n: components.n,
            e: components.e,
        };
        for (alg, padding) in [
            (
                Algorithm::Rs256,
                &signature::RSA_PKCS1_SHA256 as &dyn signature::RsaEncoding,
            ),
            (Algorithm::Ps256, &signature::RSA_PSS_SHA256),
            (Algorithm::Rs512, &signature::RSA_PKCS1_SHA512),
        ] {
            let signed = token("{}", "{\"sub\":\"a\"}", |input| {
                let mut out = vec![0; rsa.public_modulus_len()];
                rsa.sign(padding, &random, input, &mut out).unwrap();
                out
            });
            assert_eq!(check(&signed, alg, &rsa_key), Ok(()), "{alg:?}");
            // An RSA signature never verifies under another RSA algorithm.
            let other = if alg == Algorithm::Rs256 {
                Algorithm::Ps256
            } else {
                Algorithm::Rs256
            };
            assert_eq!(check(&signed, other, &rsa_key), Err(JwsError::BadSignature));
            assert_eq!(
                check(&signed, alg, &ed_key),
                Err(JwsError::KeyMismatch),
                "an RSA algorithm with an Ed25519 key"
            );
        }
    }

    #[test]
    fn none_and_hmac_are_not_algorithms() {
        for name in [
            "none", "None", "HS256", "HS384", "HS512", "rs256", "RS256 ", "",
        ] {
            assert_eq!(Algorithm::from_name(name), None, "{name:?}");
        }
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
    }

    #[test]
    fn malformed_compact_forms() {
        for text in [
            "",
            "a.b",
            "a.b.c.d",
            "a.b.c.d.e",
            "e30.e30.!!",
            "e30=.e30.AA",
            "e30.e30",
        ] {
            assert_eq!(
                split_compact(text).err(),
                Some(JwsError::Malformed),
                "{text}"
            );
        }
        // An empty signature part splits (and then fails verification).
        let parts = split_compact("e30.e30.").unwrap();
        assert!(parts.signature.is_empty());
        assert_eq!(parts.signing_input, "e30.e30");
    }
}

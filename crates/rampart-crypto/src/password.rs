//! Argon2id password hashing. The parameters are recorded in each PHC string, so a
//! password hashed under old parameters still verifies, and is re-hashed on the next
//! successful login when the configured parameters change.

use argon2::password_hash::{PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::CryptoError;

/// Argon2id cost parameters. The defaults are OWASP's first recommendation
/// (19 MiB, 2 iterations, 1 lane).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordParams {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The result of checking a password.
#[derive(Debug, PartialEq, Eq)]
pub enum PasswordVerdict {
    /// Wrong password (or a stored hash that cannot be read).
    Mismatch,
    /// Right password; `rehash` says whether the stored hash uses other parameters.
    Match { rehash: bool },
}

#[derive(Clone, Debug)]
pub struct PasswordHasher {
    params: PasswordParams,
    /// A hash under the current parameters, verified against when no user matches, so
    /// that an unknown email costs exactly one Argon2 run, like a known one. Made on first
    /// use, so that start-up does not pay for it.
    dummy_phc: std::sync::Arc<std::sync::OnceLock<String>>,
}

impl PasswordHasher {
    pub fn new(params: PasswordParams) -> Result<Self, CryptoError> {
        Self::argon(params)?;
        Ok(Self {
            params,
            dummy_phc: std::sync::Arc::default(),
        })
    }

    fn argon(params: PasswordParams) -> Result<Argon2<'static>, CryptoError> {
        let argon_params = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|error| CryptoError::Password(error.to_string()))?;
        Ok(Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            argon_params,
        ))
    }

    /// Hashes a password into a PHC string with a fresh 16-byte salt.
    pub fn hash(&self, password: &str) -> Result<String, CryptoError> {
        let salt_bytes = crate::random::bytes::<16>()?;
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|error| CryptoError::Password(error.to_string()))?;
        let hash = argon2::PasswordHasher::hash_password(
            &Self::argon(self.params)?,
            password.as_bytes(),
            &salt,
        )
        .map_err(|error| CryptoError::Password(error.to_string()))?;
        Ok(hash.to_string())
    }

    /// Verifies `password` against a stored PHC string in constant time.
    pub fn verify(&self, password: &str, stored_phc: &str) -> PasswordVerdict {
        let Ok(parsed) = PasswordHash::new(stored_phc) else {
            return PasswordVerdict::Mismatch;
        };
        // Verification uses the parameters recorded in the PHC string.
        let verifier = Argon2::default();
        if verifier
            .verify_password(password.as_bytes(), &parsed)
            .is_err()
        {
            return PasswordVerdict::Mismatch;
        }
        let current = Params::try_from(&parsed).ok().map(|params| PasswordParams {
            memory_kib: params.m_cost(),
            iterations: params.t_cost(),
            parallelism: params.p_cost(),
        });
        let same_algorithm = parsed.algorithm.as_str() == "argon2id"
            && parsed.version == Some(u32::from(Version::V0x13));
        PasswordVerdict::Match {
            rehash: !same_algorithm || current != Some(self.params),
        }
    }

    /// Spends the same time as a real verification; used when no user matches, so that
    /// response times do not reveal which emails exist.
    pub fn verify_dummy(&self, password: &str) {
        let phc = self.dummy_phc.get_or_init(|| {
            self.hash("rampart-dummy-password-for-timing")
                .unwrap_or_default()
        });
        let _ = self.verify(password, phc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordParams {
        PasswordParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn hashes_verify_and_flag_rehash_when_parameters_change() {
        let old = PasswordHasher::new(cheap()).unwrap();
        let phc = old.hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert_eq!(
            old.verify("correct horse battery", &phc),
            PasswordVerdict::Match { rehash: false }
        );
        assert_eq!(
            old.verify("wrong horse battery", &phc),
            PasswordVerdict::Mismatch
        );
        let newer = PasswordHasher::new(PasswordParams {
            memory_kib: 2048,
            ..cheap()
        })
        .unwrap();
        assert_eq!(
            newer.verify("correct horse battery", &phc),
            PasswordVerdict::Match { rehash: true }
        );
        assert_eq!(
            newer.verify("x", "not a phc string"),
            PasswordVerdict::Mismatch
        );
    }
}

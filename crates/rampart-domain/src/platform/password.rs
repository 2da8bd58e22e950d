//! Password rules from OWASP ASVS 5.0 V6.2: a minimum length (at least 8, we default to
//! 12), at least 64 characters allowed, no composition rules, any printable Unicode
//! including spaces, and refusal of passwords that are commonly used or contain the
//! account's own email.

use crate::ValidationError;
use crate::limits::{PASSWORD_CHARS_MAX, PASSWORD_CHARS_MIN_FLOOR};

/// The most common passwords of at least eight characters (from public breach corpora);
/// ASVS V6.2.4 asks that these be refused. Compared case-insensitively.
const COMMON_PASSWORDS: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "123123123",
    "password",
    "password1",
    "password123",
    "passw0rd",
    "qwertyuiop",
    "qwerty123",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "11111111",
    "00000000",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "welcome1",
    "abc12345",
    "letmein1",
    "trustno1",
    "superman",
    "11111111111",
    "987654321",
    "qwertyui",
    "asdfghjkl",
    "zaq12wsx",
    "1qaz2wsx",
    "changeme",
    "administrator",
    "passwordpassword",
    "correcthorsebatterystaple",
    "qwerty12345",
    "aa12345678",
    "password1234",
    "welcome123",
    "admin1234",
    "admin12345",
    "rampart123",
    "rampartrampart",
];

/// The password policy in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub chars_min: usize,
}

impl PasswordPolicy {
    /// Builds a policy; a minimum below the ASVS floor of 8 is refused.
    pub fn new(chars_min: usize) -> Result<Self, ValidationError> {
        if !(PASSWORD_CHARS_MIN_FLOOR..=PASSWORD_CHARS_MAX).contains(&chars_min) {
            return Err(ValidationError::new(
                "password_chars_min",
                format!("must be between {PASSWORD_CHARS_MIN_FLOOR} and {PASSWORD_CHARS_MAX}"),
            ));
        }
        Ok(Self { chars_min })
    }

    /// Checks a candidate password for the account with `email`. The error never contains
    /// the password.
    pub fn check(&self, password: &str, email: &str) -> Result<(), ValidationError> {
        let length = password.chars().count();
        if length < self.chars_min {
            return Err(ValidationError::new(
                "password",
                format!("must be at least {} characters", self.chars_min),
            ));
        }
        if length > PASSWORD_CHARS_MAX {
            return Err(ValidationError::new(
                "password",
                format!("must be at most {PASSWORD_CHARS_MAX} characters"),
            ));
        }
        if password.chars().any(|c| c.is_control()) {
            return Err(ValidationError::new(
                "password",
                "must not contain control characters",
            ));
        }
        let lowered = password.to_lowercase();
        if COMMON_PASSWORDS.iter().any(|common| *common == lowered) {
            return Err(ValidationError::new(
                "password",
                "is too common; choose another",
            ));
        }
        let local_part = email.split('@').next().unwrap_or_default().to_lowercase();
        if local_part.len() >= 4 && lowered.contains(&local_part) || lowered == email.to_lowercase()
        {
            return Err(ValidationError::new(
                "password",
                "must not contain the account's email",
            ));
        }
        if password.chars().all(|c| password.starts_with(c)) {
            return Err(ValidationError::new(
                "password",
                "must not be a single repeated character",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_follows_asvs() {
        let policy = PasswordPolicy::new(12).unwrap();
        assert!(policy.check("correct horse battery", "a@x.io").is_ok());
        assert!(
            policy.check("ünïcødé pässwörd", "a@x.io").is_ok(),
            "unicode allowed"
        );
        assert!(
            policy.check(&"ab".repeat(32), "a@x.io").is_ok(),
            "64 chars allowed"
        );
        assert!(policy.check("short pass", "a@x.io").is_err());
        assert!(
            policy.check("PasswordPassword", "a@x.io").is_err(),
            "common"
        );
        assert!(
            policy.check("aliceinwonderland", "alice@x.io").is_err(),
            "email"
        );
        assert!(
            policy.check("aaaaaaaaaaaaaaa", "a@x.io").is_err(),
            "repeated"
        );
        assert!(
            policy.check(&"ab".repeat(65), "a@x.io").is_err(),
            "too long"
        );
        assert!(PasswordPolicy::new(7).is_err());
    }
}

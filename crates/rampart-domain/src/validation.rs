//! Validated values. Each type can only be built through its parser, so holding one is
//! proof that the value is well formed.

use std::fmt;

use crate::limits::{
    DESCRIPTION_CHARS_MAX, DISPLAY_NAME_CHARS_MAX, EMAIL_CHARS_MAX, NAME_CHARS_MAX, SLUG_CHARS_MAX,
};

/// A value failed validation. `field` names the input field, `reason` says why in words
/// a user can act on. Neither ever contains the offending value (it may be a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct ValidationError {
    pub field: &'static str,
    pub reason: String,
}

impl ValidationError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }

    /// The same error reported against another field name (a slug parsed for `org`).
    pub fn for_field(mut self, field: &'static str) -> Self {
        self.field = field;
        self
    }
}

/// An organisation or project identifier: `[a-z0-9][a-z0-9-]{0,62}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let mut chars = value.chars();
        let Some(first) = chars.next() else {
            return Err(ValidationError::new("identifier", "must not be empty"));
        };
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(ValidationError::new(
                "identifier",
                "must start with a lowercase letter or a digit",
            ));
        }
        if value.len() > SLUG_CHARS_MAX {
            return Err(ValidationError::new(
                "identifier",
                format!("must be at most {SLUG_CHARS_MAX} characters"),
            ));
        }
        if !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(ValidationError::new(
                "identifier",
                "may contain only lowercase letters, digits and '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Slug({})", self.0)
    }
}

fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

fn bounded_text(
    field: &'static str,
    value: &str,
    max: usize,
    allow_empty: bool,
    allow_newlines: bool,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if !allow_empty && trimmed.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    let bad_control = if allow_newlines {
        trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    } else {
        has_control(trimmed)
    };
    if bad_control {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, $field:literal, $max:expr, $allow_empty:expr, $allow_newlines:expr) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, ValidationError> {
                bounded_text($field, value, $max, $allow_empty, $allow_newlines).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A human name of an organisation, project, service account or token.
    Name, "name", NAME_CHARS_MAX, false, false
);
text_type!(
    /// Free text describing something; may be empty, may span lines.
    Description, "description", DESCRIPTION_CHARS_MAX, true, true
);
text_type!(
    /// A user's display name.
    DisplayName, "display_name", DISPLAY_NAME_CHARS_MAX, false, false
);

/// An email address as entered, plus its normalised (lowercase) form used for uniqueness.
///
/// We check shape only (one `@`, non-empty local part and a dotted-or-local domain, no
/// spaces or control characters); deliverability is proven by use, not by a regex.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Email {
    as_entered: String,
    normalized: String,
}

impl Email {
    pub fn parse(value: &str) -> Result<Self, ValidationError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ValidationError::new("email", "must not be empty"));
        }
        if value.chars().count() > EMAIL_CHARS_MAX {
            return Err(ValidationError::new(
                "email",
                format!("must be at most {EMAIL_CHARS_MAX} characters"),
            ));
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValidationError::new(
                "email",
                "must not contain spaces or control characters",
            ));
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return Err(ValidationError::new("email", "must contain '@'"));
        };
        if local.is_empty() || domain.is_empty() || domain.contains('@') || local.contains('@') {
            return Err(ValidationError::new(
                "email",
                "must have the form local@domain",
            ));
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(ValidationError::new("email", "has an invalid domain"));
        }
        Ok(Self {
            as_entered: value.to_owned(),
            normalized: value.to_lowercase(),
        })
    }

    /// Rebuilds an email read back from the store (already validated when written).
    pub fn from_stored(as_entered: String) -> Self {
        let normalized = as_entered.to_lowercase();
        Self {
            as_entered,
            normalized,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.as_entered
    }

    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_entered)
    }
}

/// Whether a JSON text carries a NUL character in a string (`\u0000`). Text with NUL
/// cannot be stored alike on both engines (PostgreSQL refuses it in `TEXT`), so every
/// JSON input is refused with it, the same way on both. The text is assumed to be valid
/// JSON (parse it first): outside strings there is no backslash, so escapes are read in
/// order and an escaped backslash followed by `u0000` is not mistaken for a NUL.
pub fn json_has_nul(text: &[u8]) -> bool {
    let mut bytes = text.iter();
    while let Some(byte) = bytes.next() {
        if *byte == 0 {
            return true;
        }
        if *byte != b'\\' {
            continue;
        }
        match bytes.next() {
            Some(b'u') => {
                let digits: Vec<u8> = bytes.by_ref().take(4).copied().collect();
                if digits == b"0000" {
                    return true;
                }
            }
            Some(_) => {}
            None => return false,
        }
    }
    false
}

/// Whether a text holds a NUL character (see [`json_has_nul`]).
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_contract() {
        for ok in ["a", "default", "prod-eu-1", "0", &"a".repeat(63)] {
            assert!(Slug::parse(ok).is_ok(), "{ok} should be accepted");
        }
        for bad in [
            "",
            "-a",
            "A",
            "a_b",
            "a.b",
            "á",
            " a",
            &"a".repeat(64),
            "a/b",
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn emails_are_unique_case_insensitively() {
        let a = Email::parse("Alice@Example.COM").unwrap();
        let b = Email::parse("alice@example.com").unwrap();
        assert_eq!(a.normalized(), b.normalized());
        assert_eq!(a.as_str(), "Alice@Example.COM");
        for bad in [
            "", "alice", "@x", "a@", "a b@x.y", "a@b@c", "a@.x", "a@x..y",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn names_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(Name::parse("  Prod  ").unwrap().as_str(), "Prod");
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse("a\u{7}b").is_err());
        assert!(Name::parse(&"x".repeat(101)).is_err());
        assert!(Description::parse("").is_ok());
        assert!(Description::parse("line one\nline two").is_ok());
    }

    /// The oracle: a parser's reading of every key and string.
    fn holds_nul(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(text) => text.contains('\0'),
            serde_json::Value::Array(items) => items.iter().any(holds_nul),
            serde_json::Value::Object(map) => map
                .iter()
                .any(|(key, value)| key.contains('\0') || holds_nul(value)),
            _ => false,
        }
    }

    #[test]
    fn a_nul_is_found_in_json_strings_and_nowhere_else() {
        for (json, nul) in [
            (r#"{"a": "x\u0000y"}"#, true),
            (r#"{"a\u0000": 1}"#, true),
            (r#"["\u0000"]"#, true),
            (r#"{"a": "\\u0000"}"#, false),
            (r#"{"a": "\\\u0000"}"#, true),
            (r#"{"a": "\u00000"}"#, true),
            (r#"{"a": "\u0001"}"#, false),
            (r#"{"a": "\n\""}"#, false),
            (r#"{"a": "u0000"}"#, false),
        ] {
            assert_eq!(json_has_nul(json.as_bytes()), nul, "{json}");
            let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
            assert_eq!(holds_nul(&parsed), nul, "{json}: agrees with a parser");
        }
        assert!(json_has_nul(b"\0"));
        assert!(has_nul("a\0") && !has_nul("a0"));
    }
}

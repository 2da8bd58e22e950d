//! Contact methods: where a user is told about pages outside the app — an email
//! address, a Slack-compatible incoming webhook or a generic webhook signed with
//! HMAC-SHA256. Each belongs to one user in one organisation. This module owns their
//! kinds and the shape checks of labels and addresses; whether an address works is
//! proven by a delivery, not here.

use crate::validation::{Email, ValidationError};

/// Contact methods one user may have in one organisation.
pub const CONTACT_METHODS_MAX: usize = 16;
/// Characters of a label.
pub const LABEL_CHARS_MAX: usize = 64;
/// Characters of a webhook URL.
pub const URL_CHARS_MAX: usize = 2048;

/// How a contact method is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactKind {
    /// An email sent by the delegate through its SMTP relay.
    Email,
    /// A Slack-compatible incoming webhook (`{"text": …}` posted as JSON).
    Slack,
    /// A JSON POST signed with the method's own secret (`X-Rampart-Signature`).
    Webhook,
}

impl ContactKind {
    pub const ALL: [ContactKind; 3] =
        [ContactKind::Email, ContactKind::Slack, ContactKind::Webhook];

    pub const fn as_str(self) -> &'static str {
        match self {
            ContactKind::Email => "email",
            ContactKind::Slack => "slack",
            ContactKind::Webhook => "webhook",
        }
    }

    pub fn parse(text: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| ValidationError::new("kind", "must be email, slack or webhook"))
    }

    /// Checks `address` for this kind and returns it as it will be stored: an email
    /// address for `email`, an `https://` (or `http://`) URL for the webhooks.
    pub fn check_address(self, address: &str) -> Result<String, ValidationError> {
        match self {
            ContactKind::Email => Email::parse(address)
                .map(|email| email.as_str().to_owned())
                .map_err(|error| error.for_field("address")),
            ContactKind::Slack | ContactKind::Webhook => check_url(address),
        }
    }
}

/// A label shown instead of the address (timelines, lists): 1 to 64 printable
/// characters, unique per user and organisation.
pub fn check_label(label: &str) -> Result<String, ValidationError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > LABEL_CHARS_MAX {
        return Err(ValidationError::new(
            "label",
            format!("must be 1 to {LABEL_CHARS_MAX} characters"),
        ));
    }
    if label.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "label",
            "must not contain control characters",
        ));
    }
    Ok(label.to_owned())
}

/// An absolute `https://` or `http://` URL with a host, no spaces or control
/// characters, no user information (credentials belong in the signing secret).
fn check_url(url: &str) -> Result<String, ValidationError> {
    let bad = |reason: &str| ValidationError::new("address", reason.to_owned());
    if url.chars().count() > URL_CHARS_MAX {
        return Err(bad(&format!("must be at most {URL_CHARS_MAX} characters")));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| bad("must be an https:// or http:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.starts_with(':') {
        return Err(bad("must name a host"));
    }
    if authority.contains('@') {
        return Err(bad("must not carry a user name or password"));
    }
    Ok(url.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_per_kind() {
        assert_eq!(
            ContactKind::Email
                .check_address(" Ops@Example.com ")
                .unwrap(),
            "Ops@Example.com"
        );
        assert!(ContactKind::Email.check_address("no-at-sign").is_err());
        for good in [
            "https://hooks.slack.com/services/T0/B0/x",
            "http://127.0.0.1:8080/hook?x=1",
            "https://[::1]:9/",
        ] {
            assert!(ContactKind::Webhook.check_address(good).is_ok(), "{good}");
        }
        for bad in [
            "ftp://example.com/",
            "https://",
            "https:///path",
            "https://user:pw@example.com/",
            "https://exa mple.com/",
            "https://example.com/\0",
            "javascript:alert(1)",
        ] {
            let error = ContactKind::Slack.check_address(bad).unwrap_err();
            assert_eq!(error.field, "address", "{bad}");
        }
        let long = format!("https://example.com/{}", "a".repeat(URL_CHARS_MAX));
        assert!(ContactKind::Webhook.check_address(&long).is_err());
    }

    #[test]
    fn labels_and_kinds() {
        assert_eq!(check_label("  Work phone ").unwrap(), "Work phone");
        assert!(check_label("").is_err());
        assert!(check_label("a\nb").is_err());
        assert!(check_label(&"x".repeat(LABEL_CHARS_MAX + 1)).is_err());
        for kind in ContactKind::ALL {
            assert_eq!(ContactKind::parse(kind.as_str()).unwrap(), kind);
        }
        assert!(ContactKind::parse("sms").is_err());
    }
}

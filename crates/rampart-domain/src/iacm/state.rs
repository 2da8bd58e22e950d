//! Terraform/OpenTofu state: what a stored body must be, which writes a workspace
//! accepts (the serial/lineage rules the stock `http` backend client relies on), and
//! the lock info a client sends.

use serde::Deserialize;

/// What the backend needs to know of a state body. The body itself is stored exactly as
/// sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateHeader {
    pub serial: u64,
    pub lineage: String,
    /// Managed resources and data sources in the state (0: an empty state).
    pub resource_count: u64,
}

/// Why a state body was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the state body is empty")]
    Empty,
    #[error("the state body is not valid JSON: {0}")]
    NotJson(String),
    #[error("state format version {0} is not supported (only version 4)")]
    UnsupportedVersion(u64),
    #[error("the state has no lineage")]
    NoLineage,
}

#[derive(Deserialize)]
struct RawState {
    version: Option<u64>,
    serial: Option<u64>,
    lineage: Option<String>,
    #[serde(default)]
    resources: Vec<serde::de::IgnoredAny>,
}

/// Parses and checks a state body: JSON, `"version": 4`, a serial and a non-empty
/// lineage (at most 128 characters).
pub fn parse_state(body: &[u8]) -> Result<StateHeader, StateError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(StateError::Empty);
    }
    let raw: RawState =
        serde_json::from_slice(body).map_err(|error| StateError::NotJson(error.to_string()))?;
    match raw.version {
        Some(4) => {}
        other => return Err(StateError::UnsupportedVersion(other.unwrap_or(0))),
    }
    let lineage = raw
        .lineage
        .filter(|lineage| !lineage.is_empty() && lineage.len() <= 128)
        .ok_or(StateError::NoLineage)?;
    Ok(StateHeader {
        serial: raw.serial.unwrap_or(0),
        lineage,
        resource_count: raw.resources.len() as u64,
    })
}

/// The newest stored version, as the write rules see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentState {
    pub serial: u64,
    pub lineage: String,
    pub resource_count: u64,
    pub sha256: [u8; 32],
}

/// What to do with a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteDecision {
    /// Store it as a new version.
    NewVersion,
    /// The same bytes as the newest version: a retry; nothing changes.
    Retry,
    /// Refused (409) with this explanation.
    Conflict(String),
}

/// The rules: same serial and identical bytes is a retry; same serial and different
/// bytes, a lower serial, or a different lineage over a state that has resources are
/// refused; anything else is a new version.
pub fn decide_write(
    current: Option<&CurrentState>,
    new: &StateHeader,
    new_sha256: &[u8; 32],
) -> WriteDecision {
    let Some(current) = current else {
        return WriteDecision::NewVersion;
    };
    if current.lineage != new.lineage {
        if current.resource_count > 0 {
            return WriteDecision::Conflict(format!(
                "the state has lineage {} and holds resources; a state of lineage {} would \
                 replace it (roll back or delete the workspace's state deliberately instead)",
                current.lineage, new.lineage
            ));
        }
        return WriteDecision::NewVersion;
    }
    if new.serial == current.serial {
        if &current.sha256 == new_sha256 {
            return WriteDecision::Retry;
        }
        return WriteDecision::Conflict(format!(
            "serial {} is already stored with different content; a changed state needs a \
             higher serial",
            new.serial
        ));
    }
    if new.serial < current.serial {
        return WriteDecision::Conflict(format!(
            "serial {} is lower than the stored serial {}: this state is older than the \
             workspace's",
            new.serial, current.serial
        ));
    }
    WriteDecision::NewVersion
}

/// A lock as the client describes it (Terraform's `LockInfo`); stored verbatim, the ID
/// is what unlocking and locked writes must repeat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRequest {
    pub id: String,
    pub operation: String,
    pub who: String,
}

#[derive(Deserialize)]
struct RawLock {
    #[serde(rename = "ID")]
    id: Option<String>,
    #[serde(rename = "Operation", default)]
    operation: String,
    #[serde(rename = "Who", default)]
    who: String,
}

/// Parses a lock info body; it must carry a non-empty `ID` of at most 128 characters.
pub fn parse_lock_info(body: &[u8]) -> Result<LockRequest, String> {
    let raw: RawLock = serde_json::from_slice(body)
        .map_err(|error| format!("the lock info is not valid JSON: {error}"))?;
    let id = raw
        .id
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .ok_or_else(|| "the lock info needs an ID (1 to 128 characters)".to_owned())?;
    Ok(LockRequest {
        id,
        operation: raw.operation.chars().take(64).collect(),
        who: raw.who.chars().take(256).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(serial: u64, lineage: &str, resources: usize) -> Vec<u8> {
        let resources: Vec<serde_json::Value> = (0..resources)
            .map(|n| serde_json::json!({"mode": "managed", "type": "terraform_data", "name": format!("r{n}")}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "version": 4, "terraform_version": "1.15.5", "serial": serial,
            "lineage": lineage, "outputs": {}, "resources": resources,
        }))
        .unwrap()
    }

    fn current(serial: u64, lineage: &str, resources: u64, sha: u8) -> CurrentState {
        CurrentState {
            serial,
            lineage: lineage.into(),
            resource_count: resources,
            sha256: [sha; 32],
        }
    }

    #[test]
    fn state_bodies_are_checked() {
        let header = parse_state(&state(3, "abc", 2)).unwrap();
        assert_eq!(header.serial, 3);
        assert_eq!(header.lineage, "abc");
        assert_eq!(header.resource_count, 2);
        assert_eq!(parse_state(b"").unwrap_err(), StateError::Empty);
        assert_eq!(parse_state(b"  \n").unwrap_err(), StateError::Empty);
        assert!(matches!(parse_state(b"{nope"), Err(StateError::NotJson(_))));
        assert!(matches!(parse_state(b"[1]"), Err(StateError::NotJson(_))));
        assert_eq!(
            parse_state(br#"{"version": 3, "serial": 1, "lineage": "x"}"#).unwrap_err(),
            StateError::UnsupportedVersion(3)
        );
        assert_eq!(
            parse_state(br#"{"version": 4, "serial": 1}"#).unwrap_err(),
            StateError::NoLineage
        );
    }

    #[test]
    fn write_rules_follow_serial_and_lineage() {
        let new = |serial, lineage: &str| StateHeader {
            serial,
            lineage: lineage.into(),
            resource_count: 1,
        };
        assert_eq!(
            decide_write(None, &new(1, "a"), &[0; 32]),
            WriteDecision::NewVersion
        );
        let stored = current(5, "a", 3, 9);
        assert_eq!(
            decide_write(Some(&stored), &new(6, "a"), &[1; 32]),
            WriteDecision::NewVersion
        );
        assert_eq!(
            decide_write(Some(&stored), &new(5, "a"), &[9; 32]),
            WriteDecision::Retry
        );
        for refused in [new(5, "a"), new(4, "a"), new(9, "b")] {
            assert!(matches!(
                decide_write(Some(&stored), &refused, &[1; 32]),
                WriteDecision::Conflict(_)
            ));
        }
        // A new lineage over an empty state (terraform init on a fresh workspace) is fine.
        assert_eq!(
            decide_write(Some(&current(0, "a", 0, 9)), &new(1, "b"), &[1; 32]),
            WriteDecision::NewVersion
        );
    }

    #[test]
    fn lock_info_needs_an_id() {
        let lock = parse_lock_info(
            br#"{"ID":"f2a1","Operation":"OperationTypeApply","Who":"ci@runner","Version":"1.15.5"}"#,
        )
        .unwrap();
        assert_eq!(lock.id, "f2a1");
        assert_eq!(lock.operation, "OperationTypeApply");
        assert!(parse_lock_info(br#"{"Operation":"x"}"#).is_err());
        assert!(parse_lock_info(br#"{"ID":""}"#).is_err());
        assert!(parse_lock_info(b"nope").is_err());
    }
}

//! Terraform/OpenTofu state: what a stored body must be, which writes a workspace
//! accepts (the serial/lineage rules the stock `http` backend client relies on), and
//! the lock info a client sends.

use crate::WorkspaceId;
use jiff::Timestamp;

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
    /// JSON, but not the shape of a state (a field of the wrong type, an array for an
    /// object, a serial beyond [`SERIAL_MAX`]).
    #[error("the state does not have the shape of a Terraform state: {0}")]
    Shape(String),
}

/// The largest serial a state may carry: serials are stored as signed 64-bit numbers.
pub const SERIAL_MAX: u64 = i64::MAX as u64;

/// The parts of a state body the backend reads, with the types [`state_view`] reads
/// them with, so that every stored state can be shown (the values themselves are
/// skipped here).
#[derive(Deserialize)]
struct RawState {
    version: Option<u64>,
    serial: Option<u64>,
    lineage: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // read for its type: `state_view` reads it
    terraform_version: String,
    #[serde(default)]
    #[allow(dead_code)] // read for its type: `state_view` reads it
    outputs: std::collections::BTreeMap<String, serde::de::IgnoredAny>,
    #[serde(default)]
    resources: Vec<RawResource>,
}

/// A resource as [`ViewResource`] reads it, its instances' values skipped.
#[derive(Deserialize)]
#[allow(dead_code)] // fields read for their types: `state_view` reads them
struct RawResource {
    module: Option<String>,
    #[serde(default)]
    mode: String,
    #[serde(rename = "type", default)]
    resource_type: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    instances: Vec<serde::de::IgnoredAny>,
}

/// Reads a state body strictly (objects only, at every depth): syntax errors are
/// `NotJson`, a wrong shape is `Shape`.
fn read_state<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, StateError> {
    crate::json::from_slice(body).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => StateError::Shape(error.to_string()),
        _ => StateError::NotJson(error.to_string()),
    })
}

/// Parses and checks a state body: JSON of a state's shape, `"version": 4`, a serial of
/// at most [`SERIAL_MAX`] and a non-empty lineage (at most 128 characters).
pub fn parse_state(body: &[u8]) -> Result<StateHeader, StateError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(StateError::Empty);
    }
    let raw: RawState = read_state(body)?;
    match raw.version {
        Some(4) => {}
        other => return Err(StateError::UnsupportedVersion(other.unwrap_or(0))),
    }
    let lineage = raw
        .lineage
        .filter(|lineage| !lineage.is_empty() && lineage.len() <= 128 && !crate::has_nul(lineage))
        .ok_or(StateError::NoLineage)?;
    let serial = raw.serial.unwrap_or(0);
    if serial > SERIAL_MAX {
        return Err(StateError::Shape(format!(
            "serial {serial} is beyond the largest serial, {SERIAL_MAX}"
        )));
    }
    Ok(StateHeader {
        serial,
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
    let raw: RawLock = crate::json::from_slice(body)
        .map_err(|error| format!("the lock info is not valid JSON: {error}"))?;
    // The lock info is kept as text: a NUL cannot be stored alike on both engines.
    if crate::json_has_nul(body) {
        return Err("the lock info must not contain a NUL character".to_owned());
    }
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

/// One resource block of a state (managed resource or data source).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceView {
    /// `module.net.aws_vpc.main`, `data.terraform_remote_state.x`.
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    pub resource_type: String,
    pub name: String,
    /// The module address, `None` for the root module.
    pub module: Option<String>,
    pub provider: String,
    pub instances: usize,
}

/// One output; a sensitive output's value is never shown.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputView {
    pub name: String,
    pub sensitive: bool,
    /// `None` when sensitive.
    pub value: Option<serde_json::Value>,
}

/// What a state holds, for people.
#[derive(Clone, Debug, PartialEq)]
pub struct StateView {
    pub serial: u64,
    pub lineage: String,
    pub terraform_version: String,
    pub resources: Vec<ResourceView>,
    pub outputs: Vec<OutputView>,
    /// Module addresses in use, sorted.
    pub modules: Vec<String>,
}

#[derive(Deserialize)]
struct ViewState {
    serial: Option<u64>,
    lineage: Option<String>,
    #[serde(default)]
    terraform_version: String,
    #[serde(default)]
    outputs: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    resources: Vec<ViewResource>,
}

#[derive(Deserialize)]
struct ViewResource {
    module: Option<String>,
    #[serde(default)]
    mode: String,
    #[serde(rename = "type", default)]
    resource_type: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    provider: String,
    #[serde(default)]
    instances: Vec<ViewInstance>,
}

#[derive(Deserialize)]
struct ViewInstance {
    index_key: Option<serde_json::Value>,
    #[serde(default)]
    attributes: serde_json::Value,
}

impl ViewResource {
    fn address(&self) -> String {
        let mut address = String::new();
        if let Some(module) = &self.module {
            address.push_str(module);
            address.push('.');
        }
        if self.mode == "data" {
            address.push_str("data.");
        }
        address.push_str(&self.resource_type);
        address.push('.');
        address.push_str(&self.name);
        address
    }

    fn instance_address(&self, instance: &ViewInstance) -> String {
        match &instance.index_key {
            None => self.address(),
            Some(key) => format!("{}[{key}]", self.address()),
        }
    }
}

fn parse_view(body: &[u8]) -> Result<ViewState, StateError> {
    parse_state(body)?;
    read_state(body)
}

/// The resources, outputs (sensitive values masked) and modules of a state.
pub fn state_view(body: &[u8]) -> Result<StateView, StateError> {
    let state = parse_view(body)?;
    let mut modules: Vec<String> = state
        .resources
        .iter()
        .filter_map(|resource| resource.module.clone())
        .collect();
    modules.sort();
    modules.dedup();
    let outputs = state
        .outputs
        .iter()
        .map(|(name, output)| {
            let sensitive = output["sensitive"].as_bool().unwrap_or(false);
            OutputView {
                name: name.clone(),
                sensitive,
                value: (!sensitive).then(|| output["value"].clone()),
            }
        })
        .collect();
    Ok(StateView {
        serial: state.serial.unwrap_or(0),
        lineage: state.lineage.unwrap_or_default(),
        terraform_version: state.terraform_version,
        resources: state
            .resources
            .iter()
            .map(|resource| ResourceView {
                address: resource.address(),
                mode: resource.mode.clone(),
                resource_type: resource.resource_type.clone(),
                name: resource.name.clone(),
                module: resource.module.clone(),
                provider: resource.provider.clone(),
                instances: resource.instances.len(),
            })
            .collect(),
        outputs,
        modules,
    })
}

/// What changed between two states, by resource instance address and output name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StateDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub outputs_added: Vec<String>,
    pub outputs_removed: Vec<String>,
    pub outputs_changed: Vec<String>,
}

fn diff_maps(
    old: &std::collections::BTreeMap<String, serde_json::Value>,
    new: &std::collections::BTreeMap<String, serde_json::Value>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let added = new
        .keys()
        .filter(|k| !old.contains_key(*k))
        .cloned()
        .collect();
    let removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    let changed = new
        .iter()
        .filter(|(k, v)| old.get(*k).is_some_and(|before| before != *v))
        .map(|(k, _)| k.clone())
        .collect();
    (added, removed, changed)
}

/// Compares two states: resource instances added, removed or with changed attributes,
/// and outputs added, removed or changed (names only: values may be sensitive).
pub fn diff_states(old: &[u8], new: &[u8]) -> Result<StateDiff, StateError> {
    let instances = |state: &ViewState| {
        state
            .resources
            .iter()
            .flat_map(|resource| {
                resource.instances.iter().map(|instance| {
                    (
                        resource.instance_address(instance),
                        instance.attributes.clone(),
                    )
                })
            })
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let outputs = |state: &ViewState| {
        state
            .outputs
            .iter()
            .map(|(name, output)| (name.clone(), output.clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (old, new) = (parse_view(old)?, parse_view(new)?);
    let (added, removed, changed) = diff_maps(&instances(&old), &instances(&new));
    let (outputs_added, outputs_removed, outputs_changed) =
        diff_maps(&outputs(&old), &outputs(&new));
    Ok(StateDiff {
        added,
        removed,
        changed,
        outputs_added,
        outputs_removed,
        outputs_changed,
    })
}

/// A state version's row, without its body.
#[derive(Clone, Debug, PartialEq)]
pub struct StateVersion {
    pub workspace_id: WorkspaceId,
    pub version: u64,
    pub serial: u64,
    pub lineage: String,
    pub sha256: [u8; 32],
    pub size_bytes: u64,
    pub resource_count: u64,
    pub lock_id: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
    /// Why it was written when not by a client's write (a rollback).
    pub reason: Option<String>,
    pub chain_hash: [u8; 32],
}

/// A held lock.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkspaceLock {
    pub lock_id: String,
    /// The client's lock info, verbatim.
    pub info: String,
    pub operation: String,
    pub locked_by: String,
    pub locked_at: Timestamp,
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
        // JSON of another shape: a wrong type anywhere the views read, an array for
        // an object, a serial the store cannot hold.
        for shape in [
            r#"[1]"#,
            r#"[4, 1, "x"]"#,
            r#"{"version": 4, "serial": "1", "lineage": "x"}"#,
            r#"{"version": 4, "serial": -1, "lineage": "x"}"#,
            r#"{"version": 4, "serial": 9223372036854775808, "lineage": "x"}"#,
            r#"{"version": 4, "serial": 1, "lineage": ["x"]}"#,
            r#"{"version": 4, "serial": 1, "lineage": "x", "resources": {}}"#,
            r#"{"version": 4, "serial": 1, "lineage": "x", "resources": [["managed"]]}"#,
            r#"{"version": 4, "serial": 1, "lineage": "x", "resources": [{"instances": {}}]}"#,
            r#"{"version": 4, "serial": 1, "lineage": "x", "resources": [{"module": 1}]}"#,
            r#"{"version": 4, "serial": 1, "lineage": "x", "outputs": []}"#,
            r#"{"version": 4, "serial": 1, "lineage": "x", "terraform_version": 1}"#,
        ] {
            assert!(
                matches!(parse_state(shape.as_bytes()), Err(StateError::Shape(_))),
                "{shape}"
            );
        }
        let largest = format!(r#"{{"version": 4, "serial": {SERIAL_MAX}, "lineage": "x"}}"#);
        assert_eq!(parse_state(largest.as_bytes()).unwrap().serial, SERIAL_MAX);
        // What is accepted can be shown.
        let odd = br#"{"version": 4, "serial": 1, "lineage": "x", "resources":
            [{"module": null, "mode": "managed", "type": "t", "name": "n", "provider": "p",
              "instances": [{"index_key": [1], "attributes": null}]}]}"#;
        assert_eq!(state_view(odd).unwrap().resources.len(), 1);
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
    fn views_mask_sensitive_outputs_and_diffs_name_instances() {
        let old = serde_json::to_vec(&serde_json::json!({
            "version": 4, "serial": 1, "lineage": "l", "terraform_version": "1.15.5",
            "outputs": {"url": {"value": "https://a", "type": "string"},
                        "password": {"value": "hunter2", "type": "string", "sensitive": true}},
            "resources": [
                {"mode": "managed", "type": "terraform_data", "name": "a", "provider": "p",
                 "instances": [{"attributes": {"id": "1"}}]},
                {"module": "module.net", "mode": "data", "type": "terraform_remote_state",
                 "name": "b", "provider": "p",
                 "instances": [{"index_key": 0, "attributes": {"id": "2"}},
                               {"index_key": "x", "attributes": {"id": "3"}}]}
            ]
        }))
        .unwrap();
        let view = state_view(&old).unwrap();
        assert_eq!(
            view.resources[1].address,
            "module.net.data.terraform_remote_state.b"
        );
        assert_eq!(view.resources[1].instances, 2);
        assert_eq!(view.modules, vec!["module.net".to_owned()]);
        let password = view.outputs.iter().find(|o| o.name == "password").unwrap();
        assert!(password.sensitive && password.value.is_none());
        let url = view.outputs.iter().find(|o| o.name == "url").unwrap();
        assert_eq!(url.value, Some(serde_json::json!("https://a")));

        let new = serde_json::to_vec(&serde_json::json!({
            "version": 4, "serial": 2, "lineage": "l",
            "outputs": {"url": {"value": "https://b", "type": "string"}},
            "resources": [
                {"mode": "managed", "type": "terraform_data", "name": "a", "provider": "p",
                 "instances": [{"attributes": {"id": "1b"}}]},
                {"mode": "managed", "type": "terraform_data", "name": "c", "provider": "p",
                 "instances": [{"attributes": {"id": "4"}}]}
            ]
        }))
        .unwrap();
        let diff = diff_states(&old, &new).unwrap();
        assert_eq!(diff.added, vec!["terraform_data.c".to_owned()]);
        assert_eq!(
            diff.removed,
            vec![
                "module.net.data.terraform_remote_state.b[\"x\"]".to_owned(),
                "module.net.data.terraform_remote_state.b[0]".to_owned()
            ]
        );
        assert_eq!(diff.changed, vec!["terraform_data.a".to_owned()]);
        assert_eq!(diff.outputs_removed, vec!["password".to_owned()]);
        assert_eq!(diff.outputs_changed, vec!["url".to_owned()]);
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

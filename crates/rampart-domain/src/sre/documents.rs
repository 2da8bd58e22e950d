//! Schedules and escalation policies as stored (JSON, the shape users write through the
//! API's wire types), parsed strictly into the rule types of [`super::schedules`] and
//! [`super::escalation_policies`]. A value at its default is not written, so a stored
//! document holds what its author wrote.

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::escalation_policies::{Level, Policy, Target};
use super::schedules::{Layer, Override, Restriction, Rotation, RotationUnit, Schedule};
use crate::{Name, ProjectId, Slug, ValidationError};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDoc {
    /// An IANA zone such as `Europe/Berlin`.
    pub time_zone: String,
    pub layers: Vec<LayerDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideDoc>,
}

fn one() -> u32 {
    1
}

fn is_one(number: &u32) -> bool {
    *number == 1
}

fn is_zero(number: &i32) -> bool {
    *number == 0
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LayerDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// `hour`, `day`, `week` or `month`.
    pub unit: String,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub every: u32,
    /// Local wall time of the first hand-off, `2026-11-23T09:00`.
    pub first_handoff: String,
    /// User ids, in rotation order.
    pub participants: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<RestrictionDoc>,
    /// RFC 3339; default: the first hand-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum RestrictionDoc {
    Daily {
        start: String,
        end: String,
    },
    Weekly {
        start_day: String,
        start: String,
        end_day: String,
        end: String,
    },
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OverrideDoc {
    /// The override's id (a UUIDv7, minted when it is created through the overrides
    /// API). Overrides written before ids existed, or given without one in a full
    /// definition, have none stored: [`OverrideDoc::id_or_derived`] answers one derived
    /// from their content instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub user: String,
    pub starts_at: String,
    pub ends_at: String,
}

impl OverrideDoc {
    /// The override's id: the stored one, or for an override stored without one, an id
    /// derived deterministically from its content (`legacy-` and 16 hex digits of the
    /// FNV-1a hash of user, start and end), which stays the same as long as the override
    /// does and never changes the stored document.
    pub fn id_or_derived(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for part in [&self.user, &self.starts_at, &self.ends_at] {
            for byte in part.bytes().chain(std::iter::once(0)) {
                hash ^= u64::from(byte);
                hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        format!("legacy-{hash:016x}")
    }
}

fn invalid(field: &'static str, reason: impl Into<String>) -> ValidationError {
    ValidationError::new(field, reason)
}

fn time(text: &str) -> Result<Time, ValidationError> {
    text.parse::<Time>().map_err(|_| {
        invalid(
            "restrictions",
            format!("{text:?} is not a time such as 09:00"),
        )
    })
}

fn weekday(text: &str) -> Result<Weekday, ValidationError> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => {
            return Err(invalid(
                "restrictions",
                format!("{text:?} is not a weekday"),
            ));
        }
    })
}

fn instant(text: &str, field: &'static str) -> Result<Timestamp, ValidationError> {
    text.parse::<Timestamp>()
        .map_err(|_| invalid(field, format!("{text:?} is not an RFC 3339 time")))
}

/// Parses an IANA time zone name from the bundled database.
pub fn time_zone(name: &str) -> Result<TimeZone, ValidationError> {
    TimeZone::get(name).map_err(|_| invalid("time_zone", format!("{name:?} is not a time zone")))
}

impl ScheduleDoc {
    /// The schedule these words describe, checked.
    pub fn to_schedule(&self) -> Result<Schedule, ValidationError> {
        let tz = time_zone(&self.time_zone)?;
        if self.layers.is_empty() || self.layers.len() > 20 {
            return Err(invalid("layers", "a schedule has 1 to 20 layers"));
        }
        let mut layers = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let first_handoff = layer.first_handoff.parse::<DateTime>().map_err(|_| {
                invalid(
                    "first_handoff",
                    "a local wall time such as 2026-11-23T09:00",
                )
            })?;
            let restrictions = layer
                .restrictions
                .iter()
                .map(|restriction| {
                    Ok(match restriction {
                        RestrictionDoc::Daily { start, end } => Restriction::Daily {
                            start: time(start)?,
                            end: time(end)?,
                        },
                        RestrictionDoc::Weekly {
                            start_day,
                            start,
                            end_day,
                            end,
                        } => Restriction::Weekly {
                            start_day: weekday(start_day)?,
                            start: time(start)?,
                            end_day: weekday(end_day)?,
                            end: time(end)?,
                        },
                    })
                })
                .collect::<Result<Vec<_>, ValidationError>>()?;
            let starts_at = match &layer.starts_at {
                Some(text) => instant(text, "starts_at")?,
                None => super::schedules::instant_of(&tz, first_handoff),
            };
            layers.push(Layer {
                name: layer.name.clone(),
                priority: layer.priority,
                rotation: Rotation {
                    unit: RotationUnit::parse(&layer.unit)?,
                    every: layer.every,
                    first_handoff,
                    participants: layer.participants.clone(),
                },
                restrictions,
                starts_at,
                ends_at: layer
                    .ends_at
                    .as_deref()
                    .map(|text| instant(text, "ends_at"))
                    .transpose()?,
            });
        }
        let overrides = self
            .overrides
            .iter()
            .map(|o| {
                Ok(Override {
                    user: o.user.clone(),
                    starts_at: instant(&o.starts_at, "overrides")?,
                    ends_at: instant(&o.ends_at, "overrides")?,
                })
            })
            .collect::<Result<Vec<_>, ValidationError>>()?;
        let schedule = Schedule {
            time_zone: tz,
            layers,
            overrides,
        };
        schedule.validate()?;
        Ok(schedule)
    }

    /// Every user the schedule names.
    pub fn users(&self) -> Vec<String> {
        let mut users: Vec<String> = self
            .layers
            .iter()
            .flat_map(|layer| layer.participants.iter().cloned())
            .chain(self.overrides.iter().map(|o| o.user.clone()))
            .collect();
        users.sort();
        users.dedup();
        users
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    pub levels: Vec<LevelDoc>,
    #[serde(default, skip_serializing_if = "u32_is_zero")]
    pub repeats: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LevelDoc {
    pub targets: Vec<TargetDoc>,
    pub delay_minutes: u32,
}

/// `{"type": "user" | "group" | "schedule", "id": …}`: a user id, a group id, or a
/// schedule identifier of the same project.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TargetDoc {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

fn u32_is_zero(number: &u32) -> bool {
    *number == 0
}

impl PolicyDoc {
    pub fn to_policy(&self) -> Result<Policy, ValidationError> {
        let levels = self
            .levels
            .iter()
            .map(|level| {
                Ok(Level {
                    targets: level
                        .targets
                        .iter()
                        .map(|target| match target.kind.as_str() {
                            "user" => Ok(Target::User(target.id.clone())),
                            "group" => Ok(Target::Group(target.id.clone())),
                            "schedule" => Ok(Target::Schedule(target.id.clone())),
                            _ => Err(invalid("targets", "a target is a user, group or schedule")),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    delay: SignedDuration::from_mins(i64::from(level.delay_minutes)),
                })
            })
            .collect::<Result<Vec<_>, ValidationError>>()?;
        let policy = Policy {
            levels,
            repeats: self.repeats,
        };
        policy.validate()?;
        Ok(policy)
    }
}

/// Which kind of definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionKind {
    Schedule,
    EscalationPolicy,
}

/// A schedule or an escalation policy as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct DefinitionRecord {
    pub id: String,
    pub org_id: crate::OrgId,
    pub project_id: ProjectId,
    pub identifier: Slug,
    pub name: Name,
    /// The validated definition, JSON.
    pub definition: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_parse_strictly() {
        let doc: ScheduleDoc = serde_json::from_value(serde_json::json!({
            "time_zone": "Europe/Berlin",
            "layers": [{"name": "day", "unit": "week", "first_handoff": "2026-11-23T09:00",
                        "participants": ["u1", "u2"],
                        "restrictions": [{"type": "weekly", "start_day": "friday", "start": "18:00",
                                          "end_day": "monday", "end": "08:00"}]}],
            "overrides": [{"user": "u3", "starts_at": "2026-12-24T00:00:00Z", "ends_at": "2026-12-27T00:00:00Z"}]
        }))
        .unwrap();
        let schedule = doc.to_schedule().unwrap();
        assert_eq!(schedule.layers[0].rotation.unit, RotationUnit::Week);
        assert_eq!(doc.users(), vec!["u1", "u2", "u3"]);
        let mut bad = doc.clone();
        bad.time_zone = "Mars/Olympus".into();
        assert_eq!(bad.to_schedule().unwrap_err().field, "time_zone");
        let mut bad = doc.clone();
        bad.layers[0].first_handoff = "tomorrow".into();
        assert_eq!(bad.to_schedule().unwrap_err().field, "first_handoff");
        let mut bad = doc;
        bad.layers[0].participants.clear();
        assert!(bad.to_schedule().is_err());
        assert!(
            serde_json::from_value::<ScheduleDoc>(
                serde_json::json!({"time_zone": "UTC", "layers": [], "x": 1})
            )
            .is_err()
        );

        let policy: PolicyDoc = serde_json::from_value(serde_json::json!({
            "levels": [{"targets": [{"type": "schedule", "id": "primary"}], "delay_minutes": 5}],
            "repeats": 1
        }))
        .unwrap();
        assert_eq!(
            policy.to_policy().unwrap().levels[0].targets[0],
            Target::Schedule("primary".into())
        );
        let mut bad = policy;
        bad.levels[0].targets[0].kind = "team".into();
        assert!(bad.to_policy().is_err());
    }

    #[test]
    fn the_stored_form_omits_defaults_and_reads_what_earlier_versions_stored() {
        // Earlier versions stored the JSON the user sent, keys sorted, defaults spelt out
        // or not: both still read, and the same document is written back without them.
        let explicit: ScheduleDoc = serde_json::from_str(
            r#"{"layers":[{"every":1,"ends_at":null,"first_handoff":"2026-11-23T09:00","name":"day","participants":["u1"],"priority":0,"restrictions":[],"starts_at":null,"unit":"week"}],"overrides":[],"time_zone":"UTC"}"#,
        )
        .unwrap();
        let implicit: ScheduleDoc = serde_json::from_str(
            r#"{"layers":[{"first_handoff":"2026-11-23T09:00","name":"day","participants":["u1"],"unit":"week"}],"time_zone":"UTC"}"#,
        )
        .unwrap();
        assert_eq!(explicit, implicit);
        assert_eq!(
            serde_json::to_value(&implicit).unwrap(),
            serde_json::json!({"time_zone": "UTC", "layers": [{"name": "day", "unit": "week",
                "first_handoff": "2026-11-23T09:00", "participants": ["u1"]}]})
        );
        let policy: PolicyDoc = serde_json::from_str(
            r#"{"levels":[{"delay_minutes":5,"targets":[{"id":"primary","type":"schedule"}]}],"repeats":0}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&policy).unwrap(),
            serde_json::json!({"levels": [{"targets": [{"type": "schedule", "id": "primary"}],
                "delay_minutes": 5}]})
        );
    }
}

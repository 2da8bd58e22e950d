//! Wire types of on-call schedules: the schedule (its definition: time zone, layers with
//! rotations and restrictions, overrides), who is on call and on-call timelines.
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCreate {
    /// The schedule's identifier in its project (a slug), used in paths and by escalation
    /// policies.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    pub identifier: String,
    /// Its display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Who is on call when. Read by the server as a `ScheduleDefinition`; a
    /// definition of the wrong shape is refused as `invalid_definition`.
    #[schema(value_type = ScheduleDefinition)]
    pub definition: serde_json::Value,
}

/// A schedule's new name and definition (both replaced).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleUpdate {
    /// Its display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Who is on call when. Read by the server as a `ScheduleDefinition`; a
    /// definition of the wrong shape is refused as `invalid_definition`.
    #[schema(value_type = ScheduleDefinition)]
    pub definition: serde_json::Value,
}

/// An on-call schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Schedule {
    /// The schedule's id.
    pub id: String,
    /// Its identifier in its project.
    pub identifier: String,
    /// Its display name.
    pub name: String,
    /// Who is on call when.
    pub definition: ScheduleDefinition,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it was last changed (RFC 3339).
    pub updated_at: String,
}

/// Who is on call when: layers of rotations (the highest priority layer with someone on
/// call wins) and overrides above them all.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDefinition {
    /// An IANA zone such as `Europe/Berlin`; hand-offs and restrictions are wall times
    /// in it.
    pub time_zone: String,
    /// The rotations, 1 to 20.
    pub layers: Vec<ScheduleLayer>,
    /// Someone on call instead of the layers for a while; none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<ScheduleOverride>,
}

fn is_zero(number: &i32) -> bool {
    *number == 0
}

fn one() -> u32 {
    1
}

fn is_one(number: &u32) -> bool {
    *number == 1
}

/// One rotation of a schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleLayer {
    /// The layer's name, shown in timelines as `layer:<name>`.
    pub name: String,
    /// Higher wins where layers overlap (on a tie, the layer listed later); default 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// The rotation's unit: `hour`, `day`, `week` or `month`.
    pub unit: String,
    /// How many units each turn lasts; default 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    #[schema(default = 1)]
    pub every: u32,
    /// Local wall time of the first hand-off, `2026-11-23T09:00`.
    pub first_handoff: String,
    /// User ids, in rotation order.
    pub participants: Vec<String>,
    /// When the layer is on call at all (none: always).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<LayerRestriction>,
    /// When the layer starts (RFC 3339); default: the first hand-off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<String>,
    /// When the layer ends (RFC 3339); default: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<String>,
}

/// A window in which a layer is on call, by `type`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum LayerRestriction {
    /// Every day from `start` to `end`, wall times; a window whose end is not after its
    /// start crosses midnight, and equal ends mean all day.
    Daily {
        /// The local time the window opens, `09:00`.
        start: String,
        /// The local time it closes, `17:00`.
        end: String,
    },
    /// Every week from `start_day` `start` to `end_day` `end`; a window whose end is not
    /// after its start crosses the week's end, and equal ends mean all week.
    Weekly {
        /// The weekday the window opens, `monday` to `sunday`.
        start_day: String,
        /// The local time it opens on that day.
        start: String,
        /// The weekday the window closes.
        end_day: String,
        /// The local time it closes on that day.
        end: String,
    },
}

/// Someone on call instead of the layers, from `starts_at` to `ends_at`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleOverride {
    /// The override's id, used by `DELETE …/overrides/{override_id}`. The overrides API
    /// always answers it: a UUIDv7 for an override it created, or, for one stored
    /// without an id (written in a full definition), `legacy-` and 16 hex digits derived
    /// from its content. A full definition keeps the ids it is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The user id on call.
    pub user: String,
    /// When the override starts (RFC 3339).
    pub starts_at: String,
    /// When it ends (RFC 3339).
    pub ends_at: String,
}

/// A new override of a schedule: `user` on call instead of the layers from `starts_at`
/// to `ends_at` (at most 90 days).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleOverrideCreate {
    /// The user id on call.
    pub user: String,
    /// When the override starts (RFC 3339).
    pub starts_at: String,
    /// When it ends (RFC 3339).
    pub ends_at: String,
}

/// "Take my shift": the calling user on call from `starts_at` to `ends_at`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftTake {
    /// When the override starts (RFC 3339).
    pub starts_at: String,
    /// When it ends (RFC 3339).
    pub ends_at: String,
}

/// A schedule's overrides.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ScheduleOverrides {
    /// The schedule's identifier.
    pub schedule: String,
    /// Its overrides (each with its id), in the order the schedule holds them.
    pub overrides: Vec<ScheduleOverride>,
}

/// An optional range: only overrides overlapping `[from, to)`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionalRangeQuery {
    /// RFC 3339; default: no lower bound.
    #[serde(default)]
    pub from: Option<String>,
    /// RFC 3339; default: no upper bound.
    #[serde(default)]
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnCallQuery {
    /// RFC 3339; default now.
    #[serde(default)]
    pub at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OnCall {
    pub schedule: String,
    pub at: String,
    /// The user id on call, or null (nobody: a gap).
    pub user: Option<String>,
    /// How the person on call is named: their display name, else their email (null in
    /// a gap, or when the user no longer exists).
    #[serde(default)]
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OnCallSegment {
    pub start: String,
    pub end: String,
    pub user: Option<String>,
    /// The person's display name, else their email (null in a gap).
    #[serde(default)]
    pub user_name: Option<String>,
    /// `override` or `layer:<name>`; null for a gap.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OnCallTimeline {
    pub schedule: String,
    pub segments: Vec<OnCallSegment>,
    /// The stretches with nobody on call.
    pub gaps: Vec<OnCallSegment>,
}

//! Schedules: who is on call when. A schedule is a validated definition stored as JSON
//! in the `schedules` table; its rows, reads and writes are shared with escalation
//! policies in [`super::definitions`] (kind
//! [`DefinitionKind::Schedule`](rampart_domain::sre::documents::DefinitionKind::Schedule)). What only
//! schedules need in the store (overrides, say) belongs here.

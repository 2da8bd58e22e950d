//! Incident response: on-call schedules (who is on call, when, and the gaps) and
//! escalation policies (who is paged when, until someone acknowledges).

pub mod escalation;
pub mod schedule;

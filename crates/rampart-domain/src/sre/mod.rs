//! Incident response: on-call schedules (who is on call, when, and the gaps) and
//! escalation policies (who is paged when, until someone acknowledges), and incoming
//! alert payloads decoded from each monitoring tool into one shape.

pub mod documents;
pub mod escalation;
pub mod incident;
pub mod payload;
pub mod rules;
pub mod schedule;

//! Incident response: on-call schedules (who is on call, when, and the gaps).

pub mod schedule;

//! Incident response: services and their webhook integrations, incoming alert payloads
//! decoded from each monitoring tool into one shape, alerts and their dedup decision,
//! alert rules, incidents, on-call schedules (who is on call, when, and the gaps) and
//! escalation policies (who is paged when, until someone acknowledges), and runbook
//! definitions (typed inputs, steps, triggers).

pub mod alert_rules;
pub mod alerts;
pub mod contact_methods;
pub mod documents;
pub mod escalation_policies;
pub mod incidents;
pub mod integrations;
pub mod openslo;
pub mod payload;
pub mod runbook_executions;
pub mod runbooks;
pub mod schedules;
pub mod series;
pub mod services;
pub mod slos;

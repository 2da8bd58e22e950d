//! Incident-response use cases: the service directory and integrations
//! ([`services`]), incoming webhooks ([`ingest`]) and incidents ([`incidents`]).

pub mod incidents;
pub mod ingest;
pub mod services;

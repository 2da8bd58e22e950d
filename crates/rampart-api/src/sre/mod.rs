//! Wire types of incident response, one module per resource; every type is also
//! re-exported here, so a wire type is `rampart_api::sre::Name` whatever file holds it.

mod alert_rules;
mod alerts;
mod contact_methods;
mod escalation_policies;
mod incidents;
mod integrations;
mod notifications;
mod runbook_executions;
mod runbooks;
mod schedules;
mod services;
mod slos;

pub use alert_rules::*;
pub use alerts::*;
pub use contact_methods::*;
pub use escalation_policies::*;
pub use incidents::*;
pub use integrations::*;
pub use notifications::*;
pub use runbook_executions::*;
pub use runbooks::*;
pub use schedules::*;
pub use services::*;
pub use slos::*;

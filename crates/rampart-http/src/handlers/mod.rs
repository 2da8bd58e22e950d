//! Route handlers, in slices named as in the other crates: [`platform`], [`sre`] and
//! [`iacm`], one module per resource. Each module holds its handlers and a `routes`
//! function that registers them in the [`RouteTable`] with their permission, body,
//! reply and summary; [`register_all`] is the list of those modules. Two routes are
//! mounted beside the table because their authentication is their own
//! ([`mount_outside_table`]): the Terraform state backend ([`iacm::tf_backend`]) and
//! incoming webhooks ([`sre::alerts`]).

pub mod iacm;
pub mod platform;
pub mod sre;

use axum::Router;

use crate::routes::RouteTable;
use crate::{AppState, HttpSettings};

/// Registers every route of the API in `table`.
pub fn register_all(table: &mut RouteTable, settings: &HttpSettings) {
    platform::health::routes(table, settings);
    platform::auth::routes(table);
    platform::identity::routes(table);
    platform::tenancy::routes(table);
    platform::access::routes(table);
    platform::audit_log::routes(table);
    platform::network::routes(table);
    platform::keys::routes(table);
    platform::secrets::routes(table);
    platform::sso::routes(table);
    platform::delegates::routes(table);
    iacm::workspaces::routes(table);
    iacm::state_versions::routes(table);
    iacm::plans::routes(table);
    iacm::policy_sets::routes(table);
    iacm::runs::routes(table);
    iacm::variables::routes(table);
    iacm::drift_checks::routes(table);
    sre::notifications::routes(table);
    sre::contact_methods::routes(table);
    sre::services::routes(table);
    sre::integrations::routes(table);
    sre::alerts::routes(table);
    sre::alert_rules::routes(table);
    sre::escalation_policies::routes(table);
    sre::runbooks::routes(table);
    sre::slos::routes(table);
    sre::runbook_executions::routes(table);
    sre::schedules::routes(table);
    sre::incidents::routes(table);
}

/// Mounts the routes that are not in the table: they authenticate on their own terms.
pub fn mount_outside_table(router: Router<AppState>) -> Router<AppState> {
    let router = iacm::tf_backend::mount(router);
    sre::alerts::mount(router)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler reads its path through a `path_params!` shape; this keeps every shape
    /// naming exactly its route's parameters (`{org}`/`{project}` aside), so a
    /// misspelt or forgotten parameter fails here, not as a silent 404.
    #[test]
    fn every_handler_reads_exactly_the_parameters_of_its_path() {
        let mut table = RouteTable::new();
        register_all(&mut table, &HttpSettings::default());
        assert!(table.specs().len() > 150, "the whole API is registered");
        assert_eq!(table.path_problems(), &[] as &[String]);
    }
}

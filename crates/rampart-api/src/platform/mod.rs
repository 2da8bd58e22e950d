//! Platform wire types, one module per resource; every type is also re-exported here,
//! so a wire type is `rampart_api::platform::Name` whatever file holds it.

mod access;
mod audit_log;
mod auth;
mod delegates;
mod identity;
mod keys;
mod network;
mod secrets;
mod sso;
mod tenancy;

pub use access::*;
pub use audit_log::*;
pub use auth::*;
pub use delegates::*;
pub use identity::*;
pub use keys::*;
pub use network::*;
pub use secrets::*;
pub use sso::*;
pub use tenancy::*;

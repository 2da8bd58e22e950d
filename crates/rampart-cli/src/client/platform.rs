//! Client commands of the platform slice that have a file of their own.

pub mod delegates;
pub mod identity;
pub mod keys;
pub mod network;
pub mod secrets;
pub mod sso;

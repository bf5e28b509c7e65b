//! Custom resources: the typed CRD structs nixflux writes and reads
//! (`flux`, `traefik`, `cert_manager`, registered in the kind table like the built-in kinds), and the
//! check of any object against the `openAPIV3Schema` of its CRD
//! (`schema` compiles a schema, `validate` checks values against it,
//! `crds` loads CRD files and picks the schema of an object's version).

pub mod cert_manager;
pub mod crds;
pub mod flux;
pub mod schema;
pub mod traefik;
pub mod validate;

pub use crds::{CrdError, Crds};
pub use schema::{Schema, SchemaError};

#[cfg(test)]
mod tests;

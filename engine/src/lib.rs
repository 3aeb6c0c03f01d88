//! netplan-engine: config → graph → state → plan → apply, and the Provider trait they talk through.
//!
//! Architecture invariant: this crate never imports an AWS crate and never writes to a terminal.

pub mod account;
pub mod addr;
pub mod apply;
pub mod config;
pub mod design;
pub mod diag;
pub mod facts;
pub mod files;
pub mod fix;
pub mod format;
pub mod graph;
pub mod live;
pub mod ops;
pub mod outputs;
pub mod package;
pub mod plan;
pub mod pricing;
pub mod provider;
pub mod reach;
pub mod reconcile;
pub mod regions;
pub mod resource;
pub mod retry;
pub mod runtimes;
pub mod schema;
pub mod secrets;
pub mod state;
pub mod value;

pub use addr::{Kind, ResourceAddr};
pub use value::Value;

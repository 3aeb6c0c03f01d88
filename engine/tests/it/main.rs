//! The engine's tests, run without the AWS SDK (`cargo test -p netplan-engine` compiles no `aws-*`
//! crate): one binary, a module per area.
//!
//! - `architecture`: the invariants checked on the source (no AWS crate, no terminal, no import circle).
//! - `cost`: the cost in every plan and the designs `netplan cost` compares.
//! - `fuzz`: the config and state loaders against mutated inputs (never a panic).
//! - `lifecycle`: apply/destroy/rollback/crash recovery on the fake provider, with tokio's paused clock.
//! - `props`: property tests (random configs, subnet layouts, state round trips).
//! - `reach`: the reachability model: every seed rule broken one at a time, network ACLs, DNS, and the
//!   gate that validate, plan and apply share.

mod architecture;
mod cost;
mod fuzz;
mod lifecycle;
mod props;
mod reach;
mod support;

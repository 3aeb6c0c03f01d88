//! netplan-providers: the implementations of `netplan_engine::provider::Provider`.
//!
//! - `fake`: a scriptable in-memory cloud that enforces AWS's dependency rules, used by the engine's
//!   lifecycle tests and benchmarks (and by the CLI when `NETPLAN_FAKE_CLOUD` names a file).

//! - `facts`: AWS's facts the engine reads (typical latencies, slow creates, delete order), shared by
//!   the AWS provider and the fake that models it.

#[cfg(feature = "aws")]
pub mod aws;
pub mod facts;
pub mod fake;

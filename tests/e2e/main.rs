//! netplan's end-to-end tests: one binary, a module per area.
//!
//! - `bad_configs`: every fixture in tests/bad exits 1 naming its file:line:col and message.
//! - `cli`: the binary's behaviour (exit codes, locking, corrupt state, saved plans, colour).
//! - `snapshots`: plan output for create, update, replace, delete and no-op (insta).
//! - `lifecycle`: apply/destroy/rollback on the fake provider, with tokio's paused clock.
//! - `props`: property tests (random configs, subnet layouts, state round trips).
//! - `crash`: kill -9 of the real binary at random moments against a persisted fake cloud.

mod bad_configs;
mod cli;
mod crash;
mod lifecycle;
mod moto;
mod props;
mod reach;
mod snapshots;
mod support;

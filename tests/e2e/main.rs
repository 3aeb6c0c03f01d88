//! netplan's end-to-end tests: one binary, a module per area.
//!
//! - `bad_configs`: every fixture in tests/bad exits 1 naming its file:line:col and message.
//! - `check`: `netplan check`'s report, `--live` on the fake cloud, the gate on every creating path.
//! - `cli`: the binary's behaviour (exit codes, locking, corrupt state, saved plans, colour).
//! - `snapshots`: plan output for create, update, replace, delete and no-op (insta).
//! - `crash`: kill -9 of the real binary at random moments against a persisted fake cloud.
//! - `moto`: the binary against a real moto server per test.
//! - `realism`: the binary against moto behind netplan's realism layer (tests/realism): AWS's timing
//!   and faults, seeded.
//! - `updates`: day 2 — updates refused (or their answers lost) at every call, checked attribute by
//!   attribute and for what they must never cut off; kill -9 during updates.

mod account;
mod authoring;
mod bad_configs;
mod check;
mod cli;
mod cost;
mod crash;
mod daily;
mod moto;
mod policy;
mod realism;
mod snapshots;
mod support;
mod updates;

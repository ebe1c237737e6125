//! task-guard: a per-key idempotency and concurrency guard for long-running
//! agent tasks. `engine` holds the semantics, `store` makes them atomic per
//! key, `binding` converts to and from JS.

// napi-derive registers nothing under `cargo test`; the binding is exercised
// by the Node test suites instead.
mod answer;
#[cfg(not(test))]
mod binding;
mod contract;
pub mod engine;
mod fault;
pub mod store;

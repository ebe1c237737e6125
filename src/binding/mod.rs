//! The napi layer: converts between JS values and the engine's types. It
//! decides nothing about guards.

mod commands;
mod durable;
mod errors;
mod fast;
mod guard;
mod handle;
mod memory;
mod metrics;
mod options;
mod replies;
mod wire;

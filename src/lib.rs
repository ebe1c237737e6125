mod binding;
mod engine;
mod store;

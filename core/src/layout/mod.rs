//! Where OpenClaw keeps its state and how each storage era reads: discovery of the state dir
//! and agents, loading into the model, the JSON and SQLite stores, session scanning and
//! OpenClaw's own lock files, its SQLite leases and the gateway that serves a state dir.

pub mod bigfile;
pub mod discover;
pub mod gateway;
pub mod lease;
pub mod load;
pub mod lock;
pub mod schema;
pub mod session_nodes;
pub mod session_row;
pub mod sessions;
pub mod store;

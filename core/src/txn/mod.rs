//! Transactions: a plan of value-level changes, reading and writing the documents it names,
//! the engine that applies, undoes and recovers them, and the journal that records them.

pub mod docio;
pub mod engine;
pub mod journal;
pub mod migration;
pub mod plan;
pub mod settle;
pub mod status;
pub mod tree;
pub mod writer_lock;

//! clawauth-core: see, explain and repair which OpenAI Codex account each OpenClaw chat really
//! uses — the library, with no CLI: nothing here writes to stdout/stderr or reads stdin.
//!
//! Data flows one way: `layout` finds the installation and reads it (read-only, lossless)
//! into the era-free `model`, whose `resolve` reproduces OpenClaw's selection rules; `report`
//! computes what the commands show (status, explain, doctor, usage) and `workflow` turns the
//! model into a plan; `txn` is the only code that writes user state, journaled.

pub mod context;
pub mod error;
pub mod json;
pub mod layout;
pub mod live;
pub mod model;
pub mod report;
pub mod sanitize;
pub mod sys;
pub mod text;
pub mod txn;
pub mod workflow;

pub use error::{Error, Result};

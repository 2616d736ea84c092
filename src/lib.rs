//! clawauth: see, explain and repair which OpenAI Codex account each OpenClaw chat really uses.
//!
//! Data flows one way: `discover` finds the installation, `load` reads it (read-only, lossless)
//! into the era-free `model`, `resolve` reproduces OpenClaw's selection rules, `status` shows
//! the layers; workflows turn the model into a `plan`, and the `engine` is the only code that
//! writes user state, journaled in `journal`.

pub mod audit;
pub mod cli;
pub mod context;
pub mod demo;
pub mod diff;
pub mod discover;
pub mod docio;
pub mod doctor;
pub mod engine;
pub mod error;
pub mod explain;
pub mod fixture;
pub mod journal;
pub mod jsondoc;
pub mod load;
pub mod lock;
pub mod model;
pub mod plan;
pub mod release;
pub mod resolve;
pub mod sessions;
pub mod status;
pub mod store;
pub mod token;
pub mod usage;
pub mod workflow;

pub use error::{Error, Result};

//! clawauth: see, explain and repair which OpenAI Codex account each OpenClaw chat really uses.
//!
//! Data flows one way: `discover` finds the installation, `load` reads it (read-only, lossless)
//! into the era-free `model`, `resolve` reproduces OpenClaw's selection rules, `status` shows
//! the layers; workflows turn the model into a `plan`, and the `engine` is the only code that
//! writes user state, journaled in `journal`.

pub mod cli;
pub mod context;
pub mod demo;
pub mod discover;
pub mod error;
pub mod fixture;
pub mod jsondoc;
pub mod load;
pub mod model;
pub mod resolve;
pub mod sessions;
pub mod status;
pub mod store;
pub mod token;

pub use error::{Error, Result};

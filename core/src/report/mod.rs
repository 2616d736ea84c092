//! What the read-only commands compute, as data: `status`, `explain`, `doctor` and `usage`.

pub mod doctor;
pub mod explain;
pub mod status;
pub mod usage;

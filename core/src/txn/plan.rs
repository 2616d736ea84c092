//! A plan is what a workflow wants: numbered steps, one document each, and per step a list of
//! compare-and-swap changes on JSON pointers. Workflows build plans from the loaded model and
//! never touch disk; the engine applies them.

use crate::layout::store::Location;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One compare-and-swap: `before` must be at `pointer` now (`None` = absent), `after` is written
/// (`None` = remove). The pointer `""` is the whole document: `after: None` there deletes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub pointer: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// For a key removed from an object: its index there, recorded at intent time, so that
    /// the inverse change puts it back in place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

impl Change {
    pub fn new(pointer: impl Into<String>, before: Option<Value>, after: Option<Value>) -> Self {
        Change { pointer: pointer.into(), before, after, position: None }
    }
    pub fn inverse(&self) -> Change {
        Change {
            pointer: self.pointer.clone(),
            before: self.after.clone(),
            after: self.before.clone(),
            position: self.position,
        }
    }
    pub fn edit(&self) -> crate::json::Edit {
        crate::json::Edit { pointer: self.pointer.clone(), value: self.after.clone(), position: self.position }
    }
    pub fn is_noop(&self) -> bool {
        self.before == self.after
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub location: Location,
    pub title: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Plan {
    pub workflow: String,
    pub summary: String,
    pub agent: Option<String>,
    pub steps: Vec<Step>,
    /// Shown before confirmation: blast radius, where a layout keeps what, caveats.
    pub notes: Vec<String>,
}

impl Plan {
    pub fn new(workflow: &str, summary: impl Into<String>) -> Self {
        Plan { workflow: workflow.into(), summary: summary.into(), ..Default::default() }
    }

    /// Add changes for a location, merging with an existing step for the same document and
    /// dropping no-ops.
    pub fn push(&mut self, location: Location, title: impl Into<String>, changes: Vec<Change>) {
        let changes: Vec<Change> = changes.into_iter().filter(|c| !c.is_noop()).collect();
        if changes.is_empty() {
            return;
        }
        if let Some(s) = self.steps.iter_mut().find(|s| s.location == location) {
            s.changes.extend(changes);
            let t = title.into();
            if !s.title.contains(&t) {
                s.title = format!("{}; {t}", s.title);
            }
        } else {
            self.steps.push(Step { location, title: title.into(), changes });
        }
    }

    /// Add changes as a step of their own, even when another step already edits the same
    /// document, so that `undo --step N` can revert it alone (one chat of many in one
    /// `sessions.json`). Safe because the engine applies steps in order and each step re-reads
    /// its document and compare-and-swaps only its own pointers; callers must not give two
    /// steps of one document overlapping pointers.
    pub fn push_step(&mut self, location: Location, title: impl Into<String>, changes: Vec<Change>) {
        let changes: Vec<Change> = changes.into_iter().filter(|c| !c.is_noop()).collect();
        if !changes.is_empty() {
            self.steps.push(Step { location, title: title.into(), changes });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(|s| s.changes.is_empty())
    }

    /// Distinct documents (several steps can change one document, e.g. one per chat).
    pub fn document_count(&self) -> usize {
        let mut seen: Vec<&Location> = vec![];
        for s in &self.steps {
            if !seen.contains(&&s.location) {
                seen.push(&s.location);
            }
        }
        seen.len()
    }

    pub fn change_count(&self) -> usize {
        self.steps.iter().map(|s| s.changes.len()).sum()
    }
}

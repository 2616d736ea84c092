//! The transaction engine — the only code that writes user state. A plan is previewed,
//! confirmed, recorded as intent in the journal, then applied document by document under
//! OpenClaw's own locks with value-level compare-and-swap; a failure reverts what was written.
//! `undo` is a new transaction of inverse changes; `recover` finishes what a killed process
//! left `applying`. Failpoints (`CLAWAUTH_FAILPOINT`) kill the process between any two writes.
//! Nothing here talks to the person: the preview and the confirmation are a [`Confirm`] the
//! caller passes, and every result comes back as an [`Outcome`] plus [`Engine::notes`].

use crate::context::Context;
use crate::error::{Error, Result};
use crate::layout::store::Location;
use crate::txn::docio::{self, Doc};
use crate::txn::journal::{Journal, Snapshot, TxnRow, SNAPSHOT_LIMIT};
use crate::txn::plan::{Change, Plan, Step};
use crate::txn::status::{TxnKind, TxnStatus};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// Only plan: record the plan as a `planned` transaction and write nothing.
    pub dry_run: bool,
    /// The plan overrode a safety rule; recorded on the transaction.
    pub force: bool,
}

/// The person on the other side of a transaction: shown the plan before anything is checked
/// or recorded, then asked. `confirm` returns `Err(Error::Declined)` to stop.
pub trait Confirm {
    fn preview(&mut self, plan: &Plan, state_dir: &Path, docs: &mut DocCache) -> Result<()>;
    fn confirm(&mut self, question: &str) -> Result<()>;
}

pub struct Engine<'a> {
    pub ctx: &'a Context,
    pub journal: Journal,
    pub state_dir: PathBuf,
    pub argv: Vec<String>,
    /// Messages for the person (stale locks removed, recoveries done), for the caller to show.
    pub notes: Vec<String>,
    /// Called with a failpoint's name right before the process kills itself (tests read it).
    pub on_failpoint: fn(&str),
    /// The state dir's writer lock, held for the engine's whole life by a mutating command.
    pub writer: Option<crate::txn::writer_lock::WriterLock>,
    /// Recovery transactions `recover` applied (roll-backs written), for the caller to tell a
    /// running gateway about.
    pub recovered: Vec<i64>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    NothingToDo,
    /// Saved as a planned transaction (`--dry-run`), with the plan as recorded.
    Planned(i64, Plan),
    /// Applied, with the plan as recorded.
    Applied(i64, Plan),
}

/// An undo as planned: the inverse plan, whether it overrode a safety rule, and the
/// warnings about what it overrode (for the person, before the preview).
#[derive(Debug, Clone)]
pub struct UndoPlan {
    pub plan: Plan,
    pub forced: bool,
    pub warnings: Vec<String>,
}

/// Documents above this size are not copied in memory just to check an edit applies.
const PREFLIGHT_COPY_LIMIT: usize = 8 << 20;

/// Each planned document read once, for preview, preflight and removal positions.
pub struct DocCache(std::collections::HashMap<Location, Doc>);

impl DocCache {
    pub fn new() -> Self {
        DocCache(std::collections::HashMap::new())
    }
    pub fn get(&mut self, loc: &Location) -> Result<&Doc> {
        if !self.0.contains_key(loc) {
            let d = docio::read(loc, None)?;
            self.0.insert(loc.clone(), d);
        }
        Ok(&self.0[loc])
    }
}

impl Default for DocCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Kill the process here when `CLAWAUTH_FAILPOINT` names this point (for crash tests).
pub fn failpoint(ctx: &Context, name: &str, hook: fn(&str)) {
    if ctx.var("CLAWAUTH_FAILPOINT") == Some(name) {
        hook(name);
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// The pre-image of a document: its bytes, sha256 and mode when small; for a large one (a big
/// `sessions.json`) only that it existed and its mode — the journal's value-level before/after
/// is its snapshot, so neither journal growth nor apply time scale with its size.
fn snapshot(loc: &Location) -> Result<Snapshot> {
    if let Location::File { path, .. } = loc {
        if let Ok(m) = std::fs::metadata(path) {
            if m.is_file() && m.len() > SNAPSHOT_LIMIT {
                use std::os::unix::fs::MetadataExt;
                return Ok(Snapshot { existed: true, sha256: None, mode: Some(m.mode() & 0o7777), content: None });
            }
        }
    }
    // (a streamed document this small is read whole here, so its snapshot is as for any file)
    let doc = docio::read(loc, None)?.whole()?;
    Ok(match &doc.bytes {
        None => Snapshot { existed: false, sha256: None, mode: None, content: None },
        Some(b) => Snapshot {
            existed: true,
            sha256: Some(hex::encode(Sha256::digest(b))),
            mode: doc.mode,
            content: (b.len() as u64 <= SNAPSHOT_LIMIT).then(|| b.clone()),
        },
    })
}

/// Where a change stands on disk now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Before,
    After,
    Neither,
}

pub fn standing(loc: &Location, doc: &Doc, c: &Change) -> Result<Standing> {
    let cur = docio::value_at(loc, doc, &c.pointer)?;
    Ok(if cur == c.after {
        Standing::After
    } else if cur == c.before {
        Standing::Before
    } else {
        Standing::Neither
    })
}

/// Whether `pointer` is a session entry's `updatedAt` (in `sessions.json` or a `session_nodes`
/// row): the timestamp OpenClaw moves on every turn.
fn is_session_touch(loc: &Location, pointer: &str) -> bool {
    match loc {
        Location::Cell { table, value_col, .. } => {
            table == "session_nodes" && value_col == "entry_json" && pointer == "/updatedAt"
        }
        Location::File { path, .. } => {
            path.file_name().is_some_and(|n| n == "sessions.json")
                && pointer.ends_with("/updatedAt")
                && pointer.matches('/').count() == 2
        }
    }
}

/// Split steps into write groups: each maximal run of consecutive steps on cells of the same
/// database is one group (one `BEGIN IMMEDIATE`); every file step is a group of its own.
pub fn step_groups(steps: &[Step]) -> Vec<std::ops::Range<usize>> {
    let mut out: Vec<std::ops::Range<usize>> = vec![];
    for (i, s) in steps.iter().enumerate() {
        // consecutive steps on one file (a per-chat resync of sessions.json) are one atomic
        // rewrite, not one rewrite of a possibly huge file per step
        let same_db = match (out.last(), &s.location) {
            (Some(r), Location::Cell { db, .. }) => {
                matches!(&steps[r.start].location, Location::Cell { db: d, .. } if d == db)
            }
            (Some(r), Location::File { .. }) => steps[r.start..r.end].iter().all(|x| x.location == s.location),
            _ => false,
        };
        match out.last_mut() {
            Some(r) if same_db => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

impl<'a> Engine<'a> {
    pub fn new(ctx: &'a Context, journal: Journal, state_dir: &Path, argv: Vec<String>) -> Self {
        crate::layout::bigfile::configure(ctx);
        Engine {
            ctx,
            journal,
            state_dir: state_dir.to_path_buf(),
            argv,
            notes: vec![],
            on_failpoint: |_| {},
            writer: None,
            recovered: vec![],
        }
    }

    /// Verify every step's `before` values against disk without writing.
    pub fn preflight(&self, plan: &Plan) -> Result<()> {
        self.preflight_with(plan, &mut DocCache::new())
    }

    /// `preflight` reading each document once through `docs` (shared with the preview).
    pub fn preflight_with(&self, plan: &Plan, docs: &mut DocCache) -> Result<()> {
        // a running OpenClaw holding the SQLite store: refuse before anything is recorded
        if plan.steps.iter().any(|s| matches!(s.location, Location::Cell { .. })) {
            docio::check_leases(&self.state_dir, self.ctx.now_ms)?;
        }
        let mut dbs: Vec<&Path> = vec![];
        for s in &plan.steps {
            if let Location::Cell { db, .. } = &s.location {
                if !dbs.contains(&db.as_path()) {
                    dbs.push(db);
                    docio::check_schema(db)?;
                }
            }
        }
        for s in &plan.steps {
            let doc = docs.get(&s.location)?;
            let bad = docio::mismatches(&s.location, doc, &s.changes)?;
            if !bad.is_empty() {
                return Err(docio::stale(&s.location, &bad));
            }
            // surface unwritable content now rather than half-way through (a huge document
            // is not copied just for this: its apply fails and reverts just as cleanly)
            if let Some(big) = &doc.big {
                // a streamed document: its splices are computed (cheap), never the whole copy
                if !s.changes.iter().any(|c| c.pointer.is_empty()) {
                    let edits: Vec<crate::json::Edit> = s.changes.iter().map(Change::edit).collect();
                    big.splices(&edits).map_err(|e| Error::bad(&doc.path, format!("cannot edit: {e}")))?;
                }
            } else if doc.len() < PREFLIGHT_COPY_LIMIT as u64 {
                let content = docio::new_content(&s.location, doc, &s.changes)?;
                // a session row OpenClaw would reject afterwards is refused before intent
                docio::precheck_session_row(&s.location, content.as_deref())?;
            }
        }
        Ok(())
    }

    /// Preview, confirm, journal and apply a new plan.
    pub fn run(
        &mut self,
        plan: &Plan,
        opts: &Opts,
        ui: &mut dyn Confirm,
        kind: TxnKind,
        reverts: Option<i64>,
    ) -> Result<Outcome> {
        if plan.is_empty() {
            return Ok(Outcome::NothingToDo);
        }
        let mut docs = DocCache::new();
        ui.preview(plan, &self.state_dir, &mut docs)?;
        self.preflight_with(plan, &mut docs)?;
        let mut plan = plan.clone();
        for s in plan.steps.iter_mut() {
            let doc = docs.get(&s.location)?;
            docio::fill_positions(&s.location, doc, &mut s.changes)?;
        }
        drop(docs);
        let plan = &plan;
        if opts.dry_run {
            let id = self.journal.record(
                self.ctx,
                plan,
                kind,
                TxnStatus::Planned,
                &self.argv,
                &self.state_dir,
                reverts,
                opts.force,
                &[],
            )?;
            return Ok(Outcome::Planned(id, plan.clone()));
        }
        ui.confirm(&format!("Apply {} change(s) to {} document(s)?", plan.change_count(), plan.document_count()))?;
        let id = self.intent(plan, kind, reverts, opts.force, None)?;
        self.apply_recorded(id, plan)?;
        Ok(Outcome::Applied(id, plan.clone()))
    }

    /// Record intent (status `applying`, changes, pre-images). With `existing`, a planned txn
    /// moves to `applying` instead of a new row being made.
    fn intent(
        &mut self,
        plan: &Plan,
        kind: TxnKind,
        reverts: Option<i64>,
        forced: bool,
        existing: Option<i64>,
    ) -> Result<i64> {
        if let Some(id) = existing {
            self.journal.set_status(self.ctx, id, TxnStatus::Applying, None)?;
            return Ok(id);
        }
        let snaps = plan.steps.iter().map(|s| snapshot(&s.location)).collect::<Result<Vec<_>>>()?;
        let id = self.journal.record(
            self.ctx,
            plan,
            kind,
            TxnStatus::Applying,
            &self.argv,
            &self.state_dir,
            reverts,
            forced,
            &snaps,
        )?;
        failpoint(self.ctx, "after-intent", self.on_failpoint);
        Ok(id)
    }

    /// Apply a recorded plan's steps; on failure revert the written ones and mark it failed.
    /// Consecutive steps on cells of one database are one group, written in one SQLite
    /// transaction (all of the group or none of it).
    fn apply_recorded(&mut self, id: i64, plan: &Plan) -> Result<()> {
        let mut written: Vec<&Step> = vec![];
        for range in step_groups(&plan.steps) {
            let group = &plan.steps[range.clone()];
            if let Err((i, e)) = self.apply_group(group) {
                let inverse: Vec<Step> = written
                    .iter()
                    .rev()
                    .map(|done| Step {
                        location: done.location.clone(),
                        title: done.title.clone(),
                        changes: done.changes.iter().map(Change::inverse).collect(),
                    })
                    .collect();
                let mut revert_errors = vec![];
                for r in step_groups(&inverse) {
                    if let Err((j, re)) = self.apply_group(&inverse[r.clone()]) {
                        revert_errors.push(format!("{}: {re}", inverse[r.start + j].location.display(&self.state_dir)));
                    }
                }
                let n = range.start + i + 1;
                let msg = if revert_errors.is_empty() {
                    format!("step {n} failed: {e}; earlier steps were reverted")
                } else {
                    format!("step {n} failed: {e}; reverting earlier steps also failed: {}", revert_errors.join("; "))
                };
                self.journal.set_status(self.ctx, id, TxnStatus::Failed, Some(&msg))?;
                return Err(e);
            }
            written.extend(group);
            for n in range {
                failpoint(self.ctx, &format!("after-step-{}", n + 1), self.on_failpoint);
            }
        }
        failpoint(self.ctx, "before-commit", self.on_failpoint);
        self.journal.set_status(self.ctx, id, TxnStatus::Applied, None)?;
        // read back: a running gateway may write its own copy over ours within seconds (each
        // step already read its document back right after writing it; a huge one is not
        // read a second time)
        for step in &plan.steps {
            let big =
                std::fs::metadata(step.location.file()).map(|m| m.len() > PREFLIGHT_COPY_LIMIT as u64).unwrap_or(false);
            if matches!(step.location, Location::File { .. }) && big {
                continue;
            }
            if let Ok(doc) = docio::read(&step.location, None) {
                for c in &step.changes {
                    if standing(&step.location, &doc, c).ok() != Some(Standing::After) {
                        self.notes.push(format!(
                            "{} {} no longer holds what was just written: something else (a running OpenClaw?) changed it",
                            step.location.display(&self.state_dir),
                            c.pointer
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A group from `step_groups`: several cells of one database in one SQLite transaction, or
    /// one file. On error, the index of the failing step within the group.
    fn apply_group(&mut self, group: &[Step]) -> std::result::Result<(), (usize, Error)> {
        if matches!(group.first().map(|s| &s.location), Some(Location::Cell { .. })) {
            docio::check_leases(&self.state_dir, self.ctx.now_ms).map_err(|e| (0, e))?;
            let cells: Vec<(&Location, &[Change])> =
                group.iter().map(|s| (&s.location, s.changes.as_slice())).collect();
            return docio::apply_cells(&cells, self.ctx.now_ms);
        }
        if group.len() > 1 {
            // one file: every step's changes in one locked read-CAS-write
            let merged = Step {
                location: group[0].location.clone(),
                title: group[0].title.clone(),
                changes: group.iter().flat_map(|s| s.changes.iter().cloned()).collect(),
            };
            return self.apply_step(&merged).map_err(|e| (0, e));
        }
        for (i, s) in group.iter().enumerate() {
            self.apply_step(s).map_err(|e| (i, e))?;
        }
        Ok(())
    }

    /// One document: lock (files), re-read, compare-and-swap every change, write, confirm.
    pub fn apply_step(&mut self, step: &Step) -> Result<()> {
        match &step.location {
            Location::Cell { .. } => {
                docio::check_leases(&self.state_dir, self.ctx.now_ms)?;
                docio::apply_cells(&[(&step.location, step.changes.as_slice())], self.ctx.now_ms).map_err(|(_, e)| e)
            }
            Location::File { path, .. } => {
                let dir = path.parent().unwrap_or(Path::new("."));
                let _lock = match crate::layout::lock::lock_name_for(path) {
                    Some(name) => Some(crate::layout::lock::acquire(dir, name, self.ctx.now_ms, &mut self.notes)?),
                    None => None,
                };
                let (ctx, hook) = (self.ctx, self.on_failpoint);
                let mut before_rename = move || failpoint(ctx, "before-rename", hook);
                // a large file replaced under us while its copy was written (by a writer that
                // ignores OpenClaw's lock) is read again and compare-and-swapped again
                for _ in 0..3 {
                    let doc = docio::read(&step.location, None)?;
                    let bad = docio::mismatches(&step.location, &doc, &step.changes)?;
                    if !bad.is_empty() {
                        return Err(docio::stale(&step.location, &bad));
                    }
                    if docio::write_changes(&step.location, &doc, &step.changes, &mut before_rename)? {
                        return Ok(());
                    }
                }
                Err(docio::changed_while_writing(path))
            }
        }
    }

    /// `apply TXN`: run a planned transaction, refusing if the state moved on.
    pub fn apply_planned(&mut self, id: i64, ui: &mut dyn Confirm) -> Result<Outcome> {
        let row = self.txn(id)?;
        self.same_state_dir(&row)?;
        if row.status != TxnStatus::Planned {
            return Err(Error::conflict_hint(
                format!("transaction {id} is {}, not planned", row.status),
                format!("only a planned transaction can be applied; see `clawauth show {id}`"),
            ));
        }
        let plan = self.journal.plan(&row)?;
        let mut docs = DocCache::new();
        ui.preview(&plan, &self.state_dir, &mut docs)?;
        self.preflight_with(&plan, &mut docs).map_err(|e| match e {
            Error::Conflict { what, .. } => Error::conflict_hint(
                format!("transaction {id} is stale: {what}"),
                "plan it again against the current state",
            ),
            other => other,
        })?;
        ui.confirm(&format!("Apply planned transaction {id}?"))?;
        // the pre-images are taken now, right before writing
        let snaps = plan.steps.iter().map(|s| snapshot(&s.location)).collect::<Result<Vec<_>>>()?;
        failpoint(self.ctx, "before-claim", self.on_failpoint);
        self.journal.claim_planned(self.ctx, id, &snaps)?;
        failpoint(self.ctx, "after-intent", self.on_failpoint);
        self.apply_recorded(id, &plan)?;
        Ok(Outcome::Applied(id, plan))
    }

    /// A journal records absolute paths: a transaction recorded for another state dir (a copy
    /// of the OpenClaw dir made with its `.clawauth` journal) must not touch the original.
    fn same_state_dir(&self, row: &TxnRow) -> Result<()> {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let recorded = canon(Path::new(&row.state_dir));
        if recorded == canon(&self.state_dir) {
            return Ok(());
        }
        Err(Error::conflict_hint(
            format!(
                "transaction {} was recorded for state dir {}, not {}: its paths point there",
                row.id,
                recorded.display(),
                self.state_dir.display()
            ),
            format!(
                "run it against that dir (--state-dir {}), or give this copy its own --journal",
                recorded.display()
            ),
        ))
    }

    pub fn txn(&self, id: i64) -> Result<TxnRow> {
        self.journal
            .txn(id)?
            .ok_or_else(|| Error::NotFound(format!("no transaction {id} in {}", self.journal.path.display())))
    }

    /// Plan the undo of `id` (or of one step), per change: current == after -> revert;
    /// == before -> already done; else conflict (refused unless forced, then recorded).
    pub fn plan_undo(&self, id: i64, only_step: Option<usize>, force: bool) -> Result<UndoPlan> {
        let row = self.txn(id)?;
        self.same_state_dir(&row)?;
        if row.status != TxnStatus::Applied {
            return Err(Error::State(format!(
                "transaction {id} is {}; only applied transactions can be undone",
                row.status
            )));
        }
        let steps = self.journal.steps(id)?;
        if let Some(n) = only_step {
            if n == 0 || n > steps.len() {
                return Err(Error::Usage(format!(
                    "transaction {id} has {} step(s); there is no step {n}",
                    steps.len()
                )));
            }
        }
        let mut plan = Plan::new("undo", format!("undo transaction {id} ({})", row.summary));
        plan.agent = row.agent.clone();
        let mut conflicts = vec![];
        let mut forced = false;
        let mut warnings = vec![];
        for (i, s) in steps.iter().enumerate() {
            if only_step.is_some_and(|n| n != i + 1) {
                continue;
            }
            let doc = docio::read(&s.location, None)?;
            let mut inv = vec![];
            // a session entry's `updatedAt` is bookkeeping OpenClaw bumps on every turn: one
            // that moved on since is no conflict; the undo stamps it now, never backwards
            let mut touch = None;
            for c in &s.changes {
                let cur = docio::value_at(&s.location, &doc, &c.pointer)?;
                if cur == c.after {
                    inv.push(c.inverse());
                } else if cur == c.before {
                    continue;
                } else if is_session_touch(&s.location, &c.pointer) {
                    let now = serde_json::json!(self.ctx.now_ms);
                    let stamp = match cur.as_ref().and_then(Value::as_i64) {
                        Some(t) if t > self.ctx.now_ms => serde_json::json!(t),
                        _ => now,
                    };
                    touch = Some(Change::new(c.pointer.clone(), cur, Some(stamp)));
                } else if force {
                    forced = true;
                    inv.push(Change::new(c.pointer.clone(), cur, c.before.clone()));
                } else {
                    let shown = |v: &Option<Value>| {
                        v.as_ref()
                            .map(|v| {
                                crate::text::shorten(&crate::model::token::redact_at(&c.pointer, v).to_string(), 80)
                            })
                            .unwrap_or_else(|| "absent".into())
                    };
                    conflicts.push(format!(
                        "{} {}: now {}, but the transaction wrote {}",
                        s.location.display(&self.state_dir),
                        if c.pointer.is_empty() { "(document)" } else { &c.pointer },
                        shown(&cur),
                        shown(&c.after)
                    ));
                }
            }
            if !inv.is_empty() {
                inv.extend(touch);
            }
            self.check_rotation(&s.location, &doc, &inv, force, &mut conflicts, &mut warnings)?;
            forced |= !warnings.is_empty();
            plan.push(s.location.clone(), format!("revert: {}", s.title), inv);
        }
        if conflicts.is_empty() && plan.is_empty() {
            // everything is back already: say by whom, so the loser of two racing `undo N`
            // does not report success for the winner's work
            for u in self.journal.reverted_by(id)? {
                if self.journal.reverted_by(u)?.is_empty() {
                    return Err(Error::conflict_hint(
                        format!("transaction {id} was already undone by transaction {u}"),
                        format!("undo {u} to apply it again"),
                    ));
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(Error::conflict_list(
                format!("cannot undo transaction {id}; changed since:"),
                conflicts,
                "pass --force to overwrite those values anyway (recorded in the journal)",
            ));
        }
        Ok(UndoPlan { plan, forced, warnings })
    }

    /// Credentials are special: never put back a credential older than the one there now for
    /// the same account — its refresh token has rotated and restoring it would log the user out.
    fn check_rotation(
        &self,
        loc: &Location,
        doc: &Doc,
        inv: &[Change],
        force: bool,
        conflicts: &mut Vec<String>,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        for c in inv {
            let segs = crate::json::split_pointer(&c.pointer);
            if segs.first().map(String::as_str) != Some("profiles") || segs.len() < 2 {
                continue;
            }
            let id = &segs[1];
            let cur_cred = docio::value_at(loc, doc, &crate::json::pointer(&["profiles", id]))?;
            // the credential as it would be after this change
            let restored = if segs.len() == 2 {
                c.after.clone()
            } else {
                let mut v = cur_cred.clone().unwrap_or(Value::Object(Default::default()));
                crate::json::apply_in_value(&mut v, &segs[2..], c.after.as_ref()).ok();
                Some(v)
            };
            let Some(restored) = restored else { continue };
            let acct = |v: &Value| {
                crate::model::str_field(v, "accountId").or_else(|| {
                    crate::model::str_field(v, "access")
                        .and_then(|a| crate::model::token::decode_claims(&a))
                        .and_then(|c| c.account_id)
                })
            };
            let (Some(account), Some(rexp)) = (acct(&restored), crate::model::num_field(&restored, "expires")) else {
                continue;
            };
            let profiles = docio::value_at(loc, doc, "/profiles")?.unwrap_or(Value::Null);
            let newer = profiles.as_object().into_iter().flatten().find(|(_, p)| {
                acct(p).as_deref() == Some(account.as_str())
                    && crate::model::num_field(p, "expires").is_some_and(|e| e > rexp)
                    && crate::model::str_field(p, "refresh") != crate::model::str_field(&restored, "refresh")
            });
            if let Some((pid, p)) = newer {
                let msg = format!(
                    "{id}: the credential to restore (expires {}) is older than {pid}'s for the same account {account} (expires {}): its refresh token has rotated, and restoring it would log the user out",
                    crate::text::rfc3339_ms(rexp),
                    crate::text::rfc3339_ms(crate::model::num_field(p, "expires").unwrap_or(0))
                );
                if force {
                    // the caller says this before the preview: the person is about to confirm it
                    warnings.push(msg);
                } else {
                    conflicts.push(msg);
                }
            }
        }
        Ok(())
    }

    /// Finish every transaction a killed process left `applying`: all documents after ->
    /// mark applied; otherwise roll the written ones back so everything is all-before.
    pub fn recover(&mut self, quiet_if_none: bool) -> Result<Vec<String>> {
        let pending = self.journal.with_status(TxnStatus::Applying)?;
        let mut report = vec![];
        for row in pending {
            if let Err(e) = self.same_state_dir(&row) {
                // a journal copied along with its state dir: its paths name the original
                report.push(format!("transaction {} left alone: {e}", row.id));
                continue;
            }
            // the writer lock is held, so on this host no live clawauth can own it; still,
            // never touch one whose owner is provably alive or on a host we cannot see
            if let Some(owner) = &row.owner {
                match crate::txn::writer_lock::liveness(owner) {
                    crate::txn::writer_lock::Liveness::Gone(_) => {}
                    crate::txn::writer_lock::Liveness::Alive(why) | crate::txn::writer_lock::Liveness::Foreign(why) => {
                        report.push(format!(
                            "transaction {} left alone: it is still applying and {why}; run `clawauth recover` where it ran once it has ended",
                            row.id
                        ));
                        continue;
                    }
                }
            }
            let steps = self.journal.steps(row.id)?;
            // a copy killed before its rename is left beside the file, and the lock of OpenClaw's
            // it held: the copy was never used, the lock is stale; both are removed
            for s in &steps {
                if let Location::File { path, .. } = &s.location {
                    docio::remove_stale_temps(path);
                    let dir = path.parent().unwrap_or(Path::new("."));
                    if let (Some(name), Some(owner)) = (crate::layout::lock::lock_name_for(path), &row.owner) {
                        self.notes.extend(crate::layout::lock::clear_left_by(dir, name, owner.pid, self.ctx.now_ms));
                    }
                }
            }
            let mut standings = vec![];
            let mut neither = vec![];
            for s in &steps {
                let doc = docio::read(&s.location, None)?;
                let st: Vec<Standing> =
                    s.changes.iter().map(|c| standing(&s.location, &doc, c)).collect::<Result<_>>()?;
                let whole = if st.iter().all(|x| *x == Standing::After) {
                    Standing::After
                } else if st.iter().all(|x| *x == Standing::Before) {
                    Standing::Before
                } else {
                    neither.push(s.location.display(&self.state_dir));
                    Standing::Neither
                };
                standings.push(whole);
            }
            if !neither.is_empty() {
                return Err(Error::conflict_hint(
                    format!(
                        "transaction {} was interrupted and {} changed since; cannot tell how far it got",
                        row.id,
                        neither.join(", ")
                    ),
                    format!("inspect with `clawauth show {}`; the journal keeps the pre-images", row.id),
                ));
            }
            if standings.iter().all(|s| *s == Standing::After) {
                self.journal.set_status(
                    self.ctx,
                    row.id,
                    TxnStatus::Applied,
                    Some("interrupted after its last write; recovered as applied"),
                )?;
                report.push(format!("transaction {} had written every document: marked applied", row.id));
                continue;
            }
            let mut plan = Plan::new("recover", format!("roll back interrupted transaction {}", row.id));
            plan.agent = row.agent.clone();
            for (s, st) in steps.iter().zip(&standings) {
                if *st == Standing::After {
                    plan.push(
                        s.location.clone(),
                        format!("roll back: {}", s.title),
                        s.changes.iter().map(Change::inverse).collect(),
                    );
                }
            }
            if !plan.is_empty() {
                let id = self.intent(&plan, TxnKind::Recover, Some(row.id), false, None)?;
                self.apply_recorded(id, &plan)?;
                self.recovered.push(id);
                report.push(format!(
                    "transaction {} was interrupted: rolled back {} document(s) in recovery transaction {id}",
                    row.id,
                    plan.steps.len()
                ));
            } else {
                report.push(format!(
                    "transaction {} was interrupted before its first write: nothing to roll back",
                    row.id
                ));
            }
            failpoint(self.ctx, "recover-before-mark", self.on_failpoint);
            self.journal.set_status(
                self.ctx,
                row.id,
                TxnStatus::RolledBack,
                Some("interrupted; rolled back by recover"),
            )?;
        }
        if report.is_empty() && !quiet_if_none {
            report.push("No interrupted transactions.".into());
        }
        Ok(report)
    }
}

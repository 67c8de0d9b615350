//! What the `wintermute journal` tools do with a journal directory while no engine has it
//! open: read it out as columns ([`read_columns`], for exports), and remove the segments behind
//! its oldest whole snapshot ([`prune`]).

use std::path::{Path, PathBuf};

use wintermute_core::records::{encode_command, COMMAND_SIZE};
use wintermute_core::InstrumentId;

use super::{
    held_seq, oldest_valid_snapshot, prune_segments, read_records, segments_behind, JournalError, JournalRecord,
};

/// A journal's records as columns: one row per command record, and the control records apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalColumns {
    /// Sequence numbers of the command records.
    pub seqs: Vec<u64>,
    /// Their instrument ids.
    pub instruments: Vec<InstrumentId>,
    /// Their wall-clock times ([`super::JournalEntry::wall_ns`]; 0: not recorded).
    pub wall_ns: Vec<u64>,
    /// Their commands as 48-byte records (`wintermute_core::records`), back to back.
    pub commands: Vec<u8>,
    /// The control records (runtime risk changes) as `(seq, JSON)`.
    pub controls: Vec<(u64, String)>,
    /// The risk rejections: commands pre-trade risk refused, in the columns' form.
    pub rejections: Rejections,
    /// The client order ids of tagged records (commands and risk rejections) as `(seq, id)`,
    /// in order.
    pub client_order_ids: Vec<(u64, String)>,
}

/// A journal's risk rejections as columns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rejections {
    pub seqs: Vec<u64>,
    pub instruments: Vec<InstrumentId>,
    /// Their wall-clock times (0: not recorded).
    pub wall_ns: Vec<u64>,
    /// The refused commands as 48-byte records, back to back.
    pub commands: Vec<u8>,
    /// Their reasons: [`crate::risk::RISK_CODES`]`[reason - 1]`.
    pub reasons: Vec<u8>,
}

impl JournalColumns {
    /// Number of command rows.
    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    /// True without command rows.
    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }
}

/// Reads the records of the journal in `dir` after `after_seq` as columns. Fails at the first
/// invalid record ([`JournalError::Corrupt`] and friends name its segment and offset).
pub fn read_columns(dir: &Path, after_seq: u64) -> Result<JournalColumns, JournalError> {
    let mut out = JournalColumns::default();
    for record in read_records(dir, after_seq)? {
        match record? {
            JournalRecord::Command(entry) => {
                if let Some(id) = entry.client_order_id {
                    out.client_order_ids.push((entry.seq, id.as_str().to_owned()));
                }
                out.seqs.push(entry.seq);
                out.instruments.push(entry.instrument);
                out.wall_ns.push(entry.wall_ns);
                out.commands.extend_from_slice(&encode_command(&entry.command));
            }
            JournalRecord::Control(c) => {
                let json = serde_json::to_string(&c.control)
                    .map_err(|_| JournalError::InvalidControl { seq: c.seq, why: "cannot be written as JSON" })?;
                out.controls.push((c.seq, json));
            }
            JournalRecord::Rejection(r) => {
                if let Some(id) = r.client_order_id {
                    out.client_order_ids.push((r.seq, id.as_str().to_owned()));
                }
                out.rejections.seqs.push(r.seq);
                out.rejections.instruments.push(r.instrument);
                out.rejections.wall_ns.push(r.wall_ns);
                out.rejections.commands.extend_from_slice(&encode_command(&r.command));
                out.rejections.reasons.push(r.reason);
            }
        }
    }
    debug_assert_eq!(out.commands.len(), out.len() * COMMAND_SIZE);
    Ok(out)
}

/// What [`prune`] removed (or, dry, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// The oldest snapshot that reads back whole (`None`: there is none, nothing was removed).
    pub snapshot_seq: Option<u64>,
    /// The oldest record a saved venue state holds ([`super::held_seq`]): nothing after it
    /// was removed.
    pub held_seq: Option<u64>,
    /// The segments removed (moved to the archive), or that would be.
    pub segments: Vec<PathBuf>,
}

/// Removes the segments of the journal in `dir` that hold only records at or before its oldest
/// snapshot that reads back whole (and before any saved venue state's record,
/// [`super::held_seq`]): deleted, or moved to `archive`; with `dry_run`, only listed.
pub fn prune(dir: &Path, archive: Option<&Path>, dry_run: bool) -> Result<Pruned, JournalError> {
    if !dir.is_dir() {
        return Err(JournalError::Config { why: format!("{} is not a directory", dir.display()) });
    }
    let Some(seq) = oldest_valid_snapshot(dir)? else { return Ok(Pruned::default()) };
    let held_seq = held_seq(dir)?;
    let cut = held_seq.map_or(seq, |held| seq.min(held));
    let segments = if dry_run { segments_behind(dir, cut)? } else { prune_segments(dir, cut, archive)? };
    Ok(Pruned { snapshot_seq: Some(seq), held_seq, segments })
}

#[cfg(test)]
mod tests {
    use wintermute_core::records::decode_command;
    use wintermute_core::{Command, Engine, InstrumentSpec, NewOrder, Side};

    use super::*;
    use crate::journal::{
        held_state_name, write_snapshot, ClientOrderId, EngineSnapshot, FsyncPolicy, Journal, JournalConfig,
    };
    use crate::risk::ControlRecord;

    fn config(dir: &Path) -> JournalConfig {
        JournalConfig::new(dir).fsync(FsyncPolicy::None).segment_size(4096)
    }

    fn order(id: u64) -> Command {
        Command::New(NewOrder::limit(id, 1, Side::Buy, 100, 1))
    }

    #[test]
    fn commands_and_controls_come_back_as_columns_after_a_seq() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut j, _) = Journal::open(config(dir.path())).expect("open");
        j.append(0, &order(1)).expect("append");
        j.append_control(&ControlRecord::GlobalKill { engaged: true }).expect("append");
        j.append(1, &order(2)).expect("append");
        j.close().expect("close");

        let all = read_columns(dir.path(), 0).expect("reads");
        assert_eq!((all.seqs.clone(), all.instruments.clone()), (vec![1, 3], vec![0, 1]));
        assert_eq!(all.len(), 2);
        let second: &[u8; COMMAND_SIZE] = all.commands[COMMAND_SIZE..].try_into().expect("one record");
        assert_eq!(decode_command(second).expect("decodes"), order(2));
        assert_eq!(all.controls.len(), 1);
        assert_eq!(all.controls[0].0, 2);
        assert!(all.controls[0].1.contains("true"), "{}", all.controls[0].1);

        let after = read_columns(dir.path(), 1).expect("reads");
        assert_eq!(after.seqs, [3]);
    }

    #[test]
    fn tagged_records_bring_their_client_order_ids() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut j, _) = Journal::open(config(dir.path())).expect("open");
        let tag = crate::journal::ClientOrderId::new("cl-1").expect("valid");
        j.append(0, &order(1)).expect("append");
        j.append_tagged(0, &order(2), &tag).expect("append");
        j.append_tagged_rejection(0, &order(3), 1, &ClientOrderId::new("cl-2").expect("valid")).expect("append");
        j.close().expect("close");
        let all = read_columns(dir.path(), 0).expect("reads");
        assert_eq!(all.seqs, [1, 2]);
        assert_eq!(all.rejections.seqs, [3]);
        assert_eq!(all.client_order_ids, [(2, "cl-1".to_owned()), (3, "cl-2".to_owned())]);
        assert_eq!(all.wall_ns, [0, 0], "written without a clock");
    }

    #[test]
    fn each_record_carries_the_time_marked_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut j, _) = Journal::open(config(dir.path())).expect("open");
        j.append(0, &order(1)).expect("append");
        j.mark_time(1_000);
        j.append(0, &order(2)).expect("append");
        j.append_rejection(0, &order(3), 1).expect("append");
        j.mark_time(2_000);
        j.append(1, &order(4)).expect("append");
        j.close().expect("close");
        let all = read_columns(dir.path(), 0).expect("reads");
        assert_eq!((all.seqs.clone(), all.wall_ns.clone()), (vec![1, 2, 4], vec![0, 1_000, 2_000]));
        assert_eq!((all.rejections.seqs.clone(), all.rejections.wall_ns.clone()), (vec![3], vec![1_000]));
        let after = read_columns(dir.path(), 3).expect("reads");
        assert_eq!((after.seqs, after.wall_ns), (vec![4], vec![2_000]), "a mark read past still counts");
    }

    #[test]
    fn prune_removes_only_segments_behind_a_whole_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = prune(&dir.path().join("missing"), None, false).expect_err("no directory");
        assert!(err.to_string().contains("is not a directory"), "{err}");

        let (mut j, _) = Journal::open(config(dir.path())).expect("open");
        for id in 1..=300 {
            j.append(0, &order(id)).expect("append");
        }
        assert_eq!(prune(dir.path(), None, false).expect("nothing to do"), Pruned::default());
        let mut engine = Engine::new();
        engine.add_instrument(InstrumentSpec::from_units("X", "1", "1", 1, 10, 1, 1000).expect("spec")).expect("add");
        write_snapshot(dir.path(), &EngineSnapshot::capture(&engine, j.last_seq())).expect("snapshot");
        j.close().expect("close");

        let dry = prune(dir.path(), None, true).expect("lists");
        assert_eq!(dry.snapshot_seq, Some(300));
        assert!(!dry.segments.is_empty(), "300 records fill several 4 KiB segments");
        assert!(dry.segments.iter().all(|p| p.exists()), "a dry run removes nothing");

        let archive = dir.path().join("archive");
        let done = prune(dir.path(), Some(&archive), false).expect("prunes");
        assert_eq!(done.segments.len(), dry.segments.len());
        assert!(dry.segments.iter().all(|p| !p.exists()));
        assert_eq!(std::fs::read_dir(&archive).expect("archive").count(), dry.segments.len());
    }

    #[test]
    fn prune_keeps_the_records_after_a_saved_venue_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut j, _) = Journal::open(config(dir.path())).expect("open");
        for id in 1..=300 {
            j.append(0, &order(id)).expect("append");
        }
        let mut engine = Engine::new();
        engine.add_instrument(InstrumentSpec::from_units("X", "1", "1", 1, 10, 1, 1000).expect("spec")).expect("add");
        write_snapshot(dir.path(), &EngineSnapshot::capture(&engine, 300)).expect("snapshot");
        j.close().expect("close");
        let whole = prune(dir.path(), None, true).expect("lists");
        // Saved venue states at 120 and 200 (and names that are not states): 120 holds.
        for name in [held_state_name(200), held_state_name(120), "venue-12.state".into(), "venue-x.state.tmp".into()] {
            std::fs::write(dir.path().join(name), b"").expect("write");
        }
        assert_eq!(held_seq(dir.path()).expect("reads"), Some(120));
        assert_eq!(super::super::prune_point(dir.path()).expect("reads"), Some(120));
        let done = prune(dir.path(), None, false).expect("prunes");
        assert_eq!((done.snapshot_seq, done.held_seq), (Some(300), Some(120)));
        assert!(!done.segments.is_empty() && done.segments.len() < whole.segments.len(), "{done:?}");
        let left = read_columns(dir.path(), 0).expect("reads");
        let first = left.seqs[0];
        assert!(first > 1 && first <= 121, "every record after 120 stays: the journal starts at {first}");
        assert_eq!(*left.seqs.last().expect("records"), 300);
    }
}

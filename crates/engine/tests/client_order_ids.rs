//! Client order ids in the journal: a command submitted with one ([`Gateway::submit_tagged`])
//! is journaled with it (a tagged record), in the engine's order, in both topologies; risk
//! rejections keep theirs; replay and recovery treat tagged records as plain ones; journals
//! without them read as before.

mod support;

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::{
    read_entries, read_records, recover, ClientOrderId, FsyncPolicy, Journal, JournalConfig, JournalRecord,
    RECORD_SIZE, TAGGED_RECORD_SIZE, TAGGED_REJECTION_RECORD_SIZE,
};
use wintermute_engine::pipeline::{Gateway, Pipeline, PipelineConfig, RiskConfig, Subscription, Topology};
use wintermute_engine::risk::AccountLimits;

use support::{answer, config, initial_engine};

fn buy(id: u64, account: u32, price: i64, qty: i64) -> Command {
    Command::New(NewOrder::limit(id, account, Side::Buy, price, qty))
}

fn sell(id: u64, account: u32, price: i64, qty: i64) -> Command {
    Command::New(NewOrder::limit(id, account, Side::Sell, price, qty))
}

fn tag(text: &str) -> ClientOrderId {
    ClientOrderId::new(text).unwrap()
}

fn start(cfg: PipelineConfig) -> (Pipeline, Gateway, Subscription) {
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let gw = handles.gateways.into_iter().next().unwrap();
    let sub = handles.subscriptions.into_iter().next().unwrap();
    (pipeline, gw, sub)
}

/// `(seq, client order id)` of every record of the journal in `dir`.
fn tags(dir: &std::path::Path) -> Vec<(u64, Option<String>)> {
    read_records(dir, 0)
        .unwrap()
        .map(|r| match r.unwrap() {
            JournalRecord::Command(e) => (e.seq, e.client_order_id.map(|c| c.to_string())),
            JournalRecord::Rejection(r) => (r.seq, r.client_order_id.map(|c| c.to_string())),
            JournalRecord::Control(c) => (c.seq, None),
        })
        .collect()
}

#[test]
fn a_pipeline_journals_each_client_order_id_with_its_command_in_both_topologies() {
    for topology in [Topology::Merged, Topology::Split] {
        let dir = tempfile::tempdir().unwrap();
        let jc = JournalConfig::new(dir.path()).segment_size(1 << 16).fsync(FsyncPolicy::None);
        let limits = AccountLimits { max_order_qty: 100, ..AccountLimits::UNLIMITED };
        let risk = RiskConfig::permissive().account(7, limits).account(8, limits);
        let cfg = || config(topology, 1).risk(risk.clone()).journal(jc.clone());
        let (pipeline, mut gw, mut sub) = start(cfg());
        let id = gw.submit_tagged(0, sell(1, 7, 100, 5), tag("ask-1")).unwrap();
        assert_eq!(answer(&mut sub, id)[0].journal_seq, 1);
        let id = gw.submit(0, buy(2, 8, 100, 2)).unwrap();
        assert_eq!(answer(&mut sub, id)[0].journal_seq, 2);
        let id = gw.submit_tagged(0, buy(3, 8, 100, 500), tag("too-big")).unwrap();
        let refused = answer(&mut sub, id);
        assert_eq!(refused[0].journal_seq, 3, "{topology:?}: the rejection is journaled");
        let id = gw.submit_tagged(0, buy(4, 8, 100, 1), tag("bid:4")).unwrap();
        answer(&mut sub, id);
        pipeline.shutdown().unwrap();

        assert_eq!(
            tags(dir.path()),
            [(1, Some("ask-1".to_owned())), (2, None), (3, Some("too-big".to_owned())), (4, Some("bid:4".to_owned())),],
            "{topology:?}"
        );
        // A restart replays the tagged commands like any: order 1 has 5 - 2 - 1 lots left.
        let (pipeline, mut gw, mut sub) = start(cfg());
        assert_eq!((pipeline.recovery().replayed, pipeline.recovery().journal_seq), (3, 4));
        let id = gw.submit_tagged(0, buy(5, 8, 100, 2), tag("bid-5")).unwrap();
        let out = answer(&mut sub, id);
        assert_eq!(out[0].journal_seq, 5, "numbering continues after the journal");
        let done = pipeline.shutdown().unwrap();
        assert_eq!(done.engine.get(0).unwrap().best_ask(), None, "order 1 was filled by order 5");
    }
}

#[test]
fn recovery_replays_tagged_records_as_plain_ones() {
    let cmds = [sell(1, 1, 100, 5), buy(2, 2, 100, 2), sell(3, 1, 101, 4), buy(4, 2, 101, 6)];
    let (plain, tagged) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, tagging) in [(&plain, false), (&tagged, true)] {
        let jc = JournalConfig::new(dir.path()).segment_size(1 << 16).fsync(FsyncPolicy::None);
        let (mut j, _) = Journal::open(jc).unwrap();
        for (i, c) in cmds.iter().enumerate() {
            if tagging && i % 2 == 0 {
                j.append_tagged(0, c, &tag(&format!("c{i}"))).unwrap();
            } else {
                j.append(0, c).unwrap();
            }
        }
        j.close().unwrap();
    }
    let a = recover(plain.path(), &initial_engine()).unwrap();
    let b = recover(tagged.path(), &initial_engine()).unwrap();
    assert_eq!((a.journal_seq, a.replayed), (b.journal_seq, b.replayed));
    assert_eq!(a.events, b.events, "the same events, event for event");
    for side in [Side::Buy, Side::Sell] {
        assert_eq!(a.engine.get(0).unwrap().depth(side, 10), b.engine.get(0).unwrap().depth(side, 10));
    }
    let entries: Vec<_> = read_entries(tagged.path(), 0).unwrap().map(Result::unwrap).collect();
    let commands: Vec<Command> = entries.iter().map(|e| e.command).collect();
    assert_eq!(commands, cmds, "the commands read back whole");
    let ids: Vec<Option<String>> = entries.iter().map(|e| e.client_order_id.map(|c| c.to_string())).collect();
    assert_eq!(ids, [Some("c0".into()), None, Some("c2".into()), None]);
}

#[test]
fn tagged_records_roll_to_the_next_segment_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    // Room for one tagged record and a plain one per segment, not two tagged ones.
    let size = (TAGGED_RECORD_SIZE + RECORD_SIZE) as u64;
    let jc = JournalConfig::new(dir.path()).segment_size(size).fsync(FsyncPolicy::None);
    let (mut j, _) = Journal::open(jc.clone()).unwrap();
    for i in 0..6u64 {
        j.append_tagged(0, &buy(i + 1, 1, 100, 1), &tag(&format!("id-{i}"))).unwrap();
    }
    drop(j); // a crash, as far as the disk knows
    let (mut j, report) = Journal::open(jc.clone()).unwrap();
    assert_eq!((report.records, report.last_seq, report.truncated), (6, 6, None));
    assert!(report.segments >= 6, "one tagged record per segment: {}", report.segments);
    assert_eq!(j.append(0, &buy(7, 1, 100, 1)).unwrap(), 7);
    j.close().unwrap();
    let seen = tags(dir.path());
    assert_eq!(seen.len(), 7);
    assert_eq!(seen[5], (6, Some("id-5".to_owned())));
    assert_eq!(seen[6], (7, None));
}

#[test]
fn a_segment_too_small_for_a_tagged_record_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let jc = JournalConfig::new(dir.path()).segment_size(TAGGED_RECORD_SIZE as u64 - 1).fsync(FsyncPolicy::None);
    let (mut j, _) = Journal::open(jc).unwrap();
    let err = j.append_tagged(0, &buy(1, 1, 100, 1), &tag("x")).unwrap_err();
    assert!(err.to_string().contains("tagged command"), "{err}");
    let err = j.append_tagged_rejection(0, &buy(1, 1, 100, 1), 1, &tag("x")).unwrap_err();
    assert!(err.to_string().contains(&TAGGED_REJECTION_RECORD_SIZE.to_string()), "{err}");
    assert_eq!(j.append(0, &buy(1, 1, 100, 1)).unwrap(), 1, "nothing was written");
}

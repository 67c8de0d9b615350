//! Runtime control of a running pipeline: every change applies before the call returns, in
//! both topologies, is journaled in order with the commands, and survives a restart.

mod support;

use wintermute_core::{Command, InstrumentId, NewOrder, Side};
use wintermute_engine::journal::{read_entries, read_records, FsyncPolicy, JournalConfig, JournalRecord};
use wintermute_engine::pipeline::{
    ControlError, Gateway, Output, OutputKind, Pipeline, PipelineConfig, RiskConfig, Subscription, Topology,
};
use wintermute_engine::risk::{AccountLimits, ControlRecord, PriceBand, RiskError};

use support::{answer, config};

const TOPOLOGIES: [Topology; 2] = [Topology::Merged, Topology::Split];

/// Submits one command and waits for its outputs.
fn run(gw: &mut Gateway, sub: &mut Subscription, instrument: InstrumentId, cmd: Command) -> Vec<Output> {
    answer(sub, gw.submit(instrument, cmd).unwrap())
}

/// The risk code a command was rejected with (`None`: it was not).
fn code(outputs: &[Output]) -> Option<&'static str> {
    match &outputs.last().unwrap().kind {
        OutputKind::RiskRejected(e) => Some(e.code()),
        _ => None,
    }
}

fn buy(id: u64, account: u32, price: i64, qty: i64) -> Command {
    Command::New(NewOrder::limit(id, account, Side::Buy, price, qty))
}

fn risk_config() -> RiskConfig {
    RiskConfig::permissive().account(7, AccountLimits { max_order_qty: 100, ..AccountLimits::UNLIMITED })
}

fn start(cfg: PipelineConfig) -> (Pipeline, Gateway, Subscription) {
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let gw = handles.gateways.into_iter().next().unwrap();
    let sub = handles.subscriptions.into_iter().next().unwrap();
    (pipeline, gw, sub)
}

#[test]
fn kill_switches_apply_before_the_call_returns_and_cancels_still_pass() {
    for topology in TOPOLOGIES {
        let (pipeline, mut gw, mut sub) = start(config(topology, 1).risk(risk_config()));
        let control = pipeline.control();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(1, 7, 100, 5))), None);
        control.set_account_kill(7, true).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(2, 7, 100, 5))), Some("ACCOUNT_KILL_SWITCH"), "{topology:?}");
        // Another account is not affected; cancels of the killed one pass.
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(3, 8, 100, 5))), None);
        let cancel = run(&mut gw, &mut sub, 0, Command::Cancel { order_id: 1 });
        assert!(matches!(cancel[0].kind, OutputKind::Event(_)), "{cancel:?}");
        control.set_account_kill(7, false).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(4, 7, 100, 5))), None);

        control.set_global_kill(true).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(5, 8, 100, 5))), Some("GLOBAL_KILL_SWITCH"));
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(6, 7, 100, 5))), Some("GLOBAL_KILL_SWITCH"));
        control.set_global_kill(false).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(7, 8, 100, 5))), None);
        let done = pipeline.shutdown().unwrap();
        assert_eq!(done.stats.controls, 4);
        assert!(!done.risk.unwrap().global_kill());
    }
}

#[test]
fn limits_default_limits_and_reference_prices_change_at_runtime() {
    for topology in TOPOLOGIES {
        let cfg = config(topology, 1).risk(RiskConfig { default_limits: None, ..risk_config() });
        let (pipeline, mut gw, mut sub) = start(cfg);
        let control = pipeline.control();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(1, 7, 100, 50))), None);
        control.set_limits(7, AccountLimits { max_order_qty: 10, ..AccountLimits::UNLIMITED }).unwrap();
        let out = run(&mut gw, &mut sub, 0, buy(2, 7, 100, 50));
        let OutputKind::RiskRejected(e) = &out[0].kind else { panic!("{out:?}") };
        assert_eq!(e, &RiskError::MaxOrderQty { account: 7, instrument: 0, qty: 50, limit: 10 }, "{topology:?}");

        // No default limits: an unseen account is refused until defaults are set.
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(3, 9, 100, 5))), Some("UNKNOWN_ACCOUNT"));
        let defaults = AccountLimits { max_order_qty: 3, ..AccountLimits::UNLIMITED };
        control.set_default_limits(Some(defaults)).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(4, 9, 100, 5))), Some("MAX_ORDER_QTY"));
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(5, 9, 100, 3))), None);

        // A price band around a reference price that moves.
        let banded = AccountLimits { price_band: Some(PriceBand::Ticks(10)), ..AccountLimits::UNLIMITED };
        control.set_limits(7, banded).unwrap();
        control.set_reference_price(1, 1_000).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 1, buy(6, 7, 1_011, 1))), Some("PRICE_BAND"));
        control.set_reference_price(1, 1_005).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 1, buy(7, 7, 1_011, 1))), None);
        let done = pipeline.shutdown().unwrap();
        let risk = done.risk.unwrap();
        assert_eq!(risk.limits(7), Some(banded));
        assert_eq!(risk.limits(9), Some(defaults));
        assert_eq!(risk.reference_price(1), Some(1_005));
    }
}

#[test]
fn refused_controls_change_nothing_and_say_why() {
    for topology in TOPOLOGIES {
        let cfg = config(topology, 1).risk(RiskConfig { default_limits: None, ..risk_config() });
        let (pipeline, _gw, _sub) = start(cfg);
        let control = pipeline.control();
        let err = control.set_reference_price(5, 100).unwrap_err();
        assert_eq!(
            err,
            ControlError::Risk { op: "set_reference_price", source: RiskError::UnknownInstrument { instrument: 5 } }
        );
        // Killing an unknown account would create it, unlimited: refused without defaults.
        let err = control.set_account_kill(42, true).unwrap_err();
        assert!(matches!(err, ControlError::Risk { source: RiskError::UnknownAccount { account: 42 }, .. }), "{err}");
        assert_eq!(control.snapshot().unwrap_err(), ControlError::NoJournal { op: "snapshot" });
        assert_eq!(control.set_account_kill(7, true).unwrap(), 0, "no journal: no sequence number");
        let done = pipeline.shutdown().unwrap();
        assert_eq!(done.stats.controls, 1);
        let risk = done.risk.unwrap();
        assert!(risk.limits(42).is_none());
        assert!(risk.account_kill(7));
        // After shutdown: stopped, at once.
        assert_eq!(control.set_global_kill(true).unwrap_err(), ControlError::Stopped { op: "set_global_kill" });
    }
    // Without risk there is nothing to control.
    let (pipeline, _gw, _sub) = start(config(Topology::Merged, 1));
    let err = pipeline.control().set_global_kill(true).unwrap_err();
    assert_eq!(err, ControlError::NoRisk { op: "set_global_kill" });
    assert!(err.to_string().contains("op=set_global_kill"), "{err}");
}

#[test]
fn controls_are_journaled_in_order_and_survive_a_restart() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let jc = JournalConfig::new(dir.path()).segment_size(1 << 16).fsync(FsyncPolicy::None);
        let cfg = || config(topology, 1).risk(risk_config()).journal(jc.clone());
        let (pipeline, mut gw, mut sub) = start(cfg());
        let control = pipeline.control();
        let first = run(&mut gw, &mut sub, 0, buy(1, 7, 100, 5));
        assert_eq!(first[0].journal_seq, 1);
        let limits = AccountLimits { max_order_qty: 4, ..AccountLimits::UNLIMITED };
        assert_eq!(control.set_limits(8, limits).unwrap(), 2);
        assert_eq!(control.set_account_kill(7, true).unwrap(), 3);
        assert_eq!(control.set_reference_price(0, 99).unwrap(), 4);
        let after = run(&mut gw, &mut sub, 0, buy(2, 8, 100, 4));
        assert_eq!(after[0].journal_seq, 5, "commands after a control come after it in the journal");
        drop(pipeline); // stops like shutdown; the journal is what the next start reads

        let records: Vec<JournalRecord> = read_records(dir.path(), 0).unwrap().map(Result::unwrap).collect();
        let controls: Vec<(u64, ControlRecord)> = records
            .iter()
            .filter_map(|r| match r {
                JournalRecord::Control(c) => Some((c.seq, c.control)),
                _ => None,
            })
            .collect();
        assert_eq!(
            controls,
            [
                (2, ControlRecord::SetLimits { account: 8, limits }),
                (3, ControlRecord::AccountKill { account: 7, engaged: true }),
                (4, ControlRecord::ReferencePrice { instrument: 0, price: 99 }),
            ]
        );
        let commands: Vec<u64> = read_entries(dir.path(), 0).unwrap().map(|e| e.unwrap().seq).collect();
        assert_eq!(commands, [1, 5], "read_entries yields the commands only");

        // Restart: the kill switch is still engaged, the limits and the reference price kept.
        let (pipeline, mut gw, mut sub) = start(cfg());
        assert_eq!(pipeline.recovery().controls, 3);
        assert_eq!(pipeline.recovery().replayed, 2);
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(3, 7, 100, 1))), Some("ACCOUNT_KILL_SWITCH"), "{topology:?}");
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(4, 8, 100, 5))), Some("MAX_ORDER_QTY"));
        pipeline.control().set_account_kill(7, false).unwrap();
        assert_eq!(code(&run(&mut gw, &mut sub, 0, buy(5, 7, 100, 1))), None);
        let done = pipeline.shutdown().unwrap();
        let risk = done.risk.unwrap();
        assert_eq!(risk.reference_price(0), Some(99));
        assert_eq!(risk.limits(8), Some(limits));
        assert_eq!(risk.open_orders(7), 2, "order 1 before the restart, order 5 after");
    }
}

#[test]
fn risk_rejections_are_journaled_with_their_reason_and_read_past_on_restart() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let jc = JournalConfig::new(dir.path()).segment_size(1 << 16).fsync(FsyncPolicy::None);
        let cfg = || config(topology, 1).risk(risk_config()).journal(jc.clone());
        let (pipeline, mut gw, mut sub) = start(cfg());
        assert_eq!(run(&mut gw, &mut sub, 0, buy(1, 7, 100, 5))[0].journal_seq, 1);
        let refused = run(&mut gw, &mut sub, 0, buy(2, 7, 100, 500));
        assert_eq!(code(&refused), Some("MAX_ORDER_QTY"), "{topology:?}");
        assert_eq!(refused[0].journal_seq, 2, "the rejection took the next journal record");
        assert_eq!(run(&mut gw, &mut sub, 0, buy(3, 7, 101, 5))[0].journal_seq, 3);
        drop(pipeline);

        let records: Vec<JournalRecord> = read_records(dir.path(), 0).unwrap().map(Result::unwrap).collect();
        let rejections: Vec<_> = records
            .iter()
            .filter_map(|r| match r {
                JournalRecord::Rejection(r) => Some((r.seq, r.instrument, r.command, r.code())),
                _ => None,
            })
            .collect();
        assert_eq!(rejections, [(2, 0, buy(2, 7, 100, 500), "MAX_ORDER_QTY")]);
        let commands: Vec<u64> = read_entries(dir.path(), 0).unwrap().map(|e| e.unwrap().seq).collect();
        assert_eq!(commands, [1, 3], "read_entries yields the commands only");

        // Restart: the rejection is read past; the books and risk hold orders 1 and 3 only,
        // and the next record follows it.
        let (pipeline, mut gw, mut sub) = start(cfg());
        assert_eq!(pipeline.recovery().replayed, 2);
        assert_eq!(pipeline.recovery().journal_seq, 3);
        assert_eq!(run(&mut gw, &mut sub, 0, buy(4, 7, 102, 5))[0].journal_seq, 4);
        let done = pipeline.shutdown().unwrap();
        assert_eq!(done.risk.unwrap().open_orders(7), 3);
    }
}

#[test]
fn a_rejection_is_not_journaled_without_a_journal() {
    let (pipeline, mut gw, mut sub) = start(config(Topology::Merged, 1).risk(risk_config()));
    let refused = run(&mut gw, &mut sub, 0, buy(1, 7, 100, 500));
    assert_eq!((code(&refused), refused[0].journal_seq), (Some("MAX_ORDER_QTY"), 0));
    assert_eq!(run(&mut gw, &mut sub, 0, buy(2, 7, 100, 5))[0].journal_seq, 1, "no number taken");
    drop(pipeline);
}

#[test]
fn controls_from_many_threads_at_once_all_apply() {
    for topology in TOPOLOGIES {
        let dir = tempfile::tempdir().unwrap();
        let jc = JournalConfig::new(dir.path()).segment_size(1 << 16).fsync(FsyncPolicy::None);
        let (pipeline, _gw, _sub) = start(config(topology, 1).risk(risk_config()).journal(jc));
        let control = pipeline.control();
        let threads: Vec<_> = (0..4u32)
            .map(|t| {
                let control = control.clone();
                std::thread::spawn(move || {
                    (0..25u32)
                        .map(|i| {
                            let limits = AccountLimits { max_open_orders: t * 100 + i, ..AccountLimits::UNLIMITED };
                            control.set_limits(100 + t, limits).unwrap()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=100).collect::<Vec<u64>>(), "every control got its own journal record");
        let done = pipeline.shutdown().unwrap();
        let risk = done.risk.unwrap();
        for t in 0..4 {
            assert_eq!(risk.limits(100 + t).unwrap().max_open_orders, t * 100 + 24, "each thread's last wins");
        }
    }
}

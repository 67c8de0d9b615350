//! A full disk is an error the journal reports, not a crash.
//!
//! Segments are written through memory maps. Were they sparse files, the first write to a page
//! on a full filesystem could not return an error: the kernel would kill the process with
//! `SIGBUS`. The journal reserves a segment's blocks when it makes it (`fallocate`), so a full
//! disk shows up there, as `JournalError::Io` with `op` "allocate": the journal keeps every
//! record it took, takes more once space is freed, and a pipeline halts with that error.
//!
//! The test needs a small filesystem of its own: it runs itself again in a private mount
//! namespace (`unshare --mount`, or with a user namespace where it is not root) over an 8 MiB
//! tmpfs. Where neither can be made it says why and passes, except under `CI=true`, where that
//! is a failure.

mod support;

use std::fs;
use std::io::ErrorKind;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command as Process;
use std::time::Duration;

use wintermute_core::{Command, NewOrder, Side};
use wintermute_engine::journal::segment::{list_segments, segment_name};
use wintermute_engine::journal::{read_records, FsyncPolicy, Journal, JournalConfig, JournalError};
use wintermute_engine::pipeline::{Pipeline, PipelineError, RiskConfig, Topology};

use support::{config, drain, CommandMix};

/// Set in the child: the directory of the small filesystem.
const CHILD_DIR: &str = "WM_FULL_DISK_DIR";
/// The child prints this first: the namespace and the mount worked.
const STARTED: &str = "full-disk child started";
const MIB: u64 = 1 << 20;
const FS_SIZE: &str = "8m";

#[test]
fn a_full_disk_is_an_error_not_a_crash() {
    if let Ok(dir) = std::env::var(CHILD_DIR) {
        println!("{STARTED}");
        child(Path::new(&dir));
        return;
    }
    let mnt = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let script = format!(
        "mount -t tmpfs -o size={FS_SIZE} wm-full-disk \"$1\" && exec \"$2\" --exact \
         a_full_disk_is_an_error_not_a_crash --nocapture --test-threads=1"
    );
    let mut tried = Vec::new();
    for namespaces in [&["--mount"][..], &["--user", "--map-root-user", "--mount"]] {
        let out = Process::new("unshare")
            .args(namespaces)
            .args(["sh", "-c", &script, "sh"])
            .arg(mnt.path())
            .arg(&exe)
            .env(CHILD_DIR, mnt.path())
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                tried.push(format!("unshare {namespaces:?}: {e}"));
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !stdout.contains(STARTED) {
            tried.push(format!("unshare {namespaces:?}: {} {}", out.status, stderr.trim()));
            continue;
        }
        // The child ran: its verdict is the test's.
        assert!(
            out.status.success(),
            "the journal on a full disk: {}{}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            out.status,
            match out.status.signal() {
                Some(7) => ": a write through the map met the full disk",
                _ => "",
            }
        );
        assert!(stdout.contains("1 passed"), "{stdout}");
        print!("{stdout}");
        return;
    }
    let why = format!("no small filesystem could be mounted for the test: {}", tried.join("; "));
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
    eprintln!("skipped: {why}");
}

fn cmd(i: u64) -> Command {
    let side = if i.is_multiple_of(2) { Side::Buy } else { Side::Sell };
    Command::New(NewOrder::limit(i + 1, 1, side, 100 + (i % 11) as i64, 1))
}

fn is_disk_full(e: &JournalError) -> bool {
    matches!(e, JournalError::Io { op: "allocate", source, .. } if source.kind() == ErrorKind::StorageFull)
}

/// In the child, on the small filesystem at `root`.
fn child(root: &Path) {
    for prepare_segments in [false, true] {
        journal_fills_the_disk(root, prepare_segments);
    }
    pipeline_halts(root);
}

fn journal_fills_the_disk(root: &Path, prepare_segments: bool) {
    let dir = root.join(format!("journal-prepared-{prepare_segments}"));
    fs::create_dir(&dir).unwrap();
    // Space to give back once the disk is full.
    let filler = root.join("filler");
    fs::write(&filler, vec![1u8; 2 * MIB as usize]).unwrap();
    let cfg = JournalConfig::new(&dir).segment_size(MIB).fsync(FsyncPolicy::None).prepare_segments(prepare_segments);
    let (mut journal, _) = Journal::open(cfg.clone()).unwrap();
    // 8 MiB hold fewer than 8 Mi records: the loop ends on the error, or fails the test.
    let mut appended = 0u64;
    let append = |journal: &mut Journal, appended: &mut u64| {
        let seq = journal.append(0, &cmd(*appended))?;
        *appended += 1;
        assert_eq!(seq, *appended);
        Ok::<_, JournalError>(())
    };
    let error = loop {
        if let Err(e) = append(&mut journal, &mut appended) {
            // The roller may have been making a spare, taking the space the writer wanted: it
            // is done (and parked: only a roll wakes it) well within this wait; then retry.
            std::thread::sleep(Duration::from_millis(200));
            if let Err(e) = append(&mut journal, &mut appended) {
                break e;
            }
            println!("prepare_segments={prepare_segments}: {e}, then a spare was ready");
        }
        assert!(appended < 8 * MIB, "prepare_segments={prepare_segments}: no error on a full disk");
    };
    assert!(is_disk_full(&error), "prepare_segments={prepare_segments}: {error}");
    assert!(error.to_string().contains("op=allocate"), "{error}");
    // Nothing changed: the same error again, the same last record, no half-made segment.
    assert_eq!(journal.last_seq(), appended);
    let again = journal.append(0, &cmd(appended)).unwrap_err();
    assert!(is_disk_full(&again), "{again}");
    assert!(!dir.join(segment_name(appended + 1)).exists());
    // Space again: the journal goes on where it stopped.
    fs::remove_file(&filler).unwrap();
    assert_eq!(journal.append(0, &cmd(appended)).unwrap(), appended + 1);
    journal.close().unwrap();
    let seqs: Vec<u64> = read_records(&dir, 0).unwrap().map(|r| r.unwrap().seq()).collect();
    assert_eq!(seqs, (1..=appended + 1).collect::<Vec<_>>(), "prepare_segments={prepare_segments}");
    assert!(list_segments(&dir).unwrap().len() >= 4);
    // And a writer that opens it on the full disk, then recovers everything.
    let (reopened, report) = Journal::open(cfg).unwrap();
    assert_eq!((reopened.last_seq(), report.records), (appended + 1, appended + 1));
    drop(reopened);
    println!("prepare_segments={prepare_segments}: {appended} records, then: {error}");
    fs::remove_dir_all(&dir).unwrap();
}

fn pipeline_halts(root: &Path) {
    let dir = root.join("pipeline");
    fs::create_dir(&dir).unwrap();
    let journal = JournalConfig::new(&dir).segment_size(MIB).fsync(FsyncPolicy::None);
    let cfg = config(Topology::Merged, 1).risk(RiskConfig::permissive()).journal(journal);
    let (pipeline, handles) = Pipeline::start(cfg).unwrap();
    let consumer = drain(handles.subscriptions.into_iter().next().unwrap(), false);
    let mut gw = handles.gateways.into_iter().next().unwrap();
    let mut mix = CommandMix::new(0);
    // 200,000 records (about 13 MiB) do not fit in 8 MiB.
    for _ in 0..200_000 {
        let (instrument, command) = mix.next_command();
        gw.submit(instrument, command).unwrap();
    }
    drop(gw);
    let error = match pipeline.shutdown() {
        Ok(done) => panic!("the pipeline ran {} commands on a full disk", done.stats.counters.sequenced),
        Err(e) => e,
    };
    assert!(matches!(&error, PipelineError::Journal(e) if is_disk_full(e)), "{error}");
    let collected = consumer.join().unwrap();
    assert_eq!(collected.lasts, 200_000, "every command still answered");
    println!("pipeline: {error}");
}

//! Submitting a batch of 48-byte command records (`wintermute_core::records`) through one
//! gateway: every record is decoded first, so an invalid one submits nothing; then the
//! commands go in, numbered consecutively.

use wintermute_core::records::{decode_command, COMMAND_SIZE};
use wintermute_core::{InstrumentId, OrderError};

use super::{Gateway, SubmitError};

/// Why a record batch was not (wholly) submitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordBatchError {
    #[error("commands[{index}]: {source}; nothing was submitted")]
    Record {
        index: usize,
        #[source]
        source: OrderError,
    },
    #[error("{source} (after {accepted} commands of the batch were accepted)")]
    Submit {
        accepted: usize,
        #[source]
        source: SubmitError,
    },
}

/// What [`submit_records`] submitted: the commands got numbers `first_seq .. first_seq +
/// accepted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub first_seq: u64,
    pub accepted: usize,
}

fn record(chunk: &[u8]) -> &[u8; COMMAND_SIZE] {
    chunk.try_into().expect("chunks_exact yields whole records")
}

/// Submits the command records of `input` (a trailing partial record is ignored) for
/// `instrument`. A full ring with backpressure "reject" stops the batch early (`accepted` <
/// the number of records, no error); a closed gateway is an error.
pub fn submit_records(
    gateway: &mut Gateway,
    instrument: InstrumentId,
    input: &[u8],
) -> Result<Submitted, RecordBatchError> {
    for (index, chunk) in input.chunks_exact(COMMAND_SIZE).enumerate() {
        decode_command(record(chunk)).map_err(|source| RecordBatchError::Record { index, source })?;
    }
    let first_seq = gateway.stats().submitted + 1;
    for (accepted, chunk) in input.chunks_exact(COMMAND_SIZE).enumerate() {
        let cmd = decode_command(record(chunk)).expect("validated above");
        match gateway.submit(instrument, cmd) {
            Ok(_) => {}
            Err(SubmitError::Full { .. }) => return Ok(Submitted { first_seq, accepted }),
            Err(source) => return Err(RecordBatchError::Submit { accepted, source }),
        }
    }
    Ok(Submitted { first_seq, accepted: input.len() / COMMAND_SIZE })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use wintermute_core::records::encode_command;
    use wintermute_core::{Command, InstrumentSpec, NewOrder, RejectReason, Side};

    use super::*;
    use crate::pipeline::{Backpressure, Pipeline, PipelineConfig};
    use crate::wait::WaitStrategy;

    fn start(ring: usize, backpressure: Backpressure) -> (Pipeline, Gateway) {
        let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 1_000_000).expect("spec");
        let config = PipelineConfig::for_cores(vec![spec], 2)
            .engine_wait(WaitStrategy::park(Duration::from_micros(200)))
            .gateway_ring(ring, backpressure)
            .subscriptions(1, 1 << 12);
        let (pipeline, handles) = Pipeline::start(config).expect("starts");
        (pipeline, handles.gateways.into_iter().next().expect("one gateway"))
    }

    fn records(n: u64) -> Vec<u8> {
        (1..=n).flat_map(|id| encode_command(&Command::New(NewOrder::limit(id, 1, Side::Buy, 100, 1)))).collect()
    }

    #[test]
    fn a_batch_is_numbered_consecutively_after_earlier_submits() {
        let (pipeline, mut gateway) = start(1024, Backpressure::Block(WaitStrategy::park(Duration::from_micros(200))));
        gateway.submit(0, Command::Cancel { order_id: 99 }).expect("accepted");
        assert_eq!(submit_records(&mut gateway, 0, &records(5)), Ok(Submitted { first_seq: 2, accepted: 5 }));
        assert_eq!(gateway.stats().submitted, 6);
        pipeline.shutdown().expect("shuts down");
    }

    #[test]
    fn an_invalid_record_submits_nothing() {
        let (pipeline, mut gateway) = start(1024, Backpressure::Block(WaitStrategy::park(Duration::from_micros(200))));
        let mut input = records(3);
        input[COMMAND_SIZE + 36] = 9; // record 1: no such command kind
        let err = submit_records(&mut gateway, 0, &input).expect_err("invalid");
        assert!(
            matches!(err, RecordBatchError::Record { index: 1, ref source } if source.reason() == RejectReason::InvalidOrder)
        );
        assert!(err.to_string().starts_with("commands[1]: "), "{err}");
        assert_eq!(gateway.stats().submitted, 0);
        pipeline.shutdown().expect("shuts down");
    }

    #[test]
    fn a_full_ring_stops_a_rejecting_batch_early_and_a_closed_one_is_an_error() {
        let (pipeline, mut gateway) = start(4, Backpressure::Reject);
        // The engine may take some while we submit: at least the ring's 4 go in, and fewer
        // than all 10_000.
        let done = submit_records(&mut gateway, 0, &records(10_000)).expect("stops early");
        assert_eq!(done.first_seq, 1);
        assert!((4..10_000).contains(&done.accepted), "{done:?}");
        pipeline.shutdown().expect("shuts down");
        let err = submit_records(&mut gateway, 0, &records(2)).expect_err("closed");
        assert!(matches!(err, RecordBatchError::Submit { accepted: 0, source: SubmitError::Closed { .. } }));
        assert!(err.to_string().ends_with("(after 0 commands of the batch were accepted)"), "{err}");
    }
}

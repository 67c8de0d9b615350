//! A gateway shared between its owner and others that take it for a while: a pipeline run
//! from Python keeps each [`Gateway`] in a [`SharedGateway`] slot (any Python thread may
//! submit through it, one at a time), and a live market maker *leases* one for as long as it
//! runs ([`GatewayLease`]): the gateway leaves the slot, so the lessee submits with no lock at
//! all, and goes back when the lease is dropped. While it is out, others are told so
//! ([`SubmitError::Lent`]) instead of waiting for it.
//!
//! ```
//! use wintermute_core::InstrumentSpec;
//! use wintermute_engine::pipeline::{GatewayLease, Pipeline, PipelineConfig, SharedGateway};
//!
//! let spec = InstrumentSpec::from_units("BTC-USD", "0.5", "0.001", 1, 1000, 1, 1_000_000).unwrap();
//! let (pipeline, mut handles) = Pipeline::start(PipelineConfig::for_cores(vec![spec], 2)).unwrap();
//! let slot = SharedGateway::new(handles.gateways.remove(0));
//! let lease = GatewayLease::take(&slot).unwrap();
//! assert!(GatewayLease::take(&slot).is_err(), "one lessee at a time");
//! assert!(slot.with(|g| g.id()).is_err(), "the owner waits for it to come back");
//! drop(lease);
//! assert_eq!(slot.with(|g| g.id()).unwrap(), 0);
//! # drop(pipeline);
//! ```

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::gateway::{Gateway, SubmitError};

/// A gateway in a slot that leases can take it out of (cheap to clone: one slot).
#[derive(Debug, Clone)]
pub struct SharedGateway {
    id: u16,
    slot: Arc<Mutex<Option<Gateway>>>,
}

/// The gateway is out on a lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("gateway={gateway} is lent (to a live market maker) until its lessee stops")]
pub struct GatewayLent {
    pub gateway: u16,
}

impl From<GatewayLent> for SubmitError {
    fn from(e: GatewayLent) -> Self {
        SubmitError::Lent { gateway: e.gateway }
    }
}

impl SharedGateway {
    pub fn new(gateway: Gateway) -> Self {
        Self { id: gateway.id(), slot: Arc::new(Mutex::new(Some(gateway))) }
    }

    /// The gateway's number (known while it is lent too).
    pub fn id(&self) -> u16 {
        self.id
    }

    fn lock(&self) -> MutexGuard<'_, Option<Gateway>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the gateway under the slot's lock, unless it is lent.
    pub fn with<R>(&self, f: impl FnOnce(&mut Gateway) -> R) -> Result<R, GatewayLent> {
        self.lock().as_mut().map(f).ok_or(GatewayLent { gateway: self.id })
    }
}

/// The gateway of a [`SharedGateway`], taken out of its slot until this is dropped.
#[derive(Debug)]
pub struct GatewayLease {
    gateway: Option<Gateway>,
    home: SharedGateway,
}

impl GatewayLease {
    /// Takes the gateway out of `shared` (fails while another lease holds it).
    pub fn take(shared: &SharedGateway) -> Result<Self, GatewayLent> {
        let gateway = shared.lock().take().ok_or(GatewayLent { gateway: shared.id })?;
        Ok(Self { gateway: Some(gateway), home: shared.clone() })
    }

    /// The gateway (no lock: it is this lease's alone).
    pub fn gateway(&mut self) -> &mut Gateway {
        self.gateway.as_mut().expect("a lease holds its gateway until it is dropped")
    }
}

impl Drop for GatewayLease {
    fn drop(&mut self) {
        *self.home.lock() = self.gateway.take();
    }
}

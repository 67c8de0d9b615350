//! The service venue's order table (`wintermute_engine::venue_orders`) from Python: the venue
//! registers orders and the commands it sends, its drain thread hands each drained batch (what
//! `VenueBooks.apply` kept) to `VenueOrders.apply` and gets back the effects its Python side
//! still carries out (trades, fills, holds to give back, states to publish, answers). Built
//! with the venue's ledger (`VenueLedger`), it takes each order's hold as it registers it and
//! carries out the ledger's part of the effects (holds given back, fills) in the same call.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};
use pyo3::IntoPyObjectExt;
use wintermute_engine::venue_ledger::{place_with_hold, LedgerError, VenueLedger};
use wintermute_engine::venue_orders::{
    Answer, CommandKind, Effect, NewOrder, Order, OrderEvent, OrderType, Status, Tif, Trace, VenueOrders,
};

use crate::errors::{Error, Result};
use crate::venue_ledger::{ledger_error, state_error, PyVenueLedger};

/// The venue's orders and waiting commands.
#[pyclass(module = "wintermute._core", name = "VenueOrders", frozen)]
pub struct PyVenueOrders {
    /// Shared with the Rust order entry (`OrderEntry`).
    pub(crate) inner: Arc<Mutex<VenueOrders>>,
    pub(crate) ledger: Option<Py<PyVenueLedger>>,
}

impl PyVenueOrders {
    fn lock(&self) -> MutexGuard<'_, VenueOrders> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ledger(&self) -> Option<MutexGuard<'_, VenueLedger>> {
        self.ledger.as_ref().map(|l| l.get().lock())
    }

    /// The effects as Python tuples, after the ledger (if any) carried out its part.
    fn settled<'py>(&self, py: Python<'py>, mut out: Vec<Effect>) -> PyResult<Bound<'py, PyList>> {
        let failed = self.ledger().map(|mut l| l.carry_out(&mut out)).unwrap_or_default();
        effects(py, out, failed)
    }
}

/// `(order_id, client_order_id, account, instrument, side, type, tif, price, qty, filled,
/// cum_quote, status, reject_reason, created_ns, updated_ns, held)`; `status` is `pending`
/// before the engine's verdict.
fn view<'py>(py: Python<'py>, o: &Order) -> PyResult<Bound<'py, PyTuple>> {
    let status = if o.status == Status::Pending { "pending" } else { o.status.name() };
    let updated = if o.updated_ns == 0 { o.created_ns } else { o.updated_ns };
    let items = [
        o.order_id.into_bound_py_any(py)?,
        o.client_order_id.as_str().into_bound_py_any(py)?,
        o.account.into_bound_py_any(py)?,
        o.instrument.into_bound_py_any(py)?,
        o.side.into_bound_py_any(py)?,
        o.order_type.name().into_bound_py_any(py)?,
        o.tif.name().into_bound_py_any(py)?,
        o.price.into_bound_py_any(py)?,
        o.qty.into_bound_py_any(py)?,
        o.filled.into_bound_py_any(py)?,
        o.cum_quote.into_bound_py_any(py)?,
        status.into_bound_py_any(py)?,
        o.reject_reason.as_deref().into_bound_py_any(py)?,
        o.created_ns.into_bound_py_any(py)?,
        updated.into_bound_py_any(py)?,
        o.held.into_bound_py_any(py)?,
    ];
    PyTuple::new(py, items)
}

fn trace<'py>(py: Python<'py>, t: Option<Trace>) -> PyResult<Bound<'py, PyAny>> {
    match t {
        None => Ok(py.None().into_bound(py)),
        Some(t) => (t.events, t.outcome, t.command_seq, t.journal_seq, t.ingress_ns, t.latency_ns, t.book_deltas)
            .into_bound_py_any(py),
    }
}

/// Effect tags (`wintermute.service.venue` reads them).
const TRADE: u8 = 0;
const FILL: u8 = 1;
const UNLOCK: u8 = 2;
const STATE: u8 = 3;
const ANSWER: u8 = 4;
const LEDGER_ERROR: u8 = 5;

fn effect<'py>(py: Python<'py>, e: Effect) -> PyResult<Bound<'py, PyAny>> {
    match e {
        Effect::Trade { instrument, price, qty, side } => (TRADE, instrument, price, qty, side).into_bound_py_any(py),
        Effect::Fill {
            order_id,
            client_order_id,
            account,
            instrument,
            side,
            qty,
            price,
            maker,
            from_hold,
            fee,
            fee_scale,
        } => {
            let fee = (fee, fee_scale);
            (FILL, order_id, client_order_id, account, instrument, side, qty, price, maker, from_hold, fee)
                .into_bound_py_any(py)
        }
        Effect::Unlock { account, instrument, side, units } => {
            (UNLOCK, account, instrument, side, units).into_bound_py_any(py)
        }
        Effect::State(o) => (STATE, view(py, &o)?).into_bound_py_any(py),
        Effect::Answer { command_seq, answer, trace: t } => {
            let t = trace(py, t)?;
            match answer {
                Answer::Order(o) => (ANSWER, command_seq, view(py, &o)?, py.None(), true, t).into_bound_py_any(py),
                Answer::Canceled(orders) => {
                    let views = orders.iter().map(|o| view(py, o)).collect::<PyResult<Vec<_>>>()?;
                    (ANSWER, command_seq, PyList::new(py, views)?, py.None(), true, t).into_bound_py_any(py)
                }
                Answer::Failed { error, order, counted } => {
                    let order = order.map(|o| view(py, &o)).transpose()?;
                    let err = (error.code, error.message, error.reason);
                    (ANSWER, command_seq, order, err, counted, t).into_bound_py_any(py)
                }
            }
        }
    }
}

fn effects<'py>(py: Python<'py>, list: Vec<Effect>, failed: Vec<LedgerError>) -> PyResult<Bound<'py, PyList>> {
    let mut items = list.into_iter().map(|e| effect(py, e)).collect::<PyResult<Vec<_>>>()?;
    for e in failed {
        items.push((LEDGER_ERROR, e.code, e.message).into_bound_py_any(py)?);
    }
    PyList::new(py, items)
}

fn kind_of(name: &str) -> Result<CommandKind> {
    Ok(match name {
        "place" => CommandKind::Place,
        "cancel" => CommandKind::Cancel,
        "amend" => CommandKind::Amend,
        "mass" => CommandKind::Mass,
        _ => return Err(Error::type_error(format!("kind={name:?}: expected place, cancel, amend or mass"))),
    })
}

#[allow(clippy::too_many_arguments)]
fn new_order<'a>(
    account: u32,
    client_order_id: Option<&'a str>,
    instrument: u32,
    side: u8,
    order_type: &str,
    tif: &str,
    price: Option<i64>,
    qty: i64,
    held: i128,
    now_ns: u64,
) -> Result<NewOrder<'a>> {
    let order_type =
        OrderType::parse(order_type).ok_or_else(|| Error::other("INVALID_ORDER", "type must be limit or market"))?;
    let tif = Tif::parse(tif).ok_or_else(|| Error::other("INVALID_ORDER", "tif must be gtc, ioc, fok or post_only"))?;
    Ok(NewOrder { account, client_order_id, instrument, side, order_type, tif, price, qty, held, now_ns })
}

#[pymethods]
impl PyVenueOrders {
    #[new]
    #[pyo3(signature = (instruments, gateway, history_size, ledger=None))]
    fn new(instruments: u32, gateway: u16, history_size: usize, ledger: Option<Py<PyVenueLedger>>) -> Self {
        Self { inner: Arc::new(Mutex::new(VenueOrders::new(instruments, gateway, history_size))), ledger }
    }

    /// Registers a new order (`pending`) and returns its id and client order id;
    /// `DUPLICATE_CLIENT_ORDER_ID` if
    /// the client order id names an order already.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (account, client_order_id, instrument, side, order_type, tif, price, qty, held, now_ns))]
    fn place(
        &self,
        account: u32,
        client_order_id: Option<&str>,
        instrument: u32,
        side: u8,
        order_type: &str,
        tif: &str,
        price: Option<i64>,
        qty: i64,
        held: i128,
        now_ns: u64,
    ) -> Result<(u64, String)> {
        let o = new_order(account, client_order_id, instrument, side, order_type, tif, price, qty, held, now_ns)?;
        let mut table = self.lock();
        let id = match self.ledger() {
            Some(mut ledger) => place_with_hold(&mut table, &mut ledger, &o)?,
            None => table.place(&o)?,
        };
        Ok((id, table.order(id).map(|o| o.client_order_id.clone()).unwrap_or_default()))
    }

    /// Registers an order with its journaled id (a restart).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (order_id, account, client_order_id, instrument, side, order_type, tif, price, qty, held, now_ns))]
    fn restore(
        &self,
        order_id: u64,
        account: u32,
        client_order_id: &str,
        instrument: u32,
        side: u8,
        order_type: &str,
        tif: &str,
        price: Option<i64>,
        qty: i64,
        held: i128,
        now_ns: u64,
    ) -> Result<()> {
        let o = new_order(account, Some(client_order_id), instrument, side, order_type, tif, price, qty, held, now_ns)?;
        self.lock().restore(order_id, client_order_id, &o);
        // The check passed when the order was placed: its hold is taken as it was.
        self.ledger().map_or(Ok(()), |mut l| l.hold(account, instrument, side, held)).map_err(ledger_error)
    }

    /// The order table as a state document (JSON text; the ledger's is its own).
    fn to_state(&self, py: Python<'_>) -> String {
        py.detach(|| self.lock().to_state())
    }

    /// Replaces the table's orders with a state document's (`VENUE_STATE` if it does not load
    /// or commands are waiting; the table is then unchanged). Holds are the ledger's state.
    fn load_state(&self, py: Python<'_>, state: &str) -> Result<()> {
        py.detach(|| self.lock().load_state(state)).map_err(state_error)
    }

    /// The order table as a binary state document (what the venue saves; see the engine's
    /// `venue_state`).
    fn to_state_bin<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &py.detach(|| self.lock().to_state_bin()))
    }

    /// `load_state` for a binary state document from `to_state_bin`.
    fn load_state_bin(&self, py: Python<'_>, state: &[u8]) -> Result<()> {
        py.detach(|| self.lock().load_state_bin(state)).map_err(state_error)
    }

    /// The ids of the orders registered but not yet sent to the engine (`pending`).
    fn unsent(&self) -> Vec<u64> {
        self.lock().unsent()
    }

    /// Order ids continue after `last`.
    fn continue_after(&self, last: u64) {
        self.lock().continue_after(last);
    }

    /// Whether the states of `account`'s orders are published.
    fn watch(&self, account: u32, watched: bool) {
        self.lock().watch(account, watched);
    }

    /// The watched accounts.
    fn watched(&self) -> Vec<u32> {
        self.lock().watched().collect()
    }

    /// An order's view tuple, or None.
    fn order<'py>(&self, py: Python<'py>, order_id: u64) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.lock().order(order_id).map(|o| view(py, o)).transpose()
    }

    /// The view of the order an account's client order id names, or None.
    fn by_client<'py>(
        &self,
        py: Python<'py>,
        account: u32,
        client_order_id: &str,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.lock().by_client(account, client_order_id).map(|o| view(py, o)).transpose()
    }

    /// One of `account`'s orders (`UNKNOWN_ORDER` / `INVALID_ORDER` otherwise).
    #[pyo3(signature = (account, order_id, client_order_id, open_only))]
    fn find<'py>(
        &self,
        py: Python<'py>,
        account: u32,
        order_id: Option<u64>,
        client_order_id: Option<&str>,
        open_only: bool,
    ) -> Result<Bound<'py, PyTuple>> {
        let table = self.lock();
        let o = table.find(account, order_id, client_order_id, open_only)?;
        Ok(view(py, o)?)
    }

    /// `account`'s open orders, oldest first.
    fn open_orders<'py>(&self, py: Python<'py>, account: u32) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.lock().open_orders(account).map(|o| view(py, o)).collect()
    }

    /// Open orders of every account.
    fn open_count(&self) -> usize {
        self.lock().open_count()
    }

    /// `account`'s remembered orders, oldest first.
    fn history<'py>(&self, py: Python<'py>, account: u32) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        self.lock().history(account).map(|o| view(py, o)).collect()
    }

    /// Remembers that command `command_seq` (`place`, `cancel`, `amend`, `mass`) concerns
    /// `order_id`; `traced` collects its trace.
    #[pyo3(signature = (command_seq, kind, order_id, traced))]
    fn expect(&self, command_seq: u64, kind: &str, order_id: Option<u64>, traced: bool) -> Result<()> {
        Ok(self.lock().expect(command_seq, kind_of(kind)?, order_id, traced)?)
    }

    /// Remembers that command `command_seq` amends `order_id` by total to `total` lots;
    /// returns `(qty, seen_remaining)` to send (counting the order's amends in flight).
    #[pyo3(signature = (command_seq, order_id, total, traced))]
    fn expect_amend(&self, command_seq: u64, order_id: u64, total: i64, traced: bool) -> Result<(i64, i64)> {
        let lots = self.lock().expect_amend(command_seq, order_id, total, traced)?;
        Ok((lots.qty, lots.seen_remaining))
    }

    /// Forgets a command never sent; whether it waited.
    fn forget(&self, command_seq: u64) -> bool {
        self.lock().forget(command_seq)
    }

    /// The commands waiting for the engine.
    fn waiting(&self) -> Vec<u64> {
        self.lock().waiting().collect()
    }

    /// A place that failed before any verdict (see the engine's `VenueOrders::give_up`);
    /// returns the effects (a hold to give back).
    fn give_up<'py>(&self, py: Python<'py>, order_id: u64, code: &str, now_ns: u64) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.lock().give_up(order_id, code, now_ns, &mut out);
        self.settled(py, out)
    }

    /// Applies a batch of raw 120-byte output records at `now_ns`; returns the effects.
    fn apply<'py>(&self, py: Python<'py>, batch: PyReadonlyArray1<'py, u8>, now_ns: u64) -> Result<Bound<'py, PyList>> {
        let bytes = batch.as_slice().map_err(|e| Error::type_error(e.to_string()))?;
        let mut out = Vec::new();
        let failed = py.detach(|| {
            self.lock().apply(bytes, now_ns, &mut out)?;
            Ok::<_, Error>(self.ledger().map(|mut l| l.carry_out(&mut out)).unwrap_or_default())
        })?;
        Ok(effects(py, out, failed)?)
    }

    /// One journaled event (a restart's replay): `(kind, order_id, other_id, side, price, qty,
    /// remaining, reason, instrument)`; returns the effects.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (kind, order_id, other_id, side, price, qty, remaining, reason, instrument, now_ns))]
    fn event<'py>(
        &self,
        py: Python<'py>,
        kind: u8,
        order_id: u64,
        other_id: u64,
        side: u8,
        price: i64,
        qty: i64,
        remaining: i64,
        reason: u8,
        instrument: u32,
        now_ns: u64,
    ) -> PyResult<Bound<'py, PyList>> {
        let e = OrderEvent { kind, order_id, other_id, side, price, qty, remaining, reason, instrument };
        let mut out = Vec::new();
        self.lock().event(&e, None, now_ns, &mut out);
        self.settled(py, out)
    }

    /// Ends a replayed command.
    fn command_done(&self) {
        self.lock().command_done();
    }

    /// A replayed place refused (rejected with `reason`); returns the effects.
    fn reject<'py>(&self, py: Python<'py>, order_id: u64, reason: &str, now_ns: u64) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.lock().reject(order_id, reason, now_ns, &mut out);
        self.settled(py, out)
    }

    /// A replayed FOK place that could not fill; returns the effects.
    fn expire<'py>(&self, py: Python<'py>, order_id: u64, now_ns: u64) -> PyResult<Bound<'py, PyList>> {
        let mut out = Vec::new();
        self.lock().expire(order_id, now_ns, &mut out);
        self.settled(py, out)
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyVenueOrders>()
}

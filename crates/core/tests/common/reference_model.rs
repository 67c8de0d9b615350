//! A deliberately simple reference order book, written only from `docs/matching.md`.
//!
//! It exists to be obviously correct, not fast: each side is a `Vec<Level>` kept best-first,
//! each level a `Vec<RestingOrder>` in queue order, and every lookup is a linear scan. Events
//! are built with `seq: 0` and numbered once the command is done, so numbering cannot depend
//! on the path a command took. The differential tests run it side by side with
//! [`wintermute_core::OrderBook`] and demand identical events and identical state.

use wintermute_core::{
    AccountId, BookSnapshot, CancelReason, Command, Event, InstrumentSpec, LevelView, NewOrder, OrderError, OrderId,
    OrderType, OrderView, Price, Qty, RejectReason, Seq, Side, StpMode, TimeInForce,
};

/// An order resting on the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RestingOrder {
    order_id: OrderId,
    account: AccountId,
    side: Side,
    price: Price,
    /// Total remaining quantity, hidden iceberg quantity included.
    remaining: Qty,
    /// The quantity shown on the book (`remaining` unless an iceberg).
    visible: Qty,
    display_qty: Option<Qty>,
    stp: StpMode,
    post_only: bool,
}

impl RestingOrder {
    fn view(&self) -> OrderView {
        OrderView {
            order_id: self.order_id,
            account: self.account,
            side: self.side,
            price: self.price,
            remaining: self.remaining,
            visible: self.visible,
            display_qty: self.display_qty,
            stp: self.stp,
            post_only: self.post_only,
        }
    }
}

/// One price level: its orders front (index 0) to back.
#[derive(Debug, Clone)]
struct Level {
    price: Price,
    queue: Vec<RestingOrder>,
}

impl Level {
    fn visible_qty(&self) -> Qty {
        self.queue.iter().map(|o| o.visible).sum()
    }

    fn total_qty(&self) -> Qty {
        self.queue.iter().map(|o| o.remaining).sum()
    }
}

/// The order that is matching: a new order, or an amended order re-entering the book.
#[derive(Debug, Clone, Copy)]
struct Taker {
    order_id: OrderId,
    account: AccountId,
    side: Side,
    /// `None` for market orders (trades at any price).
    limit: Option<Price>,
    remaining: Qty,
    stp: StpMode,
}

/// Whether an order on `side` with this limit (`None`: market) may trade at `level_price`.
fn may_trade_at(side: Side, limit: Option<Price>, level_price: Price) -> bool {
    match (limit, side) {
        (None, _) => true,
        (Some(limit), Side::Buy) => level_price <= limit,
        (Some(limit), Side::Sell) => level_price >= limit,
    }
}

/// Whether `a` comes before `b` on `side` (bids: higher first; asks: lower first).
fn is_better(side: Side, a: Price, b: Price) -> bool {
    match side {
        Side::Buy => a > b,
        Side::Sell => a < b,
    }
}

fn canceled(order_id: OrderId, canceled_qty: Qty, remaining_qty: Qty, reason: CancelReason) -> Event {
    Event::Canceled { seq: 0, order_id, canceled_qty, remaining_qty, reason }
}

/// The reference book.
#[derive(Debug, Clone)]
pub struct ReferenceBook {
    spec: InstrumentSpec,
    seq: Seq,
    bids: Vec<Level>,
    asks: Vec<Level>,
}

impl ReferenceBook {
    pub fn new(spec: InstrumentSpec) -> Self {
        Self { spec, seq: 0, bids: Vec::new(), asks: Vec::new() }
    }

    /// The last sequence number emitted (0 before the first event).
    pub fn seq(&self) -> Seq {
        self.seq
    }

    pub fn execute(&mut self, command: &Command) -> Result<Vec<Event>, OrderError> {
        match *command {
            Command::New(ref order) => self.submit(order),
            Command::Cancel { order_id } => self.cancel(order_id),
            Command::Amend { order_id, price, qty } => self.amend(order_id, price, qty),
            Command::AmendTotal { order_id, price, qty, seen_remaining } => {
                self.amend_total(order_id, price, qty, seen_remaining)
            }
            Command::MassCancel { account, side } => Ok(self.mass_cancel(account, side)),
        }
    }

    pub fn submit(&mut self, order: &NewOrder) -> Result<Vec<Event>, OrderError> {
        self.validate_new(order)?;
        let mut out = Vec::new();
        if order.post_only && self.would_trade_on_arrival(order.side, order.price) {
            out.push(Event::Rejected { seq: 0, order_id: order.order_id, reason: RejectReason::PostOnlyWouldCross });
            return Ok(self.number(out));
        }
        let limit = match order.order_type {
            OrderType::Limit => Some(order.price),
            OrderType::Market => None,
        };
        if order.tif == TimeInForce::Fok {
            if let Some(reason) = self.fok_rejection(order, limit) {
                out.push(Event::Rejected { seq: 0, order_id: order.order_id, reason });
                return Ok(self.number(out));
            }
        }
        out.push(Event::Accepted {
            seq: 0,
            order_id: order.order_id,
            account: order.account,
            side: order.side,
            price: limit.unwrap_or(0),
            qty: order.qty,
        });
        let mut taker = Taker {
            order_id: order.order_id,
            account: order.account,
            side: order.side,
            limit,
            remaining: order.qty,
            stp: order.stp,
        };
        let stp_canceled = self.match_taker(&mut taker, &mut out);
        if taker.remaining > 0 && !stp_canceled {
            if order.order_type == OrderType::Limit && order.tif == TimeInForce::Gtc {
                self.rest(&taker, order.display_qty, order.post_only, &mut out);
            } else {
                out.push(canceled(order.order_id, taker.remaining, 0, CancelReason::Unfilled));
            }
        }
        Ok(self.number(out))
    }

    pub fn cancel(&mut self, order_id: OrderId) -> Result<Vec<Event>, OrderError> {
        let order = self.find(order_id).ok_or(OrderError::UnknownOrder { order_id })?;
        self.remove(order_id);
        let out =
            vec![canceled(order_id, order.remaining, 0, CancelReason::User), self.level_delta(order.side, order.price)];
        self.prune_empty_levels();
        Ok(self.number(out))
    }

    pub fn amend(
        &mut self,
        order_id: OrderId,
        price: Option<Price>,
        qty: Option<Qty>,
    ) -> Result<Vec<Event>, OrderError> {
        let current = self.find(order_id).ok_or(OrderError::UnknownOrder { order_id })?;
        if price.is_none() && qty.is_none() {
            return Err(OrderError::InvalidOrder { order_id, why: "amend needs a price or a qty" });
        }
        if let Some(price) = price {
            self.check_band(order_id, price)?;
        }
        if let Some(qty) = qty {
            if qty <= 0 {
                return Err(OrderError::NonPositiveQty { order_id, qty });
            }
            if qty > self.spec.max_qty {
                return Err(OrderError::QtyAboveMax { order_id, qty, max: self.spec.max_qty });
            }
        }
        let new_price = price.unwrap_or(current.price);
        let new_qty = qty.unwrap_or(current.remaining);
        let amended = |priority_kept| Event::Amended {
            seq: 0,
            order_id,
            old_price: current.price,
            new_price,
            old_qty: current.remaining,
            new_qty,
            priority_kept,
        };
        let mut out = Vec::new();
        if new_price == current.price && new_qty <= current.remaining {
            let order = self.find_mut(order_id).expect("the order was found above");
            order.remaining = new_qty;
            order.visible = order.visible.min(new_qty);
            out.push(amended(true));
            out.push(self.level_delta(current.side, current.price));
            return Ok(self.number(out));
        }
        if current.post_only && self.would_trade_on_arrival(current.side, new_price) {
            out.push(Event::Rejected { seq: 0, order_id, reason: RejectReason::PostOnlyWouldCross });
            return Ok(self.number(out));
        }
        out.push(amended(false));
        self.remove(order_id);
        out.push(self.level_delta(current.side, current.price));
        self.prune_empty_levels();
        let mut taker = Taker {
            order_id,
            account: current.account,
            side: current.side,
            limit: Some(new_price),
            remaining: new_qty,
            stp: current.stp,
        };
        let stp_canceled = self.match_taker(&mut taker, &mut out);
        if taker.remaining > 0 && !stp_canceled {
            self.rest(&taker, current.display_qty, current.post_only, &mut out);
        }
        Ok(self.number(out))
    }

    /// Amend by total (`docs/matching.md`, "Amend by total"): the fills the sender had not
    /// seen (`seen_remaining - remaining`) come off `qty`; nothing left cancels the order.
    pub fn amend_total(
        &mut self,
        order_id: OrderId,
        price: Option<Price>,
        qty: Qty,
        seen_remaining: Qty,
    ) -> Result<Vec<Event>, OrderError> {
        let current = self.find(order_id).ok_or(OrderError::UnknownOrder { order_id })?;
        if let Some(price) = price {
            self.check_band(order_id, price)?;
        }
        if qty <= 0 {
            return Err(OrderError::NonPositiveQty { order_id, qty });
        }
        if qty > self.spec.max_qty {
            return Err(OrderError::QtyAboveMax { order_id, qty, max: self.spec.max_qty });
        }
        if seen_remaining < current.remaining {
            return Err(OrderError::InvalidOrder { order_id, why: "seen below remaining" });
        }
        if seen_remaining > self.spec.max_qty {
            return Err(OrderError::QtyAboveMax { order_id, qty: seen_remaining, max: self.spec.max_qty });
        }
        let left = qty - (seen_remaining - current.remaining);
        if left > 0 {
            return self.amend(order_id, price, Some(left));
        }
        self.remove(order_id);
        let out = vec![
            canceled(order_id, current.remaining, 0, CancelReason::FilledBeforeAmend),
            self.level_delta(current.side, current.price),
        ];
        self.prune_empty_levels();
        Ok(self.number(out))
    }

    pub fn mass_cancel(&mut self, account: Option<AccountId>, side: Option<Side>) -> Vec<Event> {
        let mut out = Vec::new();
        for book_side in [Side::Buy, Side::Sell] {
            if side.is_some_and(|s| s != book_side) {
                continue;
            }
            for level in self.levels_mut(book_side).iter_mut() {
                let mut any = false;
                let mut kept = Vec::new();
                for order in level.queue.drain(..) {
                    if account.is_none() || account == Some(order.account) {
                        out.push(canceled(order.order_id, order.remaining, 0, CancelReason::MassCancel));
                        any = true;
                    } else {
                        kept.push(order);
                    }
                }
                level.queue = kept;
                if any {
                    out.push(Event::BookDelta {
                        seq: 0,
                        side: book_side,
                        price: level.price,
                        qty: level.visible_qty(),
                        orders: level.queue.len() as u32,
                    });
                }
            }
        }
        self.prune_empty_levels();
        self.number(out)
    }

    // ----- queries -----

    pub fn best_bid(&self) -> Option<(Price, Qty)> {
        self.bids.first().map(|l| (l.price, l.visible_qty()))
    }

    pub fn best_ask(&self) -> Option<(Price, Qty)> {
        self.asks.first().map(|l| (l.price, l.visible_qty()))
    }

    pub fn depth(&self, side: Side, levels: usize) -> Vec<LevelView> {
        self.levels(side)
            .iter()
            .take(levels)
            .map(|l| LevelView { price: l.price, qty: l.visible_qty(), orders: l.queue.len() as u32 })
            .collect()
    }

    pub fn orders_at(&self, side: Side, price: Price) -> Vec<OrderView> {
        self.levels(side)
            .iter()
            .filter(|l| l.price == price)
            .flat_map(|l| l.queue.iter().map(RestingOrder::view))
            .collect()
    }

    pub fn order(&self, order_id: OrderId) -> Option<OrderView> {
        self.find(order_id).map(|o| o.view())
    }

    pub fn order_count(&self) -> usize {
        self.bids.iter().chain(&self.asks).map(|l| l.queue.len()).sum()
    }

    /// What `OrderBook::snapshot` must return: bids best-first in queue order, then asks.
    pub fn snapshot(&self) -> BookSnapshot {
        let orders = self.bids.iter().chain(&self.asks).flat_map(|l| l.queue.iter().map(RestingOrder::view)).collect();
        BookSnapshot { spec: self.spec.clone(), seq: self.seq, orders }
    }

    // ----- validation -----

    fn validate_new(&self, order: &NewOrder) -> Result<(), OrderError> {
        let order_id = order.order_id;
        if self.find(order_id).is_some() {
            return Err(OrderError::DuplicateOrderId { order_id });
        }
        let qty = order.qty;
        if qty <= 0 {
            return Err(OrderError::NonPositiveQty { order_id, qty });
        }
        if qty < self.spec.min_qty {
            return Err(OrderError::QtyBelowMin { order_id, qty, min: self.spec.min_qty });
        }
        if qty > self.spec.max_qty {
            return Err(OrderError::QtyAboveMax { order_id, qty, max: self.spec.max_qty });
        }
        let invalid = |why| Err(OrderError::InvalidOrder { order_id, why });
        match order.order_type {
            OrderType::Market => {
                if order.post_only {
                    return invalid("market order cannot be post-only");
                }
                if order.tif == TimeInForce::Gtc {
                    return invalid("market order cannot be GTC");
                }
                if order.display_qty.is_some() {
                    return invalid("market order cannot be an iceberg");
                }
            }
            OrderType::Limit => {
                self.check_band(order_id, order.price)?;
                if order.post_only && order.tif != TimeInForce::Gtc {
                    return invalid("post-only needs GTC");
                }
                if order.display_qty.is_some() && order.tif != TimeInForce::Gtc {
                    return invalid("iceberg needs GTC");
                }
                if let Some(display) = order.display_qty {
                    if display <= 0 || display > qty {
                        return Err(OrderError::InvalidDisplayQty { order_id, display, qty });
                    }
                }
            }
        }
        Ok(())
    }

    fn check_band(&self, order_id: OrderId, price: Price) -> Result<(), OrderError> {
        if price < self.spec.min_price || price > self.spec.max_price {
            return Err(OrderError::PriceOutOfBand {
                order_id,
                price,
                min: self.spec.min_price,
                max: self.spec.max_price,
            });
        }
        Ok(())
    }

    // ----- matching -----

    /// Rule 1 of New order: would an order on `side` at `price` trade on arrival?
    fn would_trade_on_arrival(&self, side: Side, price: Price) -> bool {
        match side {
            Side::Buy => self.best_ask().is_some_and(|(ask, _)| price >= ask),
            Side::Sell => self.best_bid().is_some_and(|(bid, _)| price <= bid),
        }
    }

    fn fok_rejection(&self, order: &NewOrder, limit: Option<Price>) -> Option<RejectReason> {
        let mut fillable = 0;
        for level in self.levels(order.side.opposite()) {
            if !may_trade_at(order.side, limit, level.price) {
                break;
            }
            if order.stp != StpMode::None && level.queue.iter().any(|m| m.account == order.account) {
                return Some(RejectReason::FokSelfTrade);
            }
            fillable += level.total_qty();
            if fillable >= order.qty {
                return None;
            }
        }
        Some(RejectReason::FokNotFillable)
    }

    /// Step 4 of New order. Returns true when self-trade prevention canceled the taker.
    fn match_taker(&mut self, taker: &mut Taker, out: &mut Vec<Event>) -> bool {
        let maker_side = taker.side.opposite();
        while taker.remaining > 0 {
            let Some(level_price) = self.levels(maker_side).first().map(|l| l.price) else {
                break;
            };
            if !may_trade_at(taker.side, taker.limit, level_price) {
                break;
            }
            let (touched, stp_canceled) = Self::walk_level(&mut self.levels_mut(maker_side)[0], taker, out);
            if touched {
                out.push(self.level_delta(maker_side, level_price));
            }
            self.prune_empty_levels();
            if stp_canceled {
                return true;
            }
        }
        false
    }

    /// Walks one level's queue from the head. Returns (a maker was touched, the taker was
    /// canceled by self-trade prevention).
    fn walk_level(level: &mut Level, taker: &mut Taker, out: &mut Vec<Event>) -> (bool, bool) {
        let mut touched = false;
        while taker.remaining > 0 && !level.queue.is_empty() {
            let maker = level.queue[0];
            if taker.stp != StpMode::None && maker.account == taker.account {
                let cancel_maker = canceled(maker.order_id, maker.remaining, 0, CancelReason::SelfTrade);
                let cancel_taker = canceled(taker.order_id, taker.remaining, 0, CancelReason::SelfTrade);
                match taker.stp {
                    StpMode::CancelNewest => {
                        out.push(cancel_taker);
                        taker.remaining = 0;
                        return (touched, true);
                    }
                    StpMode::CancelOldest => {
                        level.queue.remove(0);
                        out.push(cancel_maker);
                        touched = true;
                    }
                    StpMode::CancelBoth => {
                        level.queue.remove(0);
                        out.push(cancel_maker);
                        out.push(cancel_taker);
                        taker.remaining = 0;
                        return (true, true);
                    }
                    StpMode::Decrement => {
                        let d = taker.remaining.min(maker.remaining);
                        let head = &mut level.queue[0];
                        head.remaining -= d;
                        head.visible = head.visible.min(head.remaining);
                        taker.remaining -= d;
                        out.push(canceled(maker.order_id, d, head.remaining, CancelReason::SelfTrade));
                        out.push(canceled(taker.order_id, d, taker.remaining, CancelReason::SelfTrade));
                        if head.remaining == 0 {
                            level.queue.remove(0);
                        }
                        touched = true;
                    }
                    StpMode::None => unreachable!("checked above"),
                }
                continue;
            }
            let qty = taker.remaining.min(maker.visible);
            let head = &mut level.queue[0];
            head.remaining -= qty;
            head.visible -= qty;
            taker.remaining -= qty;
            out.push(Event::Trade {
                seq: 0,
                maker_order_id: maker.order_id,
                taker_order_id: taker.order_id,
                maker_account: maker.account,
                taker_account: taker.account,
                price: level.price,
                qty,
                aggressor: taker.side,
                maker_remaining: head.remaining,
                taker_remaining: taker.remaining,
            });
            touched = true;
            if head.remaining == 0 {
                level.queue.remove(0);
            } else if head.visible == 0 {
                let mut refilled = level.queue.remove(0);
                let display = refilled.display_qty.expect("only an iceberg has hidden quantity");
                refilled.visible = display.min(refilled.remaining);
                level.queue.push(refilled);
            }
        }
        (touched, false)
    }

    /// Step 5 for a GTC limit remainder: rest at the back of its level, then the level's delta.
    fn rest(&mut self, taker: &Taker, display_qty: Option<Qty>, post_only: bool, out: &mut Vec<Event>) {
        let price = taker.limit.expect("only limit orders rest");
        let order = RestingOrder {
            order_id: taker.order_id,
            account: taker.account,
            side: taker.side,
            price,
            remaining: taker.remaining,
            visible: display_qty.map_or(taker.remaining, |d| d.min(taker.remaining)),
            display_qty,
            stp: taker.stp,
            post_only,
        };
        let levels = self.levels_mut(taker.side);
        match levels.iter_mut().find(|l| l.price == price) {
            Some(level) => level.queue.push(order),
            None => {
                let at = levels.iter().position(|l| is_better(taker.side, price, l.price)).unwrap_or(levels.len());
                levels.insert(at, Level { price, queue: vec![order] });
            }
        }
        out.push(self.level_delta(taker.side, price));
    }

    // ----- plumbing -----

    fn levels(&self, side: Side) -> &Vec<Level> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn levels_mut(&mut self, side: Side) -> &mut Vec<Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    fn find(&self, order_id: OrderId) -> Option<RestingOrder> {
        self.bids.iter().chain(&self.asks).flat_map(|l| &l.queue).find(|o| o.order_id == order_id).copied()
    }

    fn find_mut(&mut self, order_id: OrderId) -> Option<&mut RestingOrder> {
        self.bids.iter_mut().chain(&mut self.asks).flat_map(|l| &mut l.queue).find(|o| o.order_id == order_id)
    }

    /// Takes a live order off its level (the level may be left empty: see `prune_empty_levels`).
    fn remove(&mut self, order_id: OrderId) {
        for level in self.bids.iter_mut().chain(&mut self.asks) {
            level.queue.retain(|o| o.order_id != order_id);
        }
    }

    fn prune_empty_levels(&mut self) {
        self.bids.retain(|l| !l.queue.is_empty());
        self.asks.retain(|l| !l.queue.is_empty());
    }

    /// The `BookDelta` of a level as it is now (0/0 when it is empty or gone).
    fn level_delta(&self, side: Side, price: Price) -> Event {
        let (qty, orders) = self
            .levels(side)
            .iter()
            .find(|l| l.price == price)
            .map_or((0, 0), |l| (l.visible_qty(), l.queue.len() as u32));
        Event::BookDelta { seq: 0, side, price, qty, orders }
    }

    /// Gives the command's events their sequence numbers, in emission order.
    fn number(&mut self, mut events: Vec<Event>) -> Vec<Event> {
        for event in &mut events {
            self.seq += 1;
            let next = self.seq;
            match event {
                Event::Accepted { seq, .. }
                | Event::Rejected { seq, .. }
                | Event::Trade { seq, .. }
                | Event::Canceled { seq, .. }
                | Event::Amended { seq, .. }
                | Event::BookDelta { seq, .. } => *seq = next,
            }
        }
        events
    }
}

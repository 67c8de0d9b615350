//! Saving and loading the order table (see [`crate::venue_state`]): every order it holds with
//! its state, the client order id index, each account's open orders and history, and the
//! next order id. Commands waiting for the engine are not part of it (a venue saves its
//! state when none waits).

use std::collections::{BTreeMap, HashSet, VecDeque};

use super::HashMap;

use serde::{Deserialize, Serialize};

use super::{Order, Status, VenueOrders, SELL};
use crate::venue_state::{parse, parse_bin, state_error, to_bin, StateError, JSON_STATE_VERSION, STATE_VERSION};

const PART: &str = "orders";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrdersState {
    #[expect(dead_code, reason = "checked by parse / parse_bin before the fields are read")]
    part: String,
    #[expect(dead_code, reason = "checked by parse / parse_bin before the fields are read")]
    version: u32,
    next_id: u64,
    opened: u64,
    /// Every order the table holds, by id.
    orders: Vec<Order>,
    /// `(account, client order id, order id)`.
    client_ids: Vec<(u32, String, u64)>,
    /// `(account, [(when opened, order id)])`, oldest first.
    open: Vec<(u32, Vec<(u64, u64)>)>,
    /// `(account, order ids)`, oldest first.
    history: Vec<(u32, Vec<u64>)>,
    /// Final orders, oldest first (the first ones are forgotten beyond the history size).
    closed: Vec<u64>,
}

/// [`OrdersState`] borrowing the table's orders, to save it without copying them (the same
/// fields in the same order: the same documents).
#[derive(Serialize)]
struct OrdersStateRef<'a> {
    part: &'a str,
    version: u32,
    next_id: u64,
    opened: u64,
    orders: Vec<&'a Order>,
    client_ids: Vec<(u32, &'a str, u64)>,
    open: Vec<(u32, Vec<(u64, u64)>)>,
    history: Vec<(u32, Vec<u64>)>,
    closed: Vec<u64>,
}

fn sorted<K: Ord + Copy, V>(map: &HashMap<K, V>) -> Vec<(K, &V)> {
    let mut out: Vec<(K, &V)> = map.iter().map(|(k, v)| (*k, v)).collect();
    out.sort_unstable_by_key(|(k, _)| *k);
    out
}

impl VenueOrders {
    /// The table as a binary state document (the same table gives the same bytes).
    pub fn to_state_bin(&self) -> Vec<u8> {
        to_bin(&self.state(STATE_VERSION))
    }

    /// The table as a JSON state document (the same table gives the same text).
    pub fn to_state(&self) -> String {
        serde_json::to_string(&self.state(JSON_STATE_VERSION)).expect("the order table serializes")
    }

    /// The orders of the table that are registered but not yet sent to the engine
    /// (`pending`), by id.
    pub fn unsent(&self) -> Vec<u64> {
        let mut ids: Vec<u64> =
            (self.orders.values()).filter(|o| o.status == Status::Pending).map(|o| o.order_id).collect();
        ids.sort_unstable();
        ids
    }

    fn state(&self, version: u32) -> OrdersStateRef<'_> {
        let mut orders: Vec<&Order> = self.orders.values().collect();
        orders.sort_unstable_by_key(|o| o.order_id);
        let mut client_ids: Vec<(u32, &str, u64)> =
            (self.by_client.iter()).flat_map(|(a, m)| m.iter().map(move |(cid, id)| (*a, cid.as_str(), *id))).collect();
        client_ids.sort_unstable();
        OrdersStateRef {
            part: PART,
            version,
            next_id: self.next_id,
            opened: self.opened,
            orders,
            client_ids,
            open: sorted(&self.open).into_iter().map(|(a, m)| (a, m.iter().map(|(k, v)| (*k, *v)).collect())).collect(),
            history: sorted(&self.history).into_iter().map(|(a, d)| (a, d.iter().copied().collect())).collect(),
            closed: self.closed.iter().copied().collect(),
        }
    }

    /// Replaces the table's orders with those of a state document from [`Self::to_state`]
    /// (its instruments, gateway and history size stay). A document that is not one, or that
    /// does not fit (an instrument id past this table's, an order id named but not held), is
    /// an error and the table is unchanged; so is a table with commands waiting.
    pub fn load_state(&mut self, json: &str) -> Result<(), StateError> {
        self.load(parse(PART, json)?)
    }

    /// [`Self::load_state`] for a binary document from [`Self::to_state_bin`].
    pub fn load_state_bin(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        self.load(parse_bin(PART, bytes)?)
    }

    fn load(&mut self, s: OrdersState) -> Result<(), StateError> {
        if !self.pending.is_empty() {
            return Err(state_error(PART, "commands are waiting for the engine"));
        }
        let bad = |why: String| Err(state_error(PART, why));
        let mut orders = HashMap::with_capacity_and_hasher(s.orders.len(), Default::default());
        for o in s.orders {
            if o.instrument >= self.instruments || o.side > SELL {
                return bad(format!("order {} has instrument={} side={}", o.order_id, o.instrument, o.side));
            }
            if o.order_id >= s.next_id {
                return bad(format!("order {} is not below next_id={}", o.order_id, s.next_id));
            }
            if let Some(old) = orders.insert(o.order_id, o) {
                return bad(format!("order {} twice", old.order_id));
            }
        }
        let held = |id: &u64, account: u32| orders.get(id).is_some_and(|o: &Order| o.account == account);
        let mut by_client: HashMap<u32, HashMap<String, u64>> = HashMap::default();
        for (account, cid, id) in s.client_ids {
            if !held(&id, account) {
                return bad(format!("client order id {cid:?} names order {id}, not one of account {account}"));
            }
            by_client.entry(account).or_default().insert(cid, id);
        }
        let mut open: HashMap<u32, BTreeMap<u64, u64>> = HashMap::default();
        for (account, list) in s.open {
            for (when, id) in list {
                if !held(&id, account) || when > s.opened {
                    return bad(format!("open order {id} of account {account} is not held"));
                }
                open.entry(account).or_default().insert(when, id);
            }
        }
        let mut history: HashMap<u32, VecDeque<u64>> = HashMap::default();
        for (account, ids) in s.history {
            if let Some(id) = ids.iter().find(|id| !held(id, account)) {
                return bad(format!("history order {id} of account {account} is not held"));
            }
            history.insert(account, ids.into());
        }
        let mut seen = HashSet::new();
        if let Some(id) = s.closed.iter().find(|id| !orders.contains_key(*id) || !seen.insert(**id)) {
            return bad(format!("closed order {id} is not held (or twice)"));
        }
        self.next_id = s.next_id;
        self.opened = s.opened;
        self.orders = orders;
        self.by_client = by_client;
        self.open = open;
        self.history = history;
        self.closed = s.closed.into();
        self.touched.clear();
        self.amending.clear();
        Ok(())
    }
}

//! The book-health interlock: decides, on every market-data event, whether our quotes may stand.
//!
//! Quotes are priced off the reference venues' books; when one of them cannot be trusted, the
//! quotes must go **within the same event**, and come back only once every reason is gone. The
//! interlock keeps, per reference venue (fixed arrays, at most [`MAX_VENUES`]), its sync state,
//! the time of its last update and its top of book on our grid, and a set of [`PullCause`]s:
//!
//! | cause | raised when | cleared when |
//! |---|---|---|
//! | [`PullCause::NotLive`] | the venue's book is not live (before its first snapshot, while it resyncs: the feeds crate's `Buffering -> Live -> Resyncing`) | its state is `Live` again |
//! | [`PullCause::SequenceGap`], [`PullCause::ChecksumMismatch`], [`PullCause::Malformed`] | the feed reports a resync for that reason | its state is `Live` again (a new snapshot) |
//! | [`PullCause::Stale`] | no update for more than `stale_after_ns` (checked on every event and on [`Interlock::on_timer`]) | an update arrives |
//! | [`PullCause::Crossed`] | a live, fresh venue's best bid is more than `cross_threshold_ticks` above another's best ask | no pair is crossed beyond it |
//! | [`PullCause::Risk`], [`PullCause::KillSwitch`] | risk or the kill switch says so | they say so again |
//!
//! Quoting is allowed exactly when no cause is active. Each call returns the transition it caused,
//! if any: an [`InterlockEvent`] (pull or return, with the cause that triggered it: the most
//! specific, i.e. the highest in [`PullCause`] order, of the causes raised, for a pull, or
//! cleared, for a return, by that call: a gap pulls as `SequenceGap`, not as `NotLive`). The interlock counts every
//! raise and every pull per cause, the returns, and the time spent pulled (for quote uptime, see
//! [`InterlockStats`]). It starts pulled (no venue is live yet), from `start_ns`.
//!
//! **Feeding it.** Per frame of a reference feed, call [`Interlock::on_feed_event`] with what the
//! venue's builder returned (the feeds crate's `FeedEvent`) and the venue's top on our grid: one
//! evaluation per frame. The finer calls ([`Interlock::on_book`], [`Interlock::on_sync_state`],
//! [`Interlock::on_resync`]) do the same piece by piece. Call [`Interlock::on_timer`] periodically
//! so that a venue that went silent is caught even when no other venue sends anything, and
//! [`Interlock::set_risk_block`] / [`Interlock::set_kill_switch`] when those change. Quote only
//! while [`Interlock::quoting_allowed`]; on a [`Transition::Pull`] cancel the quotes in the same
//! event.
//!
//! Nothing allocates after [`Interlock::new`]: causes are bit sets, venues a fixed array.
//!
//! ```
//! use wintermute_mm::interlock::{Interlock, InterlockConfig, PullCause, Transition};
//! use wintermute_mm::types::{Level, Top, VenueId};
//! use wintermute_feeds::sync::SyncState;
//! let mut lock = Interlock::new(InterlockConfig { venues: 1, stale_after_ns: 1_000, cross_threshold_ticks: 0 }, 0).unwrap();
//! let top = Top { bid: Level { price: 99, qty: 1 }, ask: Level { price: 101, qty: 1 }, ts_ns: 10 };
//! let v = VenueId::External(0);
//! let back = lock.on_sync_state(v, 10, SyncState::Live).unwrap().unwrap(); // the snapshot
//! assert_eq!((back.transition, lock.quoting_allowed()), (Transition::Return, true));
//! assert_eq!(lock.on_book(v, 10, top).unwrap(), None); // an update: nothing changes
//! let pulled = lock.on_timer(1_011).unwrap(); // no update for more than 1 µs
//! assert_eq!((pulled.transition, pulled.cause), (Transition::Pull, PullCause::Stale));
//! ```

use wintermute_feeds::sync::{FeedEvent, ResyncReason, SyncState};

use crate::types::{Top, VenueId};

/// Most reference venues an interlock watches.
pub const MAX_VENUES: usize = 8;

/// Number of [`PullCause`]s.
pub const CAUSES: usize = 8;

/// Why quotes are pulled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum PullCause {
    /// A reference book is not live (no snapshot yet, or resyncing).
    NotLive = 0,
    /// A reference book had no update for longer than the configured time.
    Stale = 1,
    /// A reference feed skipped a sequence number.
    SequenceGap = 2,
    /// A reference book failed the venue's checksum.
    ChecksumMismatch = 3,
    /// A reference feed sent a frame that could not be parsed.
    Malformed = 4,
    /// Two reference books are crossed beyond the threshold.
    Crossed = 5,
    /// Risk says stop.
    Risk = 6,
    /// The kill switch is on.
    KillSwitch = 7,
}

impl PullCause {
    /// Every cause, in bit order.
    pub const ALL: [PullCause; CAUSES] = [
        PullCause::NotLive,
        PullCause::Stale,
        PullCause::SequenceGap,
        PullCause::ChecksumMismatch,
        PullCause::Malformed,
        PullCause::Crossed,
        PullCause::Risk,
        PullCause::KillSwitch,
    ];

    /// Lower-snake-case name (metrics labels).
    pub const fn name(self) -> &'static str {
        match self {
            PullCause::NotLive => "not_live",
            PullCause::Stale => "stale",
            PullCause::SequenceGap => "sequence_gap",
            PullCause::ChecksumMismatch => "checksum_mismatch",
            PullCause::Malformed => "malformed",
            PullCause::Crossed => "crossed",
            PullCause::Risk => "risk",
            PullCause::KillSwitch => "kill_switch",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of causes (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct CauseSet(u16);

impl CauseSet {
    /// No cause.
    pub const EMPTY: CauseSet = CauseSet(0);

    /// Whether `cause` is in the set.
    pub const fn contains(self, cause: PullCause) -> bool {
        self.0 & cause.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The causes in the set, in bit order.
    pub fn iter(self) -> impl Iterator<Item = PullCause> {
        PullCause::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    fn with(self, cause: PullCause, on: bool) -> CauseSet {
        if on {
            CauseSet(self.0 | cause.bit())
        } else {
            CauseSet(self.0 & !cause.bit())
        }
    }

    fn minus(self, other: CauseSet) -> CauseSet {
        CauseSet(self.0 & !other.0)
    }

    fn union(self, other: CauseSet) -> CauseSet {
        CauseSet(self.0 | other.0)
    }
}

/// What the interlock watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterlockConfig {
    /// Reference venues (`VenueId::External(0..venues)`), 1..=[`MAX_VENUES`].
    pub venues: usize,
    /// A live book with no update for longer than this is stale, ns (> 0).
    pub stale_after_ns: i64,
    /// Two books are crossed when one's best bid exceeds another's best ask by more than this,
    /// ticks of our grid (>= 0; 0: any strict cross, a locked pair is not crossed).
    pub cross_threshold_ticks: i64,
}

/// Why an interlock call is refused (state untouched).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InterlockError {
    /// Bad configuration.
    #[error("interlock config field={field}: {reason}")]
    Config {
        /// The field.
        field: &'static str,
        /// What was expected.
        reason: &'static str,
    },
    /// A venue that is not one of the configured reference venues.
    #[error("interlock venue={venue:?}: not a reference venue (venues={venues})")]
    UnknownVenue {
        /// The venue given.
        venue: VenueId,
        /// How many reference venues are configured.
        venues: usize,
    },
}

/// Pull or return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Quotes must go.
    Pull,
    /// Quotes may come back.
    Return,
}

/// One pull or return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InterlockEvent {
    /// When, ns (the time of the call that caused it).
    pub ts_ns: i64,
    /// Pull or return.
    pub transition: Transition,
    /// The cause that triggered it (see the module docs).
    pub cause: PullCause,
    /// The venue of that cause (`None` for risk and the kill switch).
    pub venue: Option<VenueId>,
}

/// Counters (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InterlockStats {
    /// Times each cause became active (per venue), indexed by `cause as usize`.
    pub raised: [u64; CAUSES],
    /// Pulls triggered by each cause.
    pub pulls: [u64; CAUSES],
    /// Returns.
    pub returns: u64,
    /// Time spent pulled from `start_ns` to the time asked, ns.
    pub pulled_ns: i64,
    /// Time from `start_ns` to the time asked, ns.
    pub elapsed_ns: i64,
}

impl InterlockStats {
    /// Share of the time quotes were allowed (0..=1; 0 before any time passed).
    pub fn uptime(&self) -> f64 {
        if self.elapsed_ns <= 0 {
            return 0.0;
        }
        1.0 - self.pulled_ns as f64 / self.elapsed_ns as f64
    }
}

#[derive(Debug, Clone, Copy)]
struct VenueHealth {
    state: SyncState,
    last_update_ns: i64,
    top: Option<Top>,
    /// Causes that belong to this venue (everything but crossed, risk, kill switch).
    causes: CauseSet,
}

/// The interlock (see the module docs).
#[derive(Debug, Clone)]
pub struct Interlock {
    cfg: InterlockConfig,
    venues: [VenueHealth; MAX_VENUES],
    /// Crossed, risk and kill switch.
    global: CauseSet,
    /// The bid venue of the current cross.
    crossed_venue: Option<VenueId>,
    active: CauseSet,
    /// Each venue's causes, and the global ones, as of the last evaluation.
    seen: [CauseSet; MAX_VENUES],
    seen_global: CauseSet,
    start_ns: i64,
    pulled_since: Option<i64>,
    pulled_ns: i64,
    stats: InterlockStats,
}

impl Interlock {
    /// An interlock for `cfg`, pulled (no venue live yet) from `start_ns`.
    pub fn new(cfg: InterlockConfig, start_ns: i64) -> Result<Self, InterlockError> {
        if !(1..=MAX_VENUES).contains(&cfg.venues) {
            return Err(InterlockError::Config { field: "venues", reason: "expected 1..=8 reference venues" });
        }
        if cfg.stale_after_ns <= 0 {
            return Err(InterlockError::Config { field: "stale_after_ns", reason: "expected > 0" });
        }
        if cfg.cross_threshold_ticks < 0 {
            return Err(InterlockError::Config { field: "cross_threshold_ticks", reason: "expected >= 0" });
        }
        let not_live = CauseSet::EMPTY.with(PullCause::NotLive, true);
        let venue = VenueHealth { state: SyncState::Buffering, last_update_ns: start_ns, top: None, causes: not_live };
        let mut stats = InterlockStats::default();
        stats.raised[PullCause::NotLive as usize] = cfg.venues as u64;
        stats.pulls[PullCause::NotLive as usize] = 1;
        Ok(Interlock {
            cfg,
            venues: [venue; MAX_VENUES],
            global: CauseSet::EMPTY,
            crossed_venue: None,
            active: not_live,
            seen: [not_live; MAX_VENUES],
            seen_global: CauseSet::EMPTY,
            start_ns,
            pulled_since: Some(start_ns),
            pulled_ns: 0,
            stats,
        })
    }

    /// Whether quotes may stand now.
    pub fn quoting_allowed(&self) -> bool {
        self.active.is_empty()
    }

    /// Every active cause, all venues together.
    pub fn causes(&self) -> CauseSet {
        self.active
    }

    /// The active causes of one venue (crossed, risk and kill switch are not per venue).
    pub fn venue_causes(&self, venue: VenueId) -> Result<CauseSet, InterlockError> {
        Ok(self.venues[self.index(venue)?].causes)
    }

    /// The counters, with the time pulled counted up to `now_ns`.
    pub fn stats(&self, now_ns: i64) -> InterlockStats {
        let ongoing = self.pulled_since.map_or(0, |since| (now_ns - since).max(0));
        InterlockStats { pulled_ns: self.pulled_ns + ongoing, elapsed_ns: now_ns - self.start_ns, ..self.stats }
    }

    fn index(&self, venue: VenueId) -> Result<usize, InterlockError> {
        match venue {
            VenueId::External(i) if (i as usize) < self.cfg.venues => Ok(i as usize),
            _ => Err(InterlockError::UnknownVenue { venue, venues: self.cfg.venues }),
        }
    }

    /// A book update of `venue` was applied at `now_ns`; `top` is its best bid and ask on our grid
    /// (a side with `qty == 0` is absent). Refreshes the venue (clears stale), then re-evaluates.
    pub fn on_book(&mut self, venue: VenueId, now_ns: i64, top: Top) -> Result<Option<InterlockEvent>, InterlockError> {
        let i = self.index(venue)?;
        self.apply_book(i, now_ns, top);
        Ok(self.evaluate(now_ns))
    }

    /// The sync state of `venue`'s book changed (or is reported again). `Live` clears not-live
    /// and the resync reasons (a new snapshot) and counts as an update; anything else raises
    /// not-live and forgets the venue's top.
    pub fn on_sync_state(
        &mut self,
        venue: VenueId,
        now_ns: i64,
        state: SyncState,
    ) -> Result<Option<InterlockEvent>, InterlockError> {
        let i = self.index(venue)?;
        self.apply_state(i, now_ns, state);
        Ok(self.evaluate(now_ns))
    }

    /// `venue`'s feed failed a check and discarded its book (the feeds crate's
    /// `FeedEvent::Resync`): raises the reason and not-live until the venue is live again.
    pub fn on_resync(
        &mut self,
        venue: VenueId,
        now_ns: i64,
        reason: ResyncReason,
    ) -> Result<Option<InterlockEvent>, InterlockError> {
        let i = self.index(venue)?;
        self.apply_resync(i, reason);
        Ok(self.evaluate(now_ns))
    }

    /// What a feed builder reported for `venue` (the feeds crate's [`FeedEvent`]), with the
    /// venue's top on our grid after it, if its book is live: one call per frame, one evaluation.
    /// A snapshot makes the venue live (and is an update), an applied update refreshes it, a
    /// resync pulls with its reason; anything else (trades, heartbeats, buffered diffs) only
    /// re-evaluates (a stale book stays stale until its book changes). `top` is ignored when
    /// `None` or for events that do not change the book.
    pub fn on_feed_event(
        &mut self,
        venue: VenueId,
        now_ns: i64,
        event: &FeedEvent,
        top: Option<Top>,
    ) -> Result<Option<InterlockEvent>, InterlockError> {
        let i = self.index(venue)?;
        match *event {
            FeedEvent::Snapshot(_) => {
                self.apply_state(i, now_ns, SyncState::Live);
                if let Some(top) = top {
                    self.apply_book(i, now_ns, top);
                }
            }
            FeedEvent::Update(_) => match top {
                Some(top) if self.venues[i].state == SyncState::Live => self.apply_book(i, now_ns, top),
                _ => {}
            },
            FeedEvent::Resync { reason, .. } => self.apply_resync(i, reason),
            _ => {}
        }
        Ok(self.evaluate(now_ns))
    }

    fn apply_book(&mut self, i: usize, now_ns: i64, top: Top) {
        let v = &mut self.venues[i];
        v.last_update_ns = now_ns;
        v.top = Some(top);
    }

    fn apply_state(&mut self, i: usize, now_ns: i64, state: SyncState) {
        let v = &mut self.venues[i];
        v.state = state;
        if state == SyncState::Live {
            for c in [PullCause::NotLive, PullCause::SequenceGap, PullCause::ChecksumMismatch, PullCause::Malformed] {
                v.causes = v.causes.with(c, false);
            }
            v.last_update_ns = now_ns;
        } else {
            v.causes = v.causes.with(PullCause::NotLive, true);
            v.top = None;
        }
    }

    fn apply_resync(&mut self, i: usize, reason: ResyncReason) {
        let cause = match reason {
            ResyncReason::Gap => PullCause::SequenceGap,
            ResyncReason::ChecksumMismatch => PullCause::ChecksumMismatch,
            ResyncReason::Malformed => PullCause::Malformed,
        };
        let v = &mut self.venues[i];
        v.state = SyncState::Resyncing;
        v.top = None;
        v.causes = v.causes.with(cause, true).with(PullCause::NotLive, true);
    }

    /// The periodic check: staleness (and everything else) re-evaluated at `now_ns`.
    pub fn on_timer(&mut self, now_ns: i64) -> Option<InterlockEvent> {
        self.evaluate(now_ns)
    }

    /// Risk blocks quoting (`true`) or allows it again (`false`).
    pub fn set_risk_block(&mut self, now_ns: i64, on: bool) -> Option<InterlockEvent> {
        self.global = self.global.with(PullCause::Risk, on);
        self.evaluate(now_ns)
    }

    /// The kill switch on (`true`) or off (`false`).
    pub fn set_kill_switch(&mut self, now_ns: i64, on: bool) -> Option<InterlockEvent> {
        self.global = self.global.with(PullCause::KillSwitch, on);
        self.evaluate(now_ns)
    }

    /// Recomputes staleness and crosses, updates the counters and returns the transition.
    fn evaluate(&mut self, now_ns: i64) -> Option<InterlockEvent> {
        let n = self.cfg.venues;
        for v in &mut self.venues[..n] {
            let stale = v.state == SyncState::Live && now_ns - v.last_update_ns > self.cfg.stale_after_ns;
            v.causes = v.causes.with(PullCause::Stale, stale);
        }
        let (crossed, crossed_venue) = self.find_cross();
        self.global = self.global.with(PullCause::Crossed, crossed);
        if crossed {
            self.crossed_venue = crossed_venue;
        }
        // What was raised and cleared since the last evaluation, per venue and globally.
        let mut raised: Option<(PullCause, Option<VenueId>)> = None;
        let mut cleared: Option<(PullCause, Option<VenueId>)> = None;
        for i in 0..=n {
            let (before, after) =
                if i < n { (self.seen[i], self.venues[i].causes) } else { (self.seen_global, self.global) };
            if before == after {
                continue;
            }
            let venue = |c: PullCause| {
                if i < n {
                    Some(VenueId::External(i as u8))
                } else if c == PullCause::Crossed {
                    self.crossed_venue
                } else {
                    None
                }
            };
            for c in after.minus(before).iter() {
                self.stats.raised[c as usize] += 1;
                if raised.is_none_or(|(r, _)| c > r) {
                    raised = Some((c, venue(c)));
                }
            }
            for c in before.minus(after).iter() {
                if cleared.is_none_or(|(r, _)| c > r) {
                    cleared = Some((c, venue(c)));
                }
            }
            if i < n {
                self.seen[i] = after;
            } else {
                self.seen_global = after;
            }
        }
        let before_active = self.active;
        self.active = self.venues[..n].iter().fold(self.global, |acc, v| acc.union(v.causes));
        match (before_active.is_empty(), self.active.is_empty()) {
            (true, false) => {
                let (cause, venue) = raised?;
                self.stats.pulls[cause as usize] += 1;
                self.pulled_since = Some(now_ns);
                Some(InterlockEvent { ts_ns: now_ns, transition: Transition::Pull, cause, venue })
            }
            (false, true) => {
                let (cause, venue) = cleared?;
                self.stats.returns += 1;
                if let Some(since) = self.pulled_since.take() {
                    self.pulled_ns += (now_ns - since).max(0);
                }
                Some(InterlockEvent { ts_ns: now_ns, transition: Transition::Return, cause, venue })
            }
            _ => None,
        }
    }

    /// Whether any live, fresh venue's best bid is more than the threshold above another live,
    /// fresh venue's best ask; and the bid venue of the first such pair.
    fn find_cross(&self) -> (bool, Option<VenueId>) {
        let usable = |v: &VenueHealth| v.state == SyncState::Live && !v.causes.contains(PullCause::Stale);
        for a in 0..self.cfg.venues {
            let va = &self.venues[a];
            let Some(bid) = va.top.filter(|t| usable(va) && t.bid.qty > 0).map(|t| t.bid.price) else { continue };
            for b in 0..self.cfg.venues {
                let vb = &self.venues[b];
                if a == b || !usable(vb) {
                    continue;
                }
                let Some(ask) = vb.top.filter(|t| t.ask.qty > 0).map(|t| t.ask.price) else { continue };
                if bid - ask > self.cfg.cross_threshold_ticks {
                    return (true, Some(VenueId::External(a as u8)));
                }
            }
        }
        (false, None)
    }
}

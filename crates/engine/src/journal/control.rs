//! Control records on disk: how a [`ControlRecord`] (a risk setting changed while the engine
//! runs, see [`crate::risk::control`]) is written into the journal.
//!
//! A running pipeline changes limits, kill switches and reference prices through
//! [`crate::pipeline::Control`]. Each change is appended to the journal as a control record
//! (sharing the commands' sequence numbers), so a kill switch engaged before a crash is still
//! engaged after it: recovery re-applies it where it happened.
//!
//! # Body layout (112 bytes, little-endian)
//!
//! | off | type | field |
//! |----:|------|-------|
//! | 0 | u8 | control: 1 set limits, 2 set default limits, 3 account kill switch, 4 global kill switch, 5 reference price |
//! | 1 | u8 | flags: 1 engaged (kill switches) / limits given (default limits), 2 price band, 4 band in bps (else ticks), 8 order rate |
//! | 2 | u16 | 0 |
//! | 4 | u32 | account |
//! | 8 | i64 | reference price (ticks) |
//! | 16 | i64 | max_order_qty |
//! | 24 | i128 | max_order_notional |
//! | 40 | u32 | max_open_orders |
//! | 44 | u32 | order rate per_second |
//! | 48 | i64 | max_position |
//! | 56 | i128 | max_gross_exposure |
//! | 72 | i128 | max_net_exposure |
//! | 88 | i64 | price band (ticks, or bps) |
//! | 96 | u32 | order rate burst |
//! | 100 | 12 bytes | 0 |
//!
//! The reference price's instrument is the record's instrument field. Fields a control does
//! not use are 0. Decoding checks the control code, the flags and the zero bytes.

use wintermute_core::InstrumentId;

use crate::risk::{AccountLimits, ControlRecord, PriceBand, RateLimit};

/// Bytes of a control record's body.
pub const CONTROL_BODY_SIZE: usize = 112;

mod code {
    pub const SET_LIMITS: u8 = 1;
    pub const SET_DEFAULT_LIMITS: u8 = 2;
    pub const ACCOUNT_KILL: u8 = 3;
    pub const GLOBAL_KILL: u8 = 4;
    pub const REFERENCE_PRICE: u8 = 5;
}

mod flag {
    pub const ON: u8 = 1;
    pub const BAND: u8 = 2;
    pub const BAND_BPS: u8 = 4;
    pub const RATE: u8 = 8;
    pub const ALL: u8 = ON | BAND | BAND_BPS | RATE;
}

fn put(b: &mut [u8], off: usize, bytes: &[u8]) {
    b[off..off + bytes.len()].copy_from_slice(bytes);
}

fn take<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut a = [0u8; N];
    a.copy_from_slice(&b[off..off + N]);
    a
}

impl ControlRecord {
    /// The 112-byte body (see the module docs).
    pub fn encode(&self) -> [u8; CONTROL_BODY_SIZE] {
        let mut b = [0u8; CONTROL_BODY_SIZE];
        match *self {
            ControlRecord::SetLimits { account, limits } => {
                b[0] = code::SET_LIMITS;
                put(&mut b, 4, &account.to_le_bytes());
                encode_limits(&mut b, &limits);
            }
            ControlRecord::SetDefaultLimits { limits } => {
                b[0] = code::SET_DEFAULT_LIMITS;
                if let Some(limits) = limits {
                    b[1] |= flag::ON;
                    encode_limits(&mut b, &limits);
                }
            }
            ControlRecord::AccountKill { account, engaged } => {
                b[0] = code::ACCOUNT_KILL;
                b[1] = if engaged { flag::ON } else { 0 };
                put(&mut b, 4, &account.to_le_bytes());
            }
            ControlRecord::GlobalKill { engaged } => {
                b[0] = code::GLOBAL_KILL;
                b[1] = if engaged { flag::ON } else { 0 };
            }
            ControlRecord::ReferencePrice { price, .. } => {
                b[0] = code::REFERENCE_PRICE;
                put(&mut b, 8, &price.to_le_bytes());
            }
        }
        b
    }

    /// Decodes a body (the instrument comes from the record header). Never panics.
    pub fn decode(instrument: InstrumentId, b: &[u8; CONTROL_BODY_SIZE]) -> Result<Self, &'static str> {
        let flags = b[1];
        if flags & !flag::ALL != 0 {
            return Err("control flags hold unknown bits");
        }
        if b[2..4] != [0, 0] || b[100..].iter().any(|&x| x != 0) {
            return Err("control reserved bytes are not zero");
        }
        let account = u32::from_le_bytes(take(b, 4));
        let price = i64::from_le_bytes(take(b, 8));
        let limits_zero = b[16..100].iter().all(|&x| x == 0);
        let only = |uses_account: bool, uses_price: bool, uses_limits: bool, allowed_flags: u8| {
            let ok = (uses_account || account == 0)
                && (uses_price || price == 0)
                && (uses_limits || limits_zero)
                && flags & !allowed_flags == 0
                && (instrument == 0 || uses_price);
            if ok {
                Ok(())
            } else {
                Err("control holds fields its kind does not use")
            }
        };
        Ok(match b[0] {
            code::SET_LIMITS => {
                only(true, false, true, flag::BAND | flag::BAND_BPS | flag::RATE)?;
                ControlRecord::SetLimits { account, limits: decode_limits(b)? }
            }
            code::SET_DEFAULT_LIMITS => {
                let given = flags & flag::ON != 0;
                only(false, false, given, flag::ALL)?;
                if !given && flags != 0 {
                    return Err("control holds fields its kind does not use");
                }
                ControlRecord::SetDefaultLimits { limits: if given { Some(decode_limits(b)?) } else { None } }
            }
            code::ACCOUNT_KILL => {
                only(true, false, false, flag::ON)?;
                ControlRecord::AccountKill { account, engaged: flags & flag::ON != 0 }
            }
            code::GLOBAL_KILL => {
                only(false, false, false, flag::ON)?;
                ControlRecord::GlobalKill { engaged: flags & flag::ON != 0 }
            }
            code::REFERENCE_PRICE => {
                only(false, true, false, 0)?;
                ControlRecord::ReferencePrice { instrument, price }
            }
            _ => return Err("unknown control code"),
        })
    }
}

fn encode_limits(b: &mut [u8; CONTROL_BODY_SIZE], l: &AccountLimits) {
    put(b, 16, &l.max_order_qty.to_le_bytes());
    put(b, 24, &l.max_order_notional.to_le_bytes());
    put(b, 40, &l.max_open_orders.to_le_bytes());
    put(b, 48, &l.max_position.to_le_bytes());
    put(b, 56, &l.max_gross_exposure.to_le_bytes());
    put(b, 72, &l.max_net_exposure.to_le_bytes());
    match l.price_band {
        None => {}
        Some(PriceBand::Ticks(t)) => {
            b[1] |= flag::BAND;
            put(b, 88, &t.to_le_bytes());
        }
        Some(PriceBand::Bps(bps)) => {
            b[1] |= flag::BAND | flag::BAND_BPS;
            put(b, 88, &i64::from(bps).to_le_bytes());
        }
    }
    if let Some(rate) = l.order_rate {
        b[1] |= flag::RATE;
        put(b, 44, &rate.per_second.to_le_bytes());
        put(b, 96, &rate.burst.to_le_bytes());
    }
}

fn decode_limits(b: &[u8; CONTROL_BODY_SIZE]) -> Result<AccountLimits, &'static str> {
    let flags = b[1];
    let band_value = i64::from_le_bytes(take(b, 88));
    let price_band = match (flags & flag::BAND != 0, flags & flag::BAND_BPS != 0) {
        (false, false) if band_value == 0 => None,
        (false, _) => return Err("control price band fields without the band flag"),
        (true, false) => Some(PriceBand::Ticks(band_value)),
        (true, true) => {
            Some(PriceBand::Bps(u32::try_from(band_value).map_err(|_| "control price band bps out of range")?))
        }
    };
    let (per_second, burst) = (u32::from_le_bytes(take(b, 44)), u32::from_le_bytes(take(b, 96)));
    let order_rate = if flags & flag::RATE != 0 {
        Some(RateLimit { per_second, burst })
    } else if per_second == 0 && burst == 0 {
        None
    } else {
        return Err("control order rate fields without the rate flag");
    };
    Ok(AccountLimits {
        max_order_qty: i64::from_le_bytes(take(b, 16)),
        max_order_notional: i128::from_le_bytes(take(b, 24)),
        max_open_orders: u32::from_le_bytes(take(b, 40)),
        max_position: i64::from_le_bytes(take(b, 48)),
        max_gross_exposure: i128::from_le_bytes(take(b, 56)),
        max_net_exposure: i128::from_le_bytes(take(b, 72)),
        price_band,
        order_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<ControlRecord> {
        let limits = AccountLimits {
            max_order_qty: 5,
            max_order_notional: -(1 << 100),
            max_open_orders: 7,
            max_position: i64::MIN,
            max_gross_exposure: i128::MAX,
            max_net_exposure: 3,
            price_band: Some(PriceBand::Bps(u32::MAX)),
            order_rate: Some(RateLimit { per_second: 0, burst: 9 }),
        };
        vec![
            ControlRecord::SetLimits { account: 9, limits },
            ControlRecord::SetLimits { account: 0, limits: AccountLimits::UNLIMITED },
            ControlRecord::SetLimits {
                account: u32::MAX,
                limits: AccountLimits { price_band: Some(PriceBand::Ticks(-4)), ..AccountLimits::UNLIMITED },
            },
            ControlRecord::SetDefaultLimits { limits: Some(limits) },
            ControlRecord::SetDefaultLimits { limits: None },
            ControlRecord::AccountKill { account: 3, engaged: true },
            ControlRecord::AccountKill { account: 3, engaged: false },
            ControlRecord::GlobalKill { engaged: true },
            ControlRecord::GlobalKill { engaged: false },
            ControlRecord::ReferencePrice { instrument: 2, price: i64::MIN },
        ]
    }

    #[test]
    fn every_control_round_trips() {
        for c in samples() {
            assert_eq!(ControlRecord::decode(c.instrument(), &c.encode()), Ok(c), "{c:?}");
        }
    }

    #[test]
    fn unknown_codes_flags_and_stray_bytes_are_refused() {
        let good = ControlRecord::GlobalKill { engaged: true }.encode();
        let mut b = good;
        b[0] = 99;
        assert_eq!(ControlRecord::decode(0, &b), Err("unknown control code"));
        let mut b = good;
        b[1] |= 0x80;
        assert_eq!(ControlRecord::decode(0, &b), Err("control flags hold unknown bits"));
        let mut b = good;
        b[111] = 1;
        assert_eq!(ControlRecord::decode(0, &b), Err("control reserved bytes are not zero"));
        let mut b = good;
        b[4] = 1; // an account on a global switch
        assert_eq!(ControlRecord::decode(0, &b), Err("control holds fields its kind does not use"));
        assert_eq!(ControlRecord::decode(1, &good), Err("control holds fields its kind does not use"));
    }
}

//! Kraken's asset names. Its REST API (`Balance`, `BalanceEx`, `AssetPairs`) still names the
//! oldest assets with a class prefix (`XXBT`, `ZUSD`) and bitcoin `XBT`, while its WebSocket v2
//! API (the `balances` channel) names every asset by its common code (`BTC`, `USD`). The
//! balances a route keeps use the v2 names, so both sources and the route's config (`XBT/USD`)
//! meet on one name ([`v2_asset`]).

/// The prefixed REST names of Kraken's oldest assets and their v2 names (Kraken's `Assets`
/// endpoint lists these with the prefix; every later asset has one name on both APIs).
const PREFIXED: [(&str, &str); 19] = [
    ("XXBT", "BTC"),
    ("XETH", "ETH"),
    ("XLTC", "LTC"),
    ("XXRP", "XRP"),
    ("XXLM", "XLM"),
    ("XXMR", "XMR"),
    ("XZEC", "ZEC"),
    ("XETC", "ETC"),
    ("XMLN", "MLN"),
    ("XREP", "REP"),
    ("XXDG", "DOGE"),
    ("ZUSD", "USD"),
    ("ZEUR", "EUR"),
    ("ZGBP", "GBP"),
    ("ZJPY", "JPY"),
    ("ZCAD", "CAD"),
    ("ZAUD", "AUD"),
    // The altnames that differ from the v2 codes.
    ("XBT", "BTC"),
    ("XDG", "DOGE"),
];

/// The v2 name of a Kraken asset named either way (`XXBT`, `XBT` and `BTC` are all `BTC`); any
/// other name is its own.
pub fn v2_asset(name: &str) -> &str {
    PREFIXED.iter().find(|(rest, _)| *rest == name).map_or(name, |(_, v2)| v2)
}

#[cfg(test)]
mod tests {
    use super::v2_asset;

    #[test]
    fn rest_names_and_altnames_map_to_the_v2_codes() {
        for (name, v2) in [("XXBT", "BTC"), ("XBT", "BTC"), ("BTC", "BTC"), ("ZUSD", "USD"), ("USD", "USD")] {
            assert_eq!(v2_asset(name), v2);
        }
        assert_eq!(v2_asset("XXDG"), "DOGE");
        assert_eq!(v2_asset("USDT"), "USDT");
        assert_eq!(v2_asset("SOL"), "SOL");
        assert_eq!(v2_asset("ETH2.S"), "ETH2.S", "staked assets keep their names");
    }
}

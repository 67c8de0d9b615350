//! The configuration shown in docs/market-making-pricing.md is a valid one.

use wintermute_mm::config::{ModelConfig, PricingConfig};
use wintermute_mm::pricer::Pricer;

#[test]
fn the_documented_pricing_config_parses_and_builds_a_pricer() {
    let page = include_str!("../../../docs/market-making-pricing.md");
    let start = page.find("```json\n").expect("a json block") + "```json\n".len();
    let len = page[start..].find("```").expect("the block's end");
    let cfg = PricingConfig::from_json(&page[start..start + len]).unwrap();
    assert_eq!(cfg.venues.len(), 3);
    assert_eq!(cfg.model, ModelConfig::Glft { gamma: 0.05 });
    Pricer::from_config(&cfg).unwrap();
}

"""A Binance-spot-compatible API for our venue (filled in below)."""

"""Adapters for the systems Wintermute is compared with; one module per peer."""

"""Connectors: one module per source kind (see connectors.base for the contract)."""

"""Gateway core: config, store, reconciliation, sync, serving, command line."""

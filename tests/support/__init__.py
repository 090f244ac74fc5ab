"""Helpers shared by test modules across the tests/ folders (on sys.path via pytest's `pythonpath`)."""

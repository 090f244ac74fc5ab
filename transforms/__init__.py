"""Normalisers and per-source mappings: raw source records → unified model rows."""

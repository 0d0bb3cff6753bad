"""Temporal pooling (filled in by its owner)."""

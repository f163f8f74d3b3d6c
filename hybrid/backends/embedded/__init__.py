"""Embedded backend: an on-disk index (SQLite + bm25s + a vector matrix) with no server."""

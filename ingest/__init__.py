"""Ingest: streaming readers and the read → validate → batch → encode → bulk pipeline (issue #4)."""

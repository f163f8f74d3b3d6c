"""Ingest: streaming readers and the read → validate → batch → encode → bulk pipeline, installed as
``hybrid.ingest``."""

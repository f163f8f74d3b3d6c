"""Backends: OpenSearch (the product's engine) and an embedded on-disk store (laptops, quickstart, fast tests).

Both implement the same protocols: ``IngestTarget`` here for writing, and the retriever protocol of
``hybrid.retrieval`` for searching.
"""

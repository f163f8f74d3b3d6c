"""hybrid: BM25 + dense (BMRetriever-style) retrieval for biomedical text, fused with reciprocal rank fusion."""

__version__ = "0.1.0"

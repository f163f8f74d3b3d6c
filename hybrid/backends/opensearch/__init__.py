"""OpenSearch backend: client construction, index mapping, ingest target, retrievers."""

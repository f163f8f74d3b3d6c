"""The rerank stage: a cross-encoder rescoring the top of the fused list (``cross_encoder``, torch), and
the pure step that reorders that window without moving anything across it (``stage``, no torch: the
search pipeline imports it)."""

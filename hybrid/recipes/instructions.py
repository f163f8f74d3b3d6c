"""Task instructions for BMRetriever-style query embedding (Xu et al., EMNLP 2024, arXiv 2404.18443).

The per-dataset instructions are the authors' own, verbatim. Each task keeps its own instruction
(arXiv 2401.00579): an instruction is applied to queries only, never to passages.
"""

from __future__ import annotations

BMRETRIEVER_INSTRUCTIONS: dict[str, str] = {
    "nfcorpus": "Given a question, retrieve relevant documents that best answer the question",
    "scifact": "Given a scientific claim, retrieve documents that support or refute the claim",
    "scidocs": "Given a scientific paper title, retrieve paper abstracts that are cited by the given paper",
    "trec-covid": "Given a query on COVID-19, retrieve documents that answer the query",
    "msmarco": "Given a web search query, retrieve relevant passages that answer the query",
    "nq": "Given a question, retrieve Wikipedia passages that answer the question",
    "fever": "Given a claim, retrieve documents that support or refute the claim",
    "hotpotqa": "Given a multi-hop question, retrieve documents that can help answer the question",
    "quora": "Given a question, retrieve questions that are semantically equivalent to the given question",
}

DEFAULT_INSTRUCTION = BMRETRIEVER_INSTRUCTIONS["nfcorpus"]


def resolve_instruction(name_or_text: str | None) -> str | None:
    """A task name (``scifact``, ``trec-covid`` …) becomes its instruction; other text is used as given.

    ``None`` stays ``None`` (the encoder then uses its default instruction, if its template has one).
    """
    if name_or_text is None:
        return None
    text = name_or_text.strip()
    if not text:
        raise ValueError("instruction is empty; give a task name (e.g. 'scifact') or a sentence")
    return BMRETRIEVER_INSTRUCTIONS.get(text.lower(), text)

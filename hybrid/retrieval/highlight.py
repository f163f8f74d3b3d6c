"""Highlights and snippets for a page of hits, the same on both backends.

A word is highlighted when its analysed form (the BM25 side's English analysis: possessives, stop
words, Porter stems) is one of the query's analysed terms — exactly the words BM25 matched, so
"statins" in a document lights up for the query "statin". The snippet of a hit BM25 found is the
sentence with the most distinct query terms (then the sentences after it, up to ``SNIPPET_CHARS``); a
hit only the dense side found was found for its meaning, not its words, so its snippet is the sentence
whose embedding is closest to the query's (all such sentences of a page embedded in one call). Spans are character offsets into the title and the snippet;
the text itself is returned as it is stored (a client escapes it: the search page builds text nodes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from hybrid.analysis import analyze

SNIPPET_CHARS = 300
MAX_SENTENCES = 20  # sentences of a dense-only hit embedded to choose its snippet
MAX_DENSE_SNIPPETS = 20  # dense-only hits per page whose snippet is chosen by embedding (bounds the model work)
_WORD = re.compile(r"\w+(?:['’]\w+)?", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*\s+")  # a stop then space: "p=0.04" and "e.g.," stay inside

Span = tuple[int, int]


@dataclass(frozen=True)
class Highlight:
    title: tuple[Span, ...]  # the query's words in the title
    snippet: str
    snippet_spans: tuple[Span, ...]  # the query's words in the snippet
    chosen_by: str  # "bm25": most query terms; "dense": closest sentence embedding; "start": neither applied


def query_terms(query: str) -> frozenset[str]:
    return frozenset(analyze(query))


def _matches(text: str, terms: frozenset[str]) -> list[tuple[int, int, str]]:
    """``(start, end, term)`` of each word of ``text`` whose analysed form is a query term."""
    out = []
    for match in _WORD.finditer(text):
        analysed = analyze(match.group(0))
        if analysed and analysed[0] in terms:
            out.append((match.start(), match.end(), analysed[0]))
    return out


def term_spans(text: str, terms: frozenset[str]) -> list[Span]:
    """Where the words of ``text`` whose analysed form is a query term are."""
    return [(s, e) for s, e, _ in _matches(text, terms)]


def sentence_bounds(text: str) -> list[Span]:
    bounds, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        bounds.append((start, match.end()))
        start = match.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if text[a:b].strip()]


def snippet_sentences(text: str, passage: Span | None = None) -> list[Span]:
    """The sentences a snippet may start at: all of the text's, or those that overlap the passage the dense
    side matched (a long document's snippet comes from the part that was found)."""
    sentences = sentence_bounds(text) or [(0, len(text))]
    if passage is None:
        return sentences
    start, end = passage
    return [(a, b) for a, b in sentences if a < end and b > start] or sentences


def _window(text: str, sentences: Sequence[Span], first: int, spans: Sequence[Span]) -> Span:
    """From sentence ``first`` on, as many whole sentences as fit in ``SNIPPET_CHARS``; a longer sentence
    is cut at word boundaries around the most query words it holds."""
    start, end = sentences[first]
    for _, later_end in sentences[first + 1 :]:
        if later_end - start > SNIPPET_CHARS:
            break
        end = later_end
    if end - start <= SNIPPET_CHARS:
        return start, end
    inside = [s for s, _ in spans if start <= s < end]
    if inside:  # the window of SNIPPET_CHARS that holds the most marked words, from a little before one
        best = max(inside, key=lambda a: sum(1 for s in inside if a <= s < a + SNIPPET_CHARS - 40))
        lead = text.find(" ", max(start, best - 40), best)
        start = lead + 1 if lead != -1 and best - 40 > start else start
    cut = text.rfind(" ", start, start + SNIPPET_CHARS)
    return start, min(end, cut if cut > start else start + SNIPPET_CHARS)


def _snippet(text: str, window: Span, spans: Sequence[Span]) -> tuple[str, tuple[Span, ...]]:
    start, end = window
    raw = text[start:end]
    lead = len(raw) - len(raw.lstrip())
    snippet = raw.strip()
    inside = tuple((s - start - lead, e - start - lead) for s, e in spans if s >= start and e <= end)
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text.rstrip()) else ""
    shift = len(prefix)
    return prefix + snippet + suffix, tuple((s + shift, e + shift) for s, e in inside)


def highlight(title: str, text: str, terms: frozenset[str], *, closest_sentence: int | None = None,
              passage: Span | None = None) -> Highlight:
    """The hit's highlights; ``closest_sentence`` (an index into ``snippet_sentences(text, passage)``),
    given for a hit only the dense side found, picks its snippet; ``passage`` (the span the dense side
    matched) confines it."""
    matches = _matches(text, terms)
    spans = [(s, e) for s, e, _ in matches]
    sentences = snippet_sentences(text, passage)
    if closest_sentence is not None:
        first, chosen_by = min(closest_sentence, len(sentences) - 1), "dense"
    elif spans:
        counts = [len({term for s, _, term in matches if a <= s < b}) for a, b in sentences]
        first, chosen_by = max(range(len(sentences)), key=lambda i: (counts[i], -i)), "bm25"
    else:
        first, chosen_by = 0, "start"
    snippet, inside = _snippet(text, _window(text, sentences, first, spans), spans)
    return Highlight(tuple(term_spans(title, terms)), snippet, inside, chosen_by)


def sentence_pieces(texts: Sequence[str], passages: Sequence[Span | None] | None = None) -> tuple[list[str], list[int]]:
    """The first ``MAX_SENTENCES`` snippet sentences of each text (within its passage, if given), and
    which text each came from."""
    pieces: list[str] = []
    owners: list[int] = []
    for i, text in enumerate(texts):
        for a, b in snippet_sentences(text, passages[i] if passages else None)[:MAX_SENTENCES]:
            pieces.append(text[a:b].strip() or text)
            owners.append(i)
    return pieces, owners


def closest_sentences(owners: Sequence[int], vectors: np.ndarray, query_vector: np.ndarray, texts: int) -> list[int]:
    """For each of ``texts`` texts, the position of its sentence whose embedding (``vectors``, in
    ``sentence_pieces`` order) has the highest cosine with the query's."""
    best, top, seen = [0] * texts, [-np.inf] * texts, [0] * texts
    if len(owners) == 0:
        return best
    norms = np.maximum(np.linalg.norm(vectors, axis=1), 1e-12)
    similarity = (vectors @ query_vector) / norms / max(float(np.linalg.norm(query_vector)), 1e-12)
    for owner, value in zip(owners, similarity):
        if value > top[owner]:
            top[owner], best[owner] = float(value), seen[owner]
        seen[owner] += 1
    return best


@dataclass(frozen=True)
class DenseSnippets:
    """The sentences of a page's dense-only hits, to be embedded in one call; ``closest`` then says which
    sentence of each hit is its snippet."""

    doc_ids: tuple[str, ...]
    pieces: list[str]
    owners: list[int]

    @classmethod
    def of(cls, texts: Mapping[str, str], passages: Mapping[str, Span] | None = None) -> DenseSnippets | None:
        """For ``{doc id: text}`` (and the passage each matched); None when there is nothing to embed."""
        if not texts:
            return None
        pieces, owners = sentence_pieces(list(texts.values()), [(passages or {}).get(d) for d in texts])
        return cls(tuple(texts), pieces, owners)

    def closest(self, vectors: np.ndarray, query_vector: np.ndarray) -> dict[str, int]:
        """``{doc id: sentence position}`` from the pieces' embeddings."""
        return dict(zip(self.doc_ids, closest_sentences(self.owners, vectors, query_vector, len(self.doc_ids))))


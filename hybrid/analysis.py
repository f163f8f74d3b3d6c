"""English text analysis for the embedded BM25 index, mirroring OpenSearch's ``english`` analyzer:
word tokens, possessive ``'s`` removed, lower-cased, Lucene's English stop words dropped, Porter stems.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Lucene's EnglishAnalyzer.ENGLISH_STOP_WORDS_SET.
ENGLISH_STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then there "
    "these they this to was will with".split()
)
_WORD = re.compile(r"\w+(?:'\w+)?", re.UNICODE)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    try:
        import Stemmer
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise ImportError("the embedded backend needs PyStemmer: pip install PyStemmer") from exc
    return Stemmer.Stemmer("porter")


def analyze(text: str) -> list[str]:
    """Tokens of ``text`` as the embedded BM25 index sees them."""
    words = []
    for match in _WORD.finditer(text.lower()):
        word = match.group(0)
        if word.endswith(("'s", "’s")):
            word = word[:-2]
        word = word.replace("'", "")
        if word and word not in ENGLISH_STOP_WORDS:
            words.append(word)
    return _stemmer().stemWords(words)  # type: ignore[no-any-return]

"""Every text that training puts in front of a model: synthetic-query prompts and pair-task instructions.

Kept in one place so that a change of wording is one edit and shows up in review as such.
"""

from __future__ import annotations

from hybrid.recipes import BMRETRIEVER_INSTRUCTIONS

# `hybrid synth`: the generator sees a system line and one user turn (chat template when the
# tokenizer has one, else the plain concatenation below).
SYNTH_SYSTEM = "You are a biomedical researcher who writes precise literature-search queries."
SYNTH_USER = (
    "Read the passage and write one specific question that it answers. Use its key biomedical terms. "
    "Reply with the question only.\n\nPassage: {passage}"
)
SYNTH_PLAIN = "{system}\n\n{user}\n\nQuestion:"

# The instruction stored with synthetic examples: the generated texts are questions answered by passages.
SYNTH_INSTRUCTION = BMRETRIEVER_INSTRUCTIONS["nfcorpus"]

# `hybrid pairs`: BMRetriever's first, unsupervised stage pairs parts of the same document.
TITLE_INSTRUCTION = "Given the title of a biomedical article, retrieve its abstract"
SENTENCE_INSTRUCTION = "Given a sentence from a biomedical abstract, retrieve the rest of the abstract"

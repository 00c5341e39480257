"""Cluster distinct failure signatures by meaning: lexical and semantic features together.

Measured (DESIGN.md, and again here on the corpora of
``services/synth_failures.py``): masked lexical features keep error
templates apart, sentence embeddings merge paraphrases, and neither does both.
So a pair of signatures is compared four ways and the similarities averaged
with weights:

``word``     TF-IDF over words and placeholders (``<id>``, ``HTTP 503``);
``char``     TF-IDF over character 3-5-grams (``timeout``/``timed out``);
``concept``  the failure concepts a small lexicon finds (timeout, rate limit,
             not found, unauthorized, unavailable, invalid input, context
             length, refusal, malformed output, duplicate, out of memory,
             declined): the vocabulary of errors is small and well known;
``embedding`` cosine of the sentence embeddings (when available);
``place``    1 when both failed at the same place (step kind and tool), else
             0: a timeout of the policy service and one of the OCR service are
             two things to fix.

Clustering is average-linkage agglomerative on ``1 - similarity`` with a
distance threshold; identical signatures were collapsed before, so the
n² memory is over distinct signatures.  A cluster whose failures number
fewer than ``min_size`` is noise: "unclustered".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Sequence

import msgspec

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Method", "DEFAULT", "LEXICAL", "concepts_of", "place_of", "similarity", "cluster",
           "label_terms", "medoid", "CONCEPTS"]

Matrix = "np.ndarray[Any, Any]"


class Method(msgspec.Struct, frozen=True, kw_only=True):
    """How similarities are weighed, and where clusters are cut."""

    word: float
    char: float
    concept: float
    embedding: float
    place: float
    threshold: float
    """Average-linkage cut, as a cosine distance (1 - weighted similarity)."""


DEFAULT = Method(word=1.0, char=1.0, concept=2.0, embedding=3.0, place=3.0, threshold=0.30)
"""With embeddings; chosen on the labelled corpora (see docs/clusters.md)."""
LEXICAL = Method(word=1.0, char=1.0, concept=2.0, embedding=0.0, place=2.0, threshold=0.40)
"""Without the ``embed`` extra: lexical features only, a lesser method."""

CONCEPTS: dict[str, tuple[str, ...]] = {
    "timeout": (r"time[sd]?[ -]?out", r"deadline exceeded", r"took too long",
                r"did not (?:complete|respond|finish) (?:with)?in", r"\bHTTP 504\b",
                r"exceeded \S+ (?:while )?waiting", r"expired before"),
    "rate_limit": (r"rate[ -]?limit", r"too many requests", r"\bHTTP 429\b", r"throttl",
                   r"quota", r"rate exceeded", r"slow down", r"resource exhausted"),
    "not_found": (r"not found", r"\bHTTP 404\b", r"does not exist", r"no such",
                  r"could not find", r"cannot find", r"no record", r"unknown (?:id|key)"),
    "unauthorized": (r"unauthori[sz]ed", r"forbidden", r"\bHTTP 40[13]\b",
                     r"permission denied", r"access denied", r"not allowed",
                     r"authenticat\w* fail", r"invalid (?:api )?key", r"token expired",
                     r"missing scope"),
    "unavailable": (r"unavailable", r"\bHTTP 50[23]\b", r"bad gateway", r"connection refused",
                    r"connection reset", r"unreachable", r"\bis down\b", r"overloaded",
                    r"try again later"),
    "invalid_input": (r"invalid", r"validation", r"malformed", r"unprocessable",
                      r"\bHTTP 4(?:00|22)\b", r"must be", r"is required", r"not a valid",
                      r"does not match the schema", r"required (?:property|field)"),
    "context_length": (r"context (?:length|window)", r"too many tokens", r"tokens? over",
                       r"too long: \S* ?tokens", r"maximum context"),
    "refusal": (r"content filter", r"(?<!connection )refus", r"safety", r"usage policy",
                r"can't help",
                r"cannot help", r"flagged", r"withheld", r"blocked"),
    "bad_output": (r"json", r"\bpars(?:e|ing)\b", r"expecting value", r"unterminated"),
    "duplicate": (r"already (?:posted|exists|closed|in progress)", r"duplicate",
                  r"unique constraint", r"\bHTTP 409\b", r"\bexists\b"),
    "out_of_memory": (r"out of memory", r"\boom", r"memory limit", r"not enough memory",
                      r"memoryerror"),
    "declined": (r"declin", r"insufficient funds", r"do not honou?r", r"rejected transfer",
                 r"account closed"),
}
_CONCEPT_PATTERNS = {name: re.compile("|".join(patterns), re.I)
                     for name, patterns in CONCEPTS.items()}
_WORDS = r"<\w+>|HTTP \d{3}|[A-Za-z][A-Za-z_]+"


def place_of(signature: str) -> str:
    """Where a failure happened: the step kind and tool (a model call's model aside:
    the same bad output from two models is one failure)."""
    head = signature.split(":", 1)[0]
    return "llm" if head.startswith("llm ") else head


def concepts_of(text: str) -> list[str]:
    """The failure concepts a signature mentions, in a stable order."""
    return [name for name, pattern in _CONCEPT_PATTERNS.items() if pattern.search(text)]


def _normalized(matrix: Any) -> Any:
    from sklearn.preprocessing import normalize
    return normalize(matrix)


def similarity(texts: Sequence[str], *, method: Method,
               embeddings: "np.ndarray[Any, Any] | None" = None) -> "np.ndarray[Any, Any]":
    """The weighted cosine similarity of every pair of ``texts`` (dense, n x n)."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

    n = len(texts)
    total = np.zeros((n, n), dtype=np.float32)
    weight = 0.0
    if method.word:
        words = TfidfVectorizer(token_pattern=_WORDS, lowercase=True, sublinear_tf=True,
                                ngram_range=(1, 2)).fit_transform(texts)
        total += method.word * (words @ words.T).toarray().astype(np.float32)
        weight += method.word
    if method.char:
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), lowercase=True,
                                sublinear_tf=True).fit_transform(texts)
        total += method.char * (chars @ chars.T).toarray().astype(np.float32)
        weight += method.char
    weights: Any = None
    if method.concept:
        # Concepts speak only where one of the two has one: two signatures the
        # lexicon knows nothing about are neither alike nor unlike on this count.
        found = [" ".join(concepts_of(t)) for t in texts]
        known = np.asarray([bool(f) for f in found])
        if known.any():
            bag = _normalized(CountVectorizer(token_pattern=r"\S+", binary=True)
                              .fit_transform([f or "_" for f in found]))
            scores = (bag @ bag.T).toarray().astype(np.float32)
            scores[~known[:, None] & ~known[None, :]] = 0.0
            total += method.concept * scores
            weights = method.concept * (known[:, None] | known[None, :]).astype(np.float32)
    if method.place:
        places = [place_of(t) for t in texts]
        index = {p: i for i, p in enumerate(sorted(set(places)))}
        codes = np.asarray([index[p] for p in places])
        total += method.place * (codes[:, None] == codes[None, :]).astype(np.float32)
        weight += method.place
    if method.embedding and embeddings is not None:
        total += method.embedding * (embeddings @ embeddings.T).astype(np.float32)
        weight += method.embedding
    if weight == 0 and weights is None:
        raise ValueError("a method needs at least one non-zero weight")
    total /= weight if weights is None else weights + np.float32(weight)
    np.clip(total, 0.0, 1.0, out=total)
    return total


def cluster(sim: "np.ndarray[Any, Any]", *, threshold: float) -> list[int]:
    """Average-linkage clusters of the items of a similarity matrix (a label each)."""
    n = sim.shape[0]
    if n == 0:
        return []
    if n == 1:
        return [0]
    from sklearn.cluster import AgglomerativeClustering
    distance = 1.0 - sim
    distance[range(n), range(n)] = 0.0
    model = AgglomerativeClustering(n_clusters=None, metric="precomputed", linkage="average",
                                    distance_threshold=threshold)
    return [int(label) for label in model.fit_predict(distance)]


def medoid(members: Sequence[int], sim: "np.ndarray[Any, Any]",
           counts: Sequence[int]) -> int:
    """The member most like the others (weighted by how often each occurred)."""
    import numpy as np
    if len(members) == 1:
        return members[0]
    index = np.asarray(members)
    weights = np.asarray([counts[i] for i in members], dtype=np.float64)
    scores = sim[np.ix_(index, index)].astype(np.float64) @ weights
    return int(index[int(np.argmax(scores))])


def label_terms(texts: Sequence[str], labels: Sequence[int], *, top: int = 4
                ) -> dict[int, str]:
    """Each cluster's most distinctive words (class-based TF-IDF), as a short label."""
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    groups: dict[int, list[str]] = {}
    for text, label in zip(texts, labels):
        groups.setdefault(label, []).append(text)
    order = sorted(groups)
    documents = [" ".join(groups[g]) for g in order]
    vectorizer = CountVectorizer(token_pattern=r"[A-Za-z][A-Za-z_]{2,}", lowercase=True,
                                 stop_words="english")
    try:
        counts = vectorizer.fit_transform(documents).toarray().astype(np.float64)
    except ValueError:  # nothing but placeholders and stop words
        return {g: "unlabelled" for g in order}
    terms = vectorizer.get_feature_names_out()
    frequency = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    idf = np.log(1 + len(order) / np.maximum((counts > 0).sum(axis=0), 1))
    scores = frequency * idf
    found = {}
    for row, group in enumerate(order):
        best = [terms[i] for i in np.argsort(-scores[row])[:top] if scores[row, i] > 0]
        found[group] = " ".join(best) or "unlabelled"
    return found

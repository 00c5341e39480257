"""Retrieved documents as :class:`~tracegraph.model.DocumentRef` values, with stable ids.

A retrieval step's documents become ``Document`` nodes that two traces share
when they retrieved the same passage, so an id matters more than anything
else a document carries.  The source's own id wins (:func:`first_document_id`);
a document without one is named by a hash of its content
(:func:`content_hash_id`), else by its place in the span.

Span attributes carry documents in two vocabularies, read here
(:func:`span_documents`): GenAI's ``gen_ai.retrieval.documents`` list and
OpenInference's flattened ``retrieval.documents.N.document.*`` keys.  The
LangSmith and Langfuse readers read their own shapes with the same id and
score rules.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterable

from ..errors import InputError
from ..model import DocumentRef
from .flattened import Indexed, take_list
from .typed_attributes import attribute_text
from .values import maybe_json

__all__ = ["span_documents", "document_refs", "oi_documents", "derived_document_id",
           "content_hash_id", "first_document_id", "numeric_score"]

_GENAI_DOC_KEYS = ("id", "content", "score", "metadata", "title")
_OI_DOC_KEYS = ("document.id", "document.content", "document.score", "document.metadata",
                "document.title")


def content_hash_id(text: str) -> str:
    """A document id from its text: the same passage has the same id in every trace."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]


def derived_document_id(content: Any, *, span_id: str, index: int) -> str:
    """An id for a retrieved document that has none: its content's hash, else its place.

    The same passage retrieved by two traces is then one ``Document`` node.
    """
    if isinstance(content, str) and content:
        return content_hash_id(content)
    return f"{span_id}#{index}"


def first_document_id(candidates: Iterable[Any]) -> str | None:
    """The first candidate that can be an id (a non-empty string or an integer), as text."""
    return next((str(v) for v in candidates
                 if isinstance(v, (str, int)) and not isinstance(v, bool) and v != ""), None)


def numeric_score(value: Any) -> float | None:
    """A relevance score when the source gave a number; anything else is no score."""
    return float(value) if isinstance(value, (int, float)) \
        and not isinstance(value, bool) else None


def span_documents(known: dict[str, Any], indexed: Indexed,
                   span_id: str) -> tuple[DocumentRef, ...]:
    """The documents a span's attributes list, GenAI's list first.

    Takes what it reads out of ``known`` and ``indexed``, as the message
    rebuilding does.
    """
    if "gen_ai.retrieval.documents" in known:
        value = maybe_json(known["gen_ai.retrieval.documents"])
        if not isinstance(value, list):
            raise InputError(f"expected a list of documents, got {type(value).__name__}",
                             field="gen_ai.retrieval.documents")
        del known["gen_ai.retrieval.documents"]
        return document_refs(value, span_id=span_id, field="gen_ai.retrieval.documents")
    for prefix in ("retrieval.documents.", "reranker.output_documents."):
        if prefix in indexed:
            return oi_documents(take_list(indexed, prefix), span_id=span_id,
                                field=prefix.rstrip("."))
    return ()


def document_refs(items: list[Any], *, span_id: str, field: str) -> tuple[DocumentRef, ...]:
    """GenAI ``gen_ai.retrieval.documents`` entries (``id``, ``score``, anything else)."""
    return tuple(_document(item, span_id=span_id, index=i, field=field, keys=_GENAI_DOC_KEYS)
                 for i, item in enumerate(items))


def oi_documents(items: list[Any], *, span_id: str, field: str) -> tuple[DocumentRef, ...]:
    """OpenInference ``retrieval.documents.N.document.*`` entries."""
    return tuple(_document(item, span_id=span_id, index=i, field=field, keys=_OI_DOC_KEYS)
                 for i, item in enumerate(items))


def _document(item: Any, *, span_id: str, index: int, field: str,
              keys: tuple[str, str, str, str, str]) -> DocumentRef:
    """One retrieved document; ``keys`` name its id, content, score, metadata, title."""
    if not isinstance(item, dict):
        raise InputError(f"expected a document object, got {type(item).__name__}",
                         field=f"{field}[{index}]")
    id_key, content_key, score_key, metadata_key, title_key = keys
    content = item.get(content_key)
    doc_id = item.get(id_key)
    score = item.get(score_key)
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
        try:
            score = float(score)
        except (TypeError, ValueError):
            raise InputError(f"expected a numeric score, got {score!r}",
                             field=f"{field}[{index}].{score_key}") from None
    metadata = maybe_json(item.get(metadata_key))
    extra = {k: v for k, v in item.items()
             if k not in keys and v is not None}
    if metadata is not None and not isinstance(metadata, dict):
        extra[metadata_key] = metadata
        metadata = None
    if extra:
        metadata = {**(metadata or {}), **extra}
    return DocumentRef(
        id=str(doc_id) if doc_id not in (None, "") else
        derived_document_id(content, span_id=span_id, index=index),
        title=attribute_text(f"{field}[{index}].{title_key}", item.get(title_key)),
        score=None if score is None else float(score),
        content=content if isinstance(content, str) or content is None else str(content),
        metadata=metadata or None)

"""Dotted attribute keys: nested maps flattened to them, flattened lists rebuilt from them.

OpenInference writes a list of objects as one attribute per leaf
(``llm.input_messages.0.message.role``) and OpenLLMetry does the same
(``gen_ai.prompt.0.content``), while Phoenix exports the same attributes nested.
:func:`flatten_attributes` brings nested maps to the dotted wire form, and
:func:`take_list` rebuilds one list from its keys, so the vocabulary mapping
reads a single form whatever the exporter wrote.
"""

from __future__ import annotations

from typing import Any

__all__ = ["flatten_attributes", "unflatten", "take_list", "Indexed", "INDEXED_PREFIXES"]

Indexed = dict[str, list[tuple[str, Any]]]
"""Flattened-list prefix (``llm.input_messages.``) → its ``(suffix, value)`` items."""

INDEXED_PREFIXES: tuple[str, ...] = (
    "llm.input_messages.", "llm.output_messages.", "retrieval.documents.",
    "reranker.output_documents.", "llm.prompts.", "llm.choices.",
    "gen_ai.prompt.", "gen_ai.completion.",
)
"""Prefixes of the flattened lists the vocabulary mapping rebuilds."""

# GenAI attributes of type ``any``: structured values, never flattened further.
_STRUCTURED = frozenset({
    "gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gen_ai.tool.definitions",
    "gen_ai.retrieval.documents", "gen_ai.memory.records", "gen_ai.response.finish_reasons",
    "gen_ai.request.stop_sequences", "gen_ai.request.encoding_formats",
    "gen_ai.tool_definitions.raw", "gen_ai.prompt", "gen_ai.completion",
    "input.value", "output.value", "metadata", "tag.tags",
})


def flatten_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Nested attribute maps (Phoenix's ``{"llm": {"model_name": ..}}``) to dotted keys.

    Lists of objects are flattened with their index (``llm.input_messages.0.message.role``),
    the OpenInference wire form; GenAI ``any``-typed attributes (messages, tool
    arguments, retrieved documents) keep their structure.
    """
    if not any(type(v) is dict or type(v) is list for v in attributes.values()):
        return attributes
    flat: dict[str, Any] = {}
    _flatten_into(flat, "", attributes)
    return flat


def _flatten_into(flat: dict[str, Any], prefix: str, value: Any) -> None:
    if prefix in _STRUCTURED:
        flat[prefix] = value
    elif type(value) is dict and value:
        for key, item in value.items():
            _flatten_into(flat, f"{prefix}.{key}" if prefix else str(key), item)
    elif type(value) is list and value and prefix \
            and all(type(item) is dict for item in value):
        for index, item in enumerate(value):
            _flatten_into(flat, f"{prefix}.{index}", item)
    else:
        flat[prefix] = value


def take_list(indexed: Indexed, prefix: str) -> list[Any]:
    """The list flattened under ``prefix``, taken out of ``indexed``.

    Items that contradict the others go back under ``prefix``, for the caller
    to keep as attributes.
    """
    items, leftovers = unflatten(indexed.pop(prefix))
    if leftovers:
        indexed[prefix] = leftovers
    return items


class _Node(dict[Any, Any]):
    """A container being rebuilt from flattened keys (as opposed to a leaf value)."""


def _segments(suffix: str) -> list[int | str]:
    """``0.message.tool_calls.1.tool_call.id`` → ``[0, "message.tool_calls", 1, "tool_call.id"]``."""
    out: list[int | str] = []
    name: list[str] = []
    for part in suffix.split("."):
        if part.isdigit():
            if name:
                out.append(".".join(name))
                name = []
            out.append(int(part))
        else:
            name.append(part)
    if name:
        out.append(".".join(name))
    return out


def unflatten(items: list[tuple[str, Any]]) -> tuple[list[Any], list[tuple[str, Any]]]:
    """Rebuild a list from its flattened keys (suffixes after the list's prefix).

    Returns the list and the items that contradict the others (a key that is
    both a value and a container), which the caller keeps as attributes.
    """
    root = _Node()
    leftovers: list[tuple[str, Any]] = []
    for suffix, value in items:
        path = _segments(suffix)
        node = root
        for segment in path[:-1]:
            child = node.get(segment)
            if child is None:
                child = node[segment] = _Node()
            elif not isinstance(child, _Node):
                break
            node = child
        else:
            if path[-1] in node:
                leftovers.append((suffix, value))
            else:
                node[path[-1]] = value
            continue
        leftovers.append((suffix, value))
    result = _materialize(root)
    return (result if isinstance(result, list) else [result]), leftovers


def _materialize(node: Any) -> Any:
    if not isinstance(node, _Node):
        return node
    if node and all(type(key) is int for key in node):
        return [_materialize(node[key]) for key in sorted(node)]
    return {str(key): _materialize(value) for key, value in node.items()}

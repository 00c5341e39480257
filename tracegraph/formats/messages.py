"""A model call's input and output as messages in the GenAI message schema.

Instrumentations write the messages of a call in several ways: GenAI's
``gen_ai.input.messages`` (already the schema), OpenInference's flattened
``llm.input_messages.N.message.*``, OpenLLMetry's ``gen_ai.prompt.N.*``, and
plain prompt/completion text lists.  Whichever came, the messages are
normalised to ``{"role", "parts": [{"type": "text", "content"}, {"type":
"tool_call", "id", "name", "arguments"}, {"type": "tool_call_response", "id",
"response"}]}`` so the analyzer reads one shape.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .flattened import Indexed, take_list
from .values import maybe_json

__all__ = ["span_messages", "oi_messages", "messages_from_indexed"]


def span_messages(known: dict[str, Any], indexed: Indexed) -> tuple[Any, Any]:
    """Input and output of a model call, in the GenAI message schema where possible.

    Takes what it reads out of ``known`` (single attributes) and ``indexed``
    (flattened lists); what is left there stays in the step's attributes.
    """
    input_value = _first_stated(known, indexed, _INPUT_SOURCES)
    output_value = _first_stated(known, indexed, _OUTPUT_SOURCES)
    if "gen_ai.system_instructions" in known and (input_value is None
                                                  or isinstance(input_value, list)):
        instructions = maybe_json(known.pop("gen_ai.system_instructions"))
        parts = instructions if isinstance(instructions, list) else \
            [{"type": "text", "content": instructions}]
        input_value = [{"role": "system", "parts": parts}] + (input_value or [])
    return input_value, output_value


_Source = tuple[str, Callable[[list[Any]], list[Any]] | None]
"""An attribute (``None``: a single one) or a flattened list's prefix (its conversion)."""


def _first_stated(known: dict[str, Any], indexed: Indexed,
                  sources: tuple[_Source, ...]) -> Any:
    """The messages of the first source the span has, in order of preference."""
    for key, convert in sources:
        if convert is None:
            if key in known:
                return maybe_json(known.pop(key))
        elif key in indexed:
            return convert(take_list(indexed, key))
    return None


def _prompt_texts(items: list[Any]) -> list[Any]:
    """Plain prompt lists (``llm.prompts.N.prompt.text``): the texts."""
    return _texts(items, "prompt.text")


def _completion_texts(items: list[Any]) -> list[Any]:
    """Plain completion lists (``llm.choices.N.completion.text``): the texts."""
    return _texts(items, "completion.text")


def _texts(items: list[Any], field: str) -> list[Any]:
    return [item.get(field) if isinstance(item, dict) else item for item in items]


def oi_messages(items: list[Any]) -> list[Any]:
    """OpenInference messages (``message.role``, ``message.contents``…) as GenAI messages."""
    return _each_message(items, _oi_message)


def messages_from_indexed(items: list[Any]) -> list[Any]:
    """OpenLLMetry's ``gen_ai.prompt.0.role`` / ``.content`` / ``.tool_calls.0.name`` lists."""
    return _each_message(items, _openllmetry_message)


def _each_message(items: list[Any],
                  convert: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Any]:
    """Every object converted; anything else kept as it is."""
    return [convert(item) if isinstance(item, dict) else item for item in items]


def _oi_message(item: dict[str, Any]) -> dict[str, Any]:
    role = item.get("message.role")
    parts = [_oi_content_part(content) for content in item.get("message.contents") or ()
             if isinstance(content, dict)]
    calls = [_tool_call_part(call.get("tool_call.id"), call.get("tool_call.function.name"),
                             call.get("tool_call.function.arguments"))
             for call in item.get("message.tool_calls") or () if isinstance(call, dict)]
    if item.get("message.function_call_name") is not None:
        calls.append(_tool_call_part(None, item["message.function_call_name"],
                                     item.get("message.function_call_arguments_json")))
    message = _message(role, parts, text=item.get("message.content"),
                       answers=item.get("message.tool_call_id")
                       if role in ("tool", "function") else None, calls=calls)
    if item.get("message.name") is not None:
        message["name"] = item["message.name"]
    return message


def _openllmetry_message(item: dict[str, Any]) -> dict[str, Any]:
    role = item.get("role")
    calls = [_tool_call_part(call.get("id"), call.get("name"), call.get("arguments"))
             for call in item.get("tool_calls") or () if isinstance(call, dict)]
    message = _message(role, [], text=item.get("content"),
                       answers=item.get("tool_call_id") if role == "tool" else None,
                       calls=calls)
    if item.get("finish_reason") is not None:
        message["finish_reason"] = item["finish_reason"]
    return message


def _message(role: Any, parts: list[dict[str, Any]], *, text: Any, answers: Any,
             calls: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A message of ``parts``, then its text (a tool's response when it ``answers`` a
    call id), then its tool calls."""
    if text is not None:
        if answers is not None:
            parts.append({"type": "tool_call_response", "id": str(answers), "response": text})
        else:
            parts.append({"type": "text", "content": text})
    parts.extend(calls)
    return {"role": role, "parts": parts}


def _oi_content_part(content: dict[str, Any]) -> dict[str, Any]:
    kind = content.get("message_content.type")
    if kind in ("text", "reasoning", None) and "message_content.text" in content:
        return {"type": kind or "text", "content": content["message_content.text"]}
    for modality in ("image", "audio", "video"):
        url = content.get(f"message_content.{modality}.{modality}.url")
        if url is not None:
            return {"type": "uri", "modality": modality, "uri": url}
    return {"type": kind or "unknown",
            **{k.removeprefix("message_content."): v for k, v in content.items()
               if k != "message_content.type"}}


def _tool_call_part(call_id: Any, name: Any, arguments: Any) -> dict[str, Any]:
    part: dict[str, Any] = {"type": "tool_call"}
    if call_id is not None:
        part["id"] = str(call_id)
    part["name"] = name
    part["arguments"] = maybe_json(arguments)
    return part


_INPUT_SOURCES: tuple[_Source, ...] = (
    ("gen_ai.input.messages", None), ("llm.input_messages.", oi_messages),
    ("gen_ai.prompt.", messages_from_indexed), ("gen_ai.prompt", None),
    ("llm.prompts.", _prompt_texts))
_OUTPUT_SOURCES: tuple[_Source, ...] = (
    ("gen_ai.output.messages", None), ("llm.output_messages.", oi_messages),
    ("gen_ai.completion.", messages_from_indexed), ("gen_ai.completion", None),
    ("llm.choices.", _completion_texts))

"""Structured output shared by every backend: validate, repair once, then fail or fall back visibly.

Small local models write broken JSON often enough that the code cannot trust any single answer. Every
LLM output the code relies on goes through :func:`invoke_structured`:

1. the request is constrained to the schema where the backend supports it (OpenAI-compatible servers,
   llama.cpp included, take ``response_format`` with a JSON schema);
2. the answer is parsed and validated with pydantic;
3. on failure the model sees its own answer and the validation error once, and tries again;
4. then either a deterministic fallback is returned with ``degraded=True`` (the plan flags it as
   ``degraded_output``) or :class:`StructuredOutputError` is raised.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)

REPAIR_PROMPT = (
    "Your previous answer could not be used: {error}\n"
    "Reply again with one JSON object that matches the schema. JSON only, no prose, no code fences."
)


class StructuredOutputError(RuntimeError):
    """The model's output failed validation twice and no fallback was allowed."""

    def __init__(self, label: str, error: str, raw: str) -> None:
        super().__init__(f"{label}: the model's output failed validation after one repair attempt: {error}")
        self.label = label
        self.error = error
        self.raw = raw


@dataclass(frozen=True)
class StructuredResult(Generic[T]):
    """A validated value, and whether it came from the deterministic fallback instead of the model."""

    value: T
    degraded: bool
    attempts: int
    error: str | None = None


def json_schema_for(schema: type[BaseModel]) -> dict[str, Any]:
    """Return the JSON schema used to constrain generation for ``schema``."""
    return schema.model_json_schema()


def constrain(model: BaseChatModel, schema: type[BaseModel], max_tokens: int | None) -> Any:
    """Bind schema-constrained decoding where the backend supports it, else return the model as is."""
    kwargs: dict[str, Any] = {}
    if getattr(model, "supports_json_schema", False) or _is_openai_compatible(model):
        json_schema = json_schema_for(schema)
        if getattr(model, "compact_json", False):
            json_schema = {"x-guidance": {"whitespace_flexible": False}, **json_schema}
        kwargs["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": False},
        }
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    return model.bind(**kwargs) if kwargs else model


def _is_openai_compatible(model: BaseChatModel) -> bool:
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:  # pragma: no cover - langchain-openai is a hard dependency
        return False
    return isinstance(model, ChatOpenAI)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str) -> str:
    """Return the JSON object inside ``text``: fenced, bare, or the first balanced ``{...}``."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start = text.find("{")
    if start < 0:
        return text.strip()
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(text)):
        char = text[index]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : index + 1]
    return text[start:]


def parse_as(schema: type[T], text: str) -> T:
    """Parse ``text`` as JSON and validate it as ``schema``; raises ValueError with a short reason."""
    candidate = extract_json(text)
    try:
        payload = json.loads(candidate)
    except json.JSONDecodeError as exc:
        snippet = candidate[:120].replace("\n", " ")
        raise ValueError(f"not valid JSON ({exc.msg} at position {exc.pos}); it began: {snippet!r}") from exc
    try:
        return schema.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()[:6]
        )
        raise ValueError(f"JSON did not match the schema: {problems}") from exc


def _content_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)


def invoke_structured(
    model: BaseChatModel,
    messages: Sequence[BaseMessage],
    schema: type[T],
    *,
    fallback: Callable[[], T] | None = None,
    max_tokens: int | None = None,
    label: str = "",
) -> StructuredResult[T]:
    """Ask ``model`` for a ``schema`` object; repair once; then fall back (degraded) or raise.

    Returns a :class:`StructuredResult` whose ``degraded`` is True only when ``fallback`` produced the
    value. Raises :class:`StructuredOutputError` when both attempts fail and no fallback was given.
    Errors from the backend itself (connection refused, authentication) are not swallowed.
    """
    label = label or schema.__name__
    bound = constrain(model, schema, max_tokens)
    conversation = list(messages)
    raw = ""
    error = ""
    for attempt in (1, 2):
        # The label names the call in callbacks (the run's time budget, traces).
        answer = bound.invoke(conversation, config={"run_name": label if attempt == 1 else f"{label} (repair)"})
        raw = _content_text(answer)
        try:
            return StructuredResult(value=parse_as(schema, raw), degraded=False, attempts=attempt)
        except ValueError as exc:
            error = str(exc)
        conversation = [
            *conversation,
            AIMessage(content=raw[:2000]),
            HumanMessage(content=REPAIR_PROMPT.format(error=error)),
        ]
    if fallback is None:
        raise StructuredOutputError(label, error, raw)
    return StructuredResult(value=fallback(), degraded=True, attempts=2, error=error)

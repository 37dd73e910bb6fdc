"""The structured-output layer: validate, repair once with the error shown, then fall back visibly or fail."""

from __future__ import annotations

import json

import pytest
from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from campaign_planner.structured import StructuredOutputError, constrain, extract_json, invoke_structured
from campaign_planner.testing import ScriptedChatModel, ScriptExhaustedError


class Headline(BaseModel):
    headline: str = Field(max_length=30)
    score: int


ASK = [HumanMessage(content="Write a headline.")]


def test_valid_first_answer_is_used() -> None:
    model = ScriptedChatModel(script=['{"headline": "Fit that flatters", "score": 3}'])
    result = invoke_structured(model, ASK, Headline)
    assert result.value == Headline(headline="Fit that flatters", score=3)
    assert (result.degraded, result.attempts) == (False, 1)


def test_repair_shows_the_model_its_error() -> None:
    model = ScriptedChatModel(script=['{"headline": "x"}', '```json\n{"headline": "x", "score": 1}\n```'])
    result = invoke_structured(model, ASK, Headline)
    assert result.attempts == 2 and not result.degraded
    repair = str(model.calls[1][-1].content)
    assert "score" in repair and "Field required" in repair


def test_fallback_is_labelled_degraded() -> None:
    model = ScriptedChatModel(script=["no json here", "still none"])
    result = invoke_structured(model, ASK, Headline, fallback=lambda: Headline(headline="Template", score=0))
    assert result.degraded and result.value.headline == "Template"
    assert "not valid JSON" in (result.error or "")


def test_without_fallback_the_failure_is_loud() -> None:
    model = ScriptedChatModel(script=['{"headline": "' + "x" * 40 + '", "score": 1}', "{}"])
    with pytest.raises(StructuredOutputError, match="after one repair attempt"):
        invoke_structured(model, ASK, Headline, label="headline")


def test_no_third_attempt_is_made() -> None:
    model = ScriptedChatModel(script=["bad", "bad"])
    invoke_structured(model, ASK, Headline, fallback=lambda: Headline(headline="T", score=0))
    assert len(model.calls) == 2
    with pytest.raises(ScriptExhaustedError):
        model.invoke(ASK)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', '{"a": 1}'),
        ('Sure! {"a": {"b": "}"}} trailing', '{"a": {"b": "}"}}'),
        ('```json\n{"a": 2}\n```', '{"a": 2}'),
        ('{"a": "unterminated', '{"a": "unterminated'),
    ],
)
def test_extract_json(text: str, expected: str) -> None:
    assert extract_json(text) == expected


def test_constraint_is_sent_and_compact_only_where_the_backend_allows() -> None:
    plain = ScriptedChatModel(supports_json_schema=True)
    bound = constrain(plain, Headline, max_tokens=40)
    schema = bound.kwargs["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["headline"]["maxLength"] == 30 and "x-guidance" not in schema
    assert bound.kwargs["max_tokens"] == 40
    no_schema = constrain(ScriptedChatModel(), Headline, max_tokens=None)
    assert no_schema.__class__.__name__ == "ScriptedChatModel"  # nothing bound: text is validated instead


def test_compact_json_for_llama_cpp() -> None:
    from campaign_planner.llm import OpenAICompatibleChat

    model = OpenAICompatibleChat(model="m", api_key="k", base_url="http://127.0.0.1:9/v1", compact_json=True)
    schema = constrain(model, Headline, max_tokens=10).kwargs["response_format"]["json_schema"]["schema"]
    assert schema["x-guidance"] == {"whitespace_flexible": False}
    json.dumps(schema)  # serialisable as sent

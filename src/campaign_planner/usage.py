"""Counting what a run cost: model calls, tokens and seconds in generation, and a time budget per stage
(each graph node, each model call with its tokens) for ``plan --verbose`` and the plan's provenance."""

from __future__ import annotations

import os
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
        self.first_step_at: float | None = None  # wall clock (time.time()) when the first graph node began
        self.stage_seconds: dict[str, float] = {}
        self.model_calls: list[dict[str, Any]] = []
        self._started: dict[UUID, tuple[float, str, str]] = {}
        self._nodes: dict[UUID, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        node = _node_of(kwargs)
        # A graph node's own run carries its node's name; the runnables inside it carry the node only in
        # their metadata.
        if node and kwargs.get("name") == node:
            with self._lock:
                if self.first_step_at is None:
                    self.first_step_at = time.time()
                self._nodes[run_id] = (time.perf_counter(), node)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_node(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        # An interrupt (the review pause) ends a node by raising: its time still counts.
        self._end_node(run_id)

    def _end_node(self, run_id: UUID) -> None:
        with self._lock:
            started = self._nodes.pop(run_id, None)
            if started is not None:
                seconds = time.perf_counter() - started[0]
                self.stage_seconds[started[1]] = self.stage_seconds.get(started[1], 0.0) + seconds

    def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._start_call(run_id, kwargs)

    def on_llm_start(self, serialized: Any, prompts: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._start_call(run_id, kwargs)

    def _start_call(self, run_id: UUID, kwargs: dict[str, Any]) -> None:
        with self._lock:
            self._started[run_id] = (time.perf_counter(), _node_of(kwargs), str(kwargs.get("name") or ""))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        prompt, completion = _token_counts(response)
        self._end_call(run_id, prompt, completion, failed=False)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end_call(run_id, 0, 0, failed=True)

    def _end_call(self, run_id: UUID, prompt: int, completion: int, *, failed: bool) -> None:
        with self._lock:
            started = self._started.pop(run_id, None)
            seconds = time.perf_counter() - started[0] if started is not None else 0.0
            self.llm_seconds += seconds
            self.llm_calls += 1
            self.prompt_tokens += prompt
            self.completion_tokens += completion
            node, label = (started[1], started[2]) if started is not None else ("", "")
            self.model_calls.append({"node": node, "label": label, "prompt_tokens": prompt,
                                     "completion_tokens": completion, "seconds": round(seconds, 3),
                                     "failed": failed})

    def snapshot(self) -> dict[str, float]:
        """Return the totals so far as a plain dict."""
        with self._lock:
            return {
                "llm_calls": self.llm_calls,
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "llm_seconds": round(self.llm_seconds, 3),
            }


    def timeline(self) -> dict[str, Any]:
        """Return the time budget so far: seconds per graph node (summed over its runs) and each model call
        (node, label, tokens, seconds), in the order they ended."""
        with self._lock:
            return {"stage_seconds": {node: round(seconds, 3) for node, seconds in self.stage_seconds.items()},
                    "model_calls": [dict(call) for call in self.model_calls]}


def _node_of(kwargs: dict[str, Any]) -> str:
    metadata = kwargs.get("metadata") or {}
    return str(metadata.get("langgraph_node") or "")


def process_started_at() -> float:
    """Return when this process started (wall clock): from /proc on Linux, else when this package was first
    imported — what "start-up" counts from in a CLI run."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as stat:
            # Field 22 (starttime) in clock ticks after boot; the command name (field 2) may hold spaces.
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
        running = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - running
    except (OSError, ValueError, IndexError, AttributeError):
        return _IMPORTED_AT


_IMPORTED_AT = time.time()


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

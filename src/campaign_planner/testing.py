"""A scripted fake chat model, shipped so that users can test their own graphs and prompts offline.

>>> from campaign_planner.testing import ScriptedChatModel
>>> model = ScriptedChatModel(script=['{"headline": "Hi", "body": "Hello", "cta": "Shop now"}'])

Each call to the model takes the next entry of ``script``: a string (the reply's text), an
``AIMessage`` (e.g. with ``tool_calls``), or a callable that receives the messages and returns either.
With ``responder`` set, calls that outrun the script are answered by it. A call with nothing left to
answer raises :class:`ScriptExhaustedError`, so a test can never pass on an answer it did not script.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

Reply = str | AIMessage | Callable[[list[BaseMessage]], "str | AIMessage"]


class ScriptExhaustedError(AssertionError):
    """The fake model was called more often than the test scripted."""


def _approximate_tokens(text: str) -> int:
    # Close enough for accounting tests: about four characters a token.
    return max(1, len(text) // 4)


class ScriptedChatModel(BaseChatModel):
    """A chat model whose answers are scripted by the test; it records every call it receives."""

    script: list[Any] = Field(default_factory=list)
    responder: Callable[[list[BaseMessage]], str | AIMessage] | None = None
    model_name: str = "scripted-fake"
    supports_json_schema: bool = False
    _position: int = PrivateAttr(default=0)
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _call_kwargs: list[dict[str, Any]] = PrivateAttr(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """Return the messages of every call received so far, in order."""
        return self._calls

    @property
    def call_kwargs(self) -> list[dict[str, Any]]:
        """Return the keyword arguments (e.g. ``response_format``) bound on each call."""
        return self._call_kwargs

    def _next_reply(self, messages: list[BaseMessage]) -> AIMessage:
        if self._position < len(self.script):
            reply = self.script[self._position]
            self._position += 1
        elif self.responder is not None:
            reply = self.responder
        else:
            raise ScriptExhaustedError(
                f"ScriptedChatModel was called {self._position + 1} times but only "
                f"{len(self.script)} replies were scripted; last message: {messages[-1].content!r:.200}"
            )
        if callable(reply) and not isinstance(reply, AIMessage):
            reply = reply(messages)
        message = reply if isinstance(reply, AIMessage) else AIMessage(content=str(reply))
        prompt_tokens = sum(_approximate_tokens(str(m.content)) for m in messages)
        completion_tokens = _approximate_tokens(str(message.content))
        return message.model_copy(
            update={
                "usage_metadata": {
                    "input_tokens": prompt_tokens,
                    "output_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "response_metadata": {"model_name": self.model_name},
            }
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._calls.append(list(messages))
        self._call_kwargs.append(dict(kwargs))
        return ChatResult(generations=[ChatGeneration(message=self._next_reply(list(messages)))])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        """Accept tool binding like a real chat model; replies come from the script all the same."""
        return self.bind(**kwargs)

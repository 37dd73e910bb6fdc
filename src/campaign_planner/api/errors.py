"""Error bodies in the problem+json style (RFC 9457): ``{"type", "title", "status", "detail"}``.

Every refusal the API makes goes through :class:`ProblemError` or one of the handlers installed by
:func:`install_error_handlers`, so clients always get a JSON body with a human-readable ``detail`` and
never a stack trace. Unexpected exceptions are logged server-side and answered with a generic 500.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger("campaign_planner.api")


class ProblemError(Exception):
    """An API refusal: HTTP ``status``, a human-readable ``detail``, optional headers and extra members."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, detail: str, *, headers: dict[str, str] | None = None,
                     **extra: Any) -> JSONResponse:
    """Return a problem+json response with ``status``, its standard title, ``detail`` and ``extra`` members."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def _message(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def validation_detail(errors: list[dict[str, Any]]) -> str:
    """Turn pydantic/FastAPI validation errors into one readable sentence list (no input echoed back)."""
    return "; ".join(f"{_location(e.get('loc', ()))}: {_message(e)}" for e in errors) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    """Make every error the app returns a problem+json body."""

    @app.exception_handler(ProblemError)
    async def _problem(_: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(exc.status, exc.detail, headers=exc.headers, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem_response(exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": _message(e)} for e in exc.errors()]
        return problem_response(422, validation_detail(list(exc.errors())), errors=errors)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "internal server error; the server log has the details")

"""``create_app``: the FastAPI application serving planning runs, shaped after the Agent Protocol."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from campaign_planner import __version__
from campaign_planner.api.auth import ApiKeyAuth, api_key_hashes_from_env
from campaign_planner.api.config import ApiConfig
from campaign_planner.api.errors import install_error_handlers
from campaign_planner.api.header_limits import HeaderLimitMiddleware
from campaign_planner.api.limits import BodySizeLimitMiddleware, RedisTokenBucketLimiter, TokenBucketLimiter
from campaign_planner.api.policy import RunPolicy
from campaign_planner.api.routes import router
from campaign_planner.api.runner import ModelFactory, RunManager
from campaign_planner.api.state import ApiState
from campaign_planner.api.store import ApiStore
from campaign_planner.exit_codes import ExitCode, ServiceUnavailableError
from campaign_planner.planning import PlanningError
from campaign_planner.results.routes import router as results_router
from campaign_planner.settings import Settings

DESCRIPTION = """Turn plain-language marketing briefs into campaign plans.

Create a thread, start a run on it with a brief, then poll `GET /runs/{run_id}`, fetch
`GET /runs/{run_id}/plan`, or follow `GET /runs/{run_id}/stream` (server-sent events). Runs started with
`"review": true` pause as `interrupted` until `POST /runs/{run_id}/resume`. Every endpoint but `/healthz`
needs an `X-API-Key` header.
"""


FAKE_BACKEND_REFUSAL = (
    "backend 'fake' is the scripted test model: it answers only what a test script gives it, so every run "
    "would fail; serve a backend that can plan (--backend local, openai:<model>, gguf:<path> or hf:<path>)"
)


def refuse_backends_that_cannot_plan(settings: Settings, allowed_backends: Iterable[str] | None = None) -> None:
    """Refuse (ValueError, :data:`FAKE_BACKEND_REFUSAL`) to serve the scripted ``fake`` backend, as the
    server's backend or as one a request may name. The CLI calls it; tests pass a model factory instead."""
    from campaign_planner.llm import ModelSpec

    for spec in [settings.backend, *(allowed_backends or [])]:
        if spec and ModelSpec.parse(spec).backend == "fake":
            raise ValueError(FAKE_BACKEND_REFUSAL)


def create_app(
    settings: Settings,
    *,
    model_factory: ModelFactory | None = None,
    api_key_hashes: Iterable[str] | None = None,
    config: ApiConfig | None = None,
) -> FastAPI:
    """Return the API application for ``settings``.

    ``model_factory(settings)`` returns a ``ChatModelHandle``-like object for each run (default:
    ``llm.make_chat_model(settings=...)``). ``api_key_hashes``: SHA-256 hashes of the accepted keys
    (default: ``settings.api_key_hashes`` where Settings has that field and it is set, else
    ``CAMPAIGN_PLANNER_API_KEY_HASHES``); refuses (ValueError) to build an app with none. ``config``
    (default: :meth:`ApiConfig.from_settings`): workers, limits, allowed backends and shop roots. (The CLI's
    ``serve``, ``chat`` and ``worker`` refuse the scripted ``fake`` backend: :func:`refuse_backends_that_cannot_plan`.)
    Run records go to ``<data_dir>/api.sqlite``; runs left pending or running by a previous process are
    marked failed when the app is created (they can be continued from their checkpoints). With
    ``settings.queue_url`` (``redis://…``) runs go to the Celery queue there instead, for ``campaign-planner
    worker`` processes to execute (``api/queue.py``); the run records are then in the Postgres database of
    ``checkpoint_url``, which the workers share (refuses, ValueError, without one). The checkpoint
    store (``settings.checkpoint_url``: SQLite by default, Postgres with a connection pool for a
    ``postgresql://`` URL) is opened here: refuses (ValueError, saying why) when it cannot be. The app's
    lifespan shutdown stops the workers and closes the store.
    """
    config = config or ApiConfig.from_settings(settings)
    if api_key_hashes is None:
        api_key_hashes = getattr(settings, "api_key_hashes", None) or api_key_hashes_from_env()
    auth = ApiKeyAuth(api_key_hashes)
    queue = None
    if settings.queue_url:
        from campaign_planner.api.queue import RunQueue, open_queue_store

        queue = RunQueue(settings)  # QueueConfigError is a ValueError: `serve` shows its line
        try:
            store = _open(lambda: open_queue_store(settings), "the run store")
        except ValueError:
            queue.close()
            raise
    else:
        store = ApiStore(config.api_db or settings.data_dir / "api.sqlite")
    policy = RunPolicy(settings, allowed_backends=config.allowed_backends, shop_roots=config.shop_roots)
    try:
        manager = RunManager(settings, store, policy, model_factory=model_factory, workers=config.workers,
                             shutdown_grace_s=config.shutdown_grace_s, event_logs_kept=config.event_logs_kept,
                             queue=queue)
    except BaseException as exc:
        if queue is not None:
            queue.close()
        store.close()
        if isinstance(exc, PlanningError):  # e.g. an unreachable Postgres server: `serve` shows this line
            unavailable = exc.exit_code == ExitCode.SERVICE_UNAVAILABLE
            raise (ServiceUnavailableError if unavailable else ValueError)(str(exc)) from exc
        raise

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(manager.warm_up)
            yield
        finally:
            try:
                await run_in_threadpool(manager.shutdown)  # waits up to the grace period off the event loop
            finally:
                store.close()

    # /docs and /redoc load Swagger UI and ReDoc from assets shipped in the fastapi-offline wheel and served
    # by this app (/static-offline-docs), not from a CDN: the pages work on a machine without internet.
    app = FastAPIOffline(title="Campaign Planner API", version=__version__, description=DESCRIPTION,
                         lifespan=lifespan)
    app.state.api = ApiState(store=store, manager=manager, auth=auth,
                             limiter=(TokenBucketLimiter(config.rate_per_minute, config.burst) if queue is None
                                      else RedisTokenBucketLimiter(queue.redis, config.rate_per_minute,
                                                                   config.burst)))
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=config.max_body_bytes)
    app.add_middleware(HeaderLimitMiddleware)  # added last: the outermost, it answers before anything reads
    app.include_router(router)
    app.include_router(results_router)
    return app


def _open(opener: Callable[[], ApiStore], what: str) -> ApiStore:
    """Open a store, turning a connection failure into a ValueError that says what could not be opened."""
    try:
        return opener()
    except ValueError:
        raise
    except Exception as exc:  # psycopg's OperationalError, a pool timeout, …
        raise ServiceUnavailableError(f"cannot open {what}: {type(exc).__name__}: {exc}") from exc

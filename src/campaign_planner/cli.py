"""The ``campaign-planner`` command line: plan a campaign from a brief, manage shops, review plans."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn
from rich.table import Table

from campaign_planner.exit_codes import ExitCode, ServiceUnavailableError
from campaign_planner.settings import Settings, load_settings

app = typer.Typer(
    name="campaign-planner",
    help="Turn a plain-language marketing brief into a complete, justified campaign plan.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
shop_app = typer.Typer(help="Create, import and index shops (reviews, campaign and channel history).",
                       no_args_is_help=True)
app.add_typer(shop_app, name="shop")


class LogLevelOption(StrEnum):
    debug = "debug"
    info = "info"
    warning = "warning"
    error = "error"


LogLevelFlag = Annotated[LogLevelOption | None, typer.Option(
    "--log-level", help="Log records at this level and above go to stderr (default: warning).")]
LogJsonFlag = Annotated[bool | None, typer.Option(
    "--log-json/--log-text", help="Log as one JSON object per line (with run_id and thread_id).")]
_logging = {"level": "warning", "json": False}


def _configure_logging(level: LogLevelOption | None, json_lines: bool | None) -> None:
    """Apply --log-level/--log-json (a command's own flags override the global ones)."""
    from campaign_planner.logs import configure_logging

    if level is not None:
        _logging["level"] = level.value
    if json_lines is not None:
        _logging["json"] = json_lines
    configure_logging(_logging["level"], json_lines=bool(_logging["json"]))  # type: ignore[arg-type]


@app.callback()
def _global_options(log_level: LogLevelFlag = None, log_json: LogJsonFlag = None) -> None:
    """Turn a plain-language marketing brief into a complete, justified campaign plan."""
    _logging.update(level="warning", json=False)
    _configure_logging(log_level, log_json)

# Progress and errors go to stderr so that stdout carries only the plan (pipe-friendly).
console = Console(stderr=True)
out = Console()


class OutputFormat(StrEnum):
    md = "md"
    json = "json"
    html = "html"


def _fail(message: str, code: int = ExitCode.USAGE) -> typer.Exit:
    """Print ``message`` as one error line; return the Exit to raise with ``code`` (README: Exit codes)."""
    console.print(f"[bold red]error:[/] {message}")
    return typer.Exit(int(code))


def _code_of(exc: BaseException) -> ExitCode:
    """Return the exit code a refusal stands for: the PlanningError's own, 69 for an unreachable service, 65
    for shop data, 2 for any other configuration error."""
    from campaign_planner.data.shop import ShopDataError
    from campaign_planner.planning import PlanningError

    if isinstance(exc, PlanningError):
        return exc.exit_code
    if isinstance(exc, ServiceUnavailableError):
        return ExitCode.SERVICE_UNAVAILABLE
    if isinstance(exc, ShopDataError):
        return ExitCode.BAD_DATA
    return ExitCode.USAGE


@contextmanager
def _byte_progress(description: str) -> Iterator[Any]:
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def _model_handle(settings: Settings) -> Any:
    from campaign_planner.llm import BackendError, ModelSpec, make_chat_model

    try:
        with _byte_progress("Preparing the local model (first run only)") as progress:
            return make_chat_model(settings=settings, progress=progress)
    except BackendError as exc:
        try:  # a malformed spec is usage; a well-formed one that cannot be set up (no key, no files) is not
            if settings.backend:
                ModelSpec.parse(settings.backend)
        except BackendError:
            raise _fail(str(exc), ExitCode.USAGE) from exc
        raise _fail(str(exc), ExitCode.SERVICE_UNAVAILABLE) from exc


def _ingest_with_progress(shop: Any, store: Any) -> Any:
    """Bring the shop's review index up to date, with a progress bar (a no-op when nothing changed)."""
    from campaign_planner.vectorstore.ingest import ingest_reviews

    with Progress(TextColumn("Embedding the shop's reviews"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeRemainingColumn(), console=console, transient=True) as progress:
        task = progress.add_task("ingest", total=len(shop.reviews))

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return ingest_reviews(shop, store, progress=update)


def _print_event(event: dict[str, Any]) -> None:
    if event.get("done"):
        return
    if event.get("step") == "tool":
        who = "planner" if event.get("caller") == "planner" else "completeness guard"
        console.print(f"  [cyan]→ tool[/] {event.get('tool')} [dim](called by the {who})[/]")
    else:
        console.print(f"[bold]•[/] {event.get('message', event.get('step'))}")


def _write_plan(plan: Any, fmt: OutputFormat, out_file: Path | None) -> None:
    """Write the plan to ``out_file`` in ``fmt`` (if given) and show it on the terminal.

    Without ``--out`` the plan goes to stdout in the chosen format; with ``--out`` the terminal shows
    the Markdown version, so a user always sees the plan.
    """
    from campaign_planner.render import render_plan

    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(render_plan(plan, fmt.value), encoding="utf-8")
        console.print(f"[green]Plan written to[/] {out_file}")
    shown = OutputFormat.md if out_file is not None else fmt
    text = render_plan(plan, shown.value)
    if shown is OutputFormat.md and out.is_terminal:
        out.print(Markdown(text))
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _ask_review(outcome: Any) -> dict[str, Any]:
    console.print("\n[bold]Review:[/] approve (a), reject (r), or edit the brief (e)?")
    choice = typer.prompt("decision", default="a").strip().lower()[:1]
    if choice == "e":
        amendment = typer.prompt("What should change? (added to the brief)")
        return {"action": "edit", "amendment": amendment}
    return {"action": "reject" if choice == "r" else "approve"}


@app.command()
def plan(
    brief: Annotated[str, typer.Argument(help="The campaign brief, in English or Chinese ('-' reads stdin).")],
    backend: Annotated[str | None, typer.Option(help='"local", "openai:<model>", "gguf:<path>", "hf:<path>".')] = None,
    shop: Annotated[Path | None, typer.Option(help="Shop folder (default: the demo shop).")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.md,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the plan to this file.")] = None,
    review: Annotated[bool, typer.Option("--review", help="Pause for approve / reject / edit.")] = False,
    language: Annotated[str | None, typer.Option(help="Copy language (en or zh); default: the brief's.")] = None,
    thread_id: Annotated[str | None, typer.Option(help="Checkpoint thread id (to resume later).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="Print the run's time budget: start-up, each step, "
                                          "each model call with its tokens.")] = False,
) -> None:
    """Plan a campaign from BRIEF and print it (Markdown by default)."""
    from campaign_planner.planning import PlanningError, make_context, open_checkpointer, resolve_shop, run_plan
    from campaign_planner.usage import process_started_at

    if brief == "-":
        brief = sys.stdin.read()
    if not brief.strip():
        raise _fail("the brief is empty: describe the product, audience, budget, period and channels")
    settings = load_settings(backend=backend, shop_dir=shop, language=language)
    try:
        with console.status("Loading the shop"):
            shop_data = resolve_shop(settings)
    except (PlanningError, ValueError) as exc:  # a folder that is not a shop, or invalid shop data
        raise _fail(str(exc), ExitCode.BAD_DATA if not isinstance(exc, PlanningError) else exc.exit_code) from exc
    handle = _model_handle(settings)
    console.print(f"[dim]backend {handle.backend} · model {handle.model_name} · shop {shop_data.root}[/]")
    thread = thread_id or uuid.uuid4().hex[:12]
    console.print(f"[dim]thread {thread} (if this run stops, `campaign-planner continue {thread}` picks it up)[/]")
    context = make_context(settings, model_handle=handle, shop=shop_data, review=review)
    context.process_started = process_started_at()
    # Embedding a new shop's reviews takes a minute on 2 cores: do it here, with a progress bar, rather
    # than silently inside the profile lookup.
    from campaign_planner.vectorstore.store import open_review_store

    context.review_store = open_review_store(shop_data, settings.chroma_url)
    _ingest_with_progress(shop_data, context.review_store)
    try:
        with open_checkpointer(settings) as checkpointer:
            outcome = run_plan(brief, context, checkpointer, thread_id=thread, on_event=_print_event)
            while outcome.awaiting_review:
                if outcome.plan is not None:
                    _write_plan(outcome.plan, OutputFormat.md, None)
                if not sys.stdin.isatty():
                    console.print(f"[yellow]Paused for review.[/] Resume with: campaign-planner review {thread} "
                                  "--approve | --reject | --edit TEXT")
                    raise typer.Exit(ExitCode.PAUSED_FOR_REVIEW)
                outcome = run_plan(None, context, checkpointer, thread_id=thread, on_event=_print_event,
                                   resume=_ask_review(outcome))
    except PlanningError as exc:  # e.g. a bad checkpoint_url (2) or an unreachable Postgres server (69)
        raise _fail(str(exc), exc.exit_code) from exc
    if outcome.plan is None:
        raise _fail("the run ended without a plan", ExitCode.RUNTIME_FAILURE)
    console.print(f"[dim]thread {thread} · {outcome.plan.provenance.seconds:.1f}s · "
                  f"{outcome.plan.provenance.llm_calls} LLM calls[/]")
    if verbose:
        _print_time_budget(outcome.plan.provenance)
    _write_plan(outcome.plan, output_format, out_file)


def _print_time_budget(provenance: Any) -> None:
    """Print where the run's time went: start-up, each graph step, each model call (tokens, tokens/s)."""
    table = Table(title="Time budget", show_edge=False)
    for column in ("stage", "seconds", "prompt → completion tokens", "tokens/s"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    if provenance.startup_seconds is not None:
        table.add_row("start-up (process start → first step)", f"{provenance.startup_seconds:.1f}", "", "")
    calls_by_node: dict[str, list[Any]] = {}
    for call in provenance.model_calls:
        calls_by_node.setdefault(call.node, []).append(call)
    for node, seconds in provenance.stage_seconds.items():
        table.add_row(node, f"{seconds:.1f}", "", "")
        for call in calls_by_node.pop(node, []):
            rate = f"{call.completion_tokens / call.seconds:.1f}" if call.seconds > 0 else ""
            what = f"  {call.label or 'model call'}" + (" (failed)" if call.failed else "")
            table.add_row(what, f"{call.seconds:.1f}", f"{call.prompt_tokens} → {call.completion_tokens}", rate)
    for calls in calls_by_node.values():  # calls outside any node this process timed
        for call in calls:
            table.add_row(f"  {call.label or 'model call'}", f"{call.seconds:.1f}",
                          f"{call.prompt_tokens} → {call.completion_tokens}", "")
    table.add_row("run (first step → plan)", f"{provenance.seconds:.1f}",
                  f"{provenance.prompt_tokens} → {provenance.completion_tokens}", "")
    table.add_row("  of which in the model", f"{provenance.llm_seconds:.1f}", f"{provenance.llm_calls} calls", "")
    console.print(table)


@app.command("review")
def review_command(
    thread_id: Annotated[str, typer.Argument(help="The thread id printed when the plan paused.")],
    approve: Annotated[bool, typer.Option("--approve")] = False,
    reject: Annotated[bool, typer.Option("--reject")] = False,
    edit: Annotated[str | None, typer.Option("--edit", help="Amend the brief and replan.")] = None,
    backend: Annotated[str | None, typer.Option()] = None,
    shop: Annotated[Path | None, typer.Option()] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.md,
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Resume a plan paused for review, from its checkpoint."""
    from campaign_planner.planning import PlanningError, make_context, open_checkpointer, resolve_shop, run_plan

    if sum([approve, reject, edit is not None]) != 1:
        raise _fail("give exactly one of --approve, --reject or --edit TEXT")
    decision: dict[str, Any] = (
        {"action": "approve"} if approve else {"action": "reject"} if reject
        else {"action": "edit", "amendment": edit}
    )
    settings = load_settings(backend=backend, shop_dir=shop)
    handle = _model_handle(settings) if edit is not None else _fake_handle_for_resume(settings)
    try:
        shop_data = resolve_shop(settings)
    except (PlanningError, ValueError) as exc:
        raise _fail(str(exc), _code_of(exc) if isinstance(exc, PlanningError) else ExitCode.BAD_DATA) from exc
    context = make_context(settings, model_handle=handle, shop=shop_data, review=True)
    try:
        with open_checkpointer(settings) as checkpointer:
            from campaign_planner.graphs.graph import build_graph

            snapshot = build_graph(checkpointer).get_state({"configurable": {"thread_id": thread_id}})
            if not snapshot.next:
                raise _fail(f"thread {thread_id} is not waiting for a review (unknown id, or already decided)")
            outcome = run_plan(None, context, checkpointer, thread_id=thread_id, on_event=_print_event,
                               resume=decision)
    except PlanningError as exc:  # e.g. a bad checkpoint_url (2) or an unreachable Postgres server (69)
        raise _fail(str(exc), exc.exit_code) from exc
    if outcome.plan is not None:
        console.print(f"[green]Plan {outcome.plan.status}.[/]")
        _write_plan(outcome.plan, output_format, out_file)


@app.command("continue")
def continue_command(
    thread_id: Annotated[str, typer.Argument(help="The thread id printed when the plan started.")],
    review: Annotated[bool, typer.Option("--review", help="The run was started with --review.")] = False,
    backend: Annotated[str | None, typer.Option()] = None,
    shop: Annotated[Path | None, typer.Option()] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.md,
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Continue a plan whose run stopped (Ctrl-C, a crash) from its last checkpoint, without redoing the steps
    it finished. A finished plan is printed as it is."""
    from campaign_planner.planning import PlanningError, continue_plan, make_context, open_checkpointer, resolve_shop
    from campaign_planner.vectorstore.store import open_review_store

    settings = load_settings(backend=backend, shop_dir=shop)
    try:
        shop_data = resolve_shop(settings)
    except (PlanningError, ValueError) as exc:
        raise _fail(str(exc), _code_of(exc) if isinstance(exc, PlanningError) else ExitCode.BAD_DATA) from exc
    context = make_context(settings, model_handle=_model_handle(settings), shop=shop_data, review=review)
    context.review_store = open_review_store(shop_data, settings.chroma_url)
    _ingest_with_progress(shop_data, context.review_store)
    try:
        with open_checkpointer(settings) as checkpointer:
            outcome = continue_plan(context, checkpointer, thread_id=thread_id, on_event=_print_event)
    except PlanningError as exc:  # an unknown thread, a bad checkpoint_url, an unreachable Postgres server
        raise _fail(str(exc), exc.exit_code) from exc
    if outcome.plan is None:
        raise _fail("the run ended without a plan", ExitCode.RUNTIME_FAILURE)
    if outcome.awaiting_review:
        _write_plan(outcome.plan, OutputFormat.md, None)
        console.print(f"[yellow]Paused for review.[/] Resume with: campaign-planner review {thread_id} "
                      "--approve | --reject | --edit TEXT")
        raise typer.Exit(ExitCode.PAUSED_FOR_REVIEW)
    _write_plan(outcome.plan, output_format, out_file)


def _fake_handle_for_resume(settings: Settings) -> Any:
    # Approving or rejecting runs no model; a scripted model that refuses every call proves it.
    from campaign_planner.llm import make_chat_model

    return make_chat_model("fake", settings=settings, fake_script=[])


@shop_app.command("demo")
def shop_demo(
    directory: Annotated[Path, typer.Argument(help="Where to write the demo shop.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing shop there.")] = False,
) -> None:
    """Write the seeded demo clothing shop (with planted, known structure) to DIRECTORY."""
    from campaign_planner.data.demo import write_demo_shop
    from campaign_planner.data.shop import ShopDataError

    try:
        shop = write_demo_shop(directory, seed=seed, overwrite=overwrite)
    except (ShopDataError, FileExistsError) as exc:
        raise _fail(str(exc)) from exc
    console.print(f"[green]Demo shop written to[/] {directory} ({len(shop.reviews)} reviews)")


@shop_app.command("import")
def shop_import(
    directory: Annotated[Path, typer.Argument(help="The shop folder to create.")],
    reviews: Annotated[Path | None, typer.Option(help="Reviews export (.csv or .csv.gz).")] = None,
    campaigns: Annotated[Path | None, typer.Option(help="Customer-level campaign history export.")] = None,
    channels: Annotated[Path | None, typer.Option(help="Weekly channel spend and outcome export.")] = None,
    column_map: Annotated[str | None, typer.Option("--map", help="Built-in map name or a YAML map file.")] = None,
    name: Annotated[str | None, typer.Option(help="Shop name.")] = None,
    currency: Annotated[str, typer.Option(help="ISO currency of the shop's money columns.")] = "USD",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing shop.")] = False,
) -> None:
    """Build a shop from your own exports (column maps for the public datasets are built in)."""
    from campaign_planner.data.column_maps import import_shop
    from campaign_planner.data.shop import ShopDataError

    if reviews is None and campaigns is None and channels is None:
        raise _fail("give at least one of --reviews, --campaigns, --channels")
    try:
        _, report = import_shop(directory, reviews=reviews, campaigns=campaigns, channels=channels,
                                column_map=column_map, name=name, currency=currency, overwrite=overwrite)
    except FileExistsError as exc:  # the destination is a shop already: pass --overwrite
        raise _fail(str(exc), ExitCode.USAGE) from exc
    except (ShopDataError, FileNotFoundError) as exc:
        raise _fail(str(exc), ExitCode.BAD_DATA) from exc
    console.print(f"[green]Shop written to[/] {directory}")
    # The readable account (counts per reason, first lines, warnings); the full JSON is in the shop folder.
    out.print(report.summary(), markup=False, highlight=False)


@shop_app.command("ingest")
def shop_ingest(
    directory: Annotated[Path | None, typer.Argument(help="Shop folder (default: the demo shop).")] = None,
    chroma_url: Annotated[str | None, typer.Option(help="Chroma server URL (default: embedded).")] = None,
) -> None:
    """Embed the shop's reviews into Chroma (idempotent; unchanged files are skipped)."""
    from campaign_planner.planning import resolve_shop
    from campaign_planner.vectorstore.store import open_review_store

    settings = load_settings(shop_dir=directory, chroma_url=chroma_url)
    shop = resolve_shop(settings)
    report = _ingest_with_progress(shop, open_review_store(shop, settings.chroma_url))
    console.print(report.model_dump_json(indent=2))


api_key_app = typer.Typer(help="API keys for `campaign-planner serve`.", no_args_is_help=True)
app.add_typer(api_key_app, name="api-key")


@api_key_app.command("new")
def api_key_new() -> None:
    """Print a new API key (give it to the client) and its SHA-256 hash (add it to CAMPAIGN_PLANNER_API_KEY_HASHES)."""
    from campaign_planner.api import generate_api_key

    key, digest = generate_api_key()
    out.print(f"key:  {key}\nhash: {digest}", markup=False, highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface; 127.0.0.1 keeps the API on this machine.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    backend: Annotated[str | None, typer.Option(help="LLM backend for runs.")] = None,
    shop: Annotated[Path | None, typer.Option(help="Default shop folder (default: the demo shop).")] = None,
    workers: Annotated[int | None, typer.Option(min=1, max=32, help="Background run workers.")] = None,
    log_level: LogLevelFlag = None,
    log_json: LogJsonFlag = None,
) -> None:
    """Serve the HTTP API (docs/api.md). Needs CAMPAIGN_PLANNER_API_KEY_HASHES (`campaign-planner api-key new`)."""
    import uvicorn

    from campaign_planner.api import create_app
    from campaign_planner.api.app import refuse_backends_that_cannot_plan

    _configure_logging(log_level, log_json)
    settings = load_settings(backend=backend, shop_dir=shop, api_workers=workers)
    try:
        refuse_backends_that_cannot_plan(settings)
        api = create_app(settings)
    except ValueError as exc:  # no API keys or the fake backend (2); an unreachable database or queue (69)
        raise _fail(str(exc), _code_of(exc)) from exc
    console.print(f"[green]Serving[/] http://{host}:{port} (OpenAPI: /docs) · data {settings.data_dir}")
    # One process per data dir without a queue; with one (queue_url), run more API servers as you need.
    from campaign_planner.api.header_limits import server_options

    # log_config=None: uvicorn's own records (startup, access lines) go through our handler, with our format.
    uvicorn.run(api, host=host, port=port, workers=1, log_level=_logging["level"], log_config=None,
                **server_options())


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Runs this worker executes at once.")] = 1,
    name: Annotated[str | None, typer.Option(help="Worker name (default: host:pid:random).")] = None,
    backend: Annotated[str | None, typer.Option(help="LLM backend for runs.")] = None,
    shop: Annotated[Path | None, typer.Option(help="Default shop folder (default: the demo shop).")] = None,
    log_level: LogLevelFlag = None,
    log_json: LogJsonFlag = None,
) -> None:
    """Execute API-triggered runs from the queue at queue_url (docs/api.md: Scale-out). Stop with Ctrl-C or
    SIGTERM: running runs stop at their next step and go back to the queue for another worker."""
    from campaign_planner.api.queue import QueueWorker
    from campaign_planner.planning import redact_url

    _configure_logging(log_level, log_json)
    settings = load_settings(backend=backend, shop_dir=shop)
    if not settings.queue_url:
        raise _fail("set queue_url (CAMPAIGN_PLANNER_QUEUE_URL=redis://…) and a postgresql:// checkpoint_url to "
                    "run workers; without a queue, `campaign-planner serve` executes runs itself")
    from campaign_planner.api.app import refuse_backends_that_cannot_plan

    try:
        refuse_backends_that_cannot_plan(settings)
        queue_worker = QueueWorker(settings, concurrency=concurrency, name=name)
    except ValueError as exc:
        raise _fail(str(exc), _code_of(exc)) from exc
    except Exception as exc:  # an unreachable Postgres server
        raise _fail(f"cannot start the worker: {type(exc).__name__}: {exc}", ExitCode.SERVICE_UNAVAILABLE) from exc
    console.print(f"[green]Worker[/] {queue_worker.name} · {concurrency} at once · queue "
                  f"{redact_url(settings.queue_url)} · data {settings.data_dir}", soft_wrap=True)
    queue_worker.run()


def _serve_chat(api: Any, host: str, port: int) -> None:
    """Run the chat's app with uvicorn (one process: runs execute in its worker threads)."""
    import uvicorn

    from campaign_planner.api.header_limits import server_options

    uvicorn.run(api, host=host, port=port, workers=1, log_level="warning", **server_options())


@app.command()
def chat(
    host: Annotated[str, typer.Option(help="Loopback interface to serve on (127.0.0.1, ::1 or localhost).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8765,
    backend: Annotated[str | None, typer.Option(help="LLM backend for runs.")] = None,
    shop: Annotated[Path | None, typer.Option(help="Shop folder (default: the demo shop).")] = None,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the chat in the default browser.")] = False,
) -> None:
    """Serve the web chat on loopback: paste a brief, watch it plan, approve or ask for changes (README: Chat)."""
    from campaign_planner.ui import CHAT_KEY_FILE, LOOPBACK_NAMES, chat_url, create_chat_app, is_loopback

    if not is_loopback(host):
        raise _fail(f"the chat serves on loopback only (127.0.0.1, ::1 or localhost), not {host}; for other machines "
                    "use `campaign-planner serve` (API keys) behind a TLS proxy")
    settings = load_settings(backend=backend, shop_dir=shop)
    from campaign_planner.api.app import refuse_backends_that_cannot_plan

    try:
        refuse_backends_that_cannot_plan(settings)
        api, key = create_chat_app(settings, allowed_hosts=(*LOOPBACK_NAMES, host))
    except ValueError as exc:
        raise _fail(str(exc), _code_of(exc)) from exc
    url = chat_url(host, port, key)
    console.print(f"[green]Chat[/] at {url}", markup=True, highlight=False, soft_wrap=True)
    console.print(f"[dim]The link carries the chat's API key (kept in {settings.data_dir / CHAT_KEY_FILE}); API "
                  f"clients using that key start threads the chat can open. Data: {settings.data_dir}[/]",
                  soft_wrap=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    _serve_chat(api, host, port)


from campaign_planner.results.cli import register_results_commands  # noqa: E402  (its own module: results/)

register_results_commands(app, shop_app)


def main() -> None:  # pragma: no cover - console script shim
    """Run the CLI (the console script). An unexpected error exits 1 with one line; its trace goes to the
    log at debug level (``--log-level debug``)."""
    import logging

    try:
        app()
    except Exception as exc:  # a bug or an error no command anticipated: still one line and a code
        logging.getLogger("campaign_planner.cli").debug("unexpected error", exc_info=True)
        console.print(f"[bold red]error:[/] unexpected {type(exc).__name__}: {exc}")
        sys.exit(ExitCode.RUNTIME_FAILURE)

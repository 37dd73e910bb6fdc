"""The ``campaign-planner results …`` commands and ``shop simulate-results``, registered on the main CLI."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from campaign_planner.settings import load_settings

results_app = typer.Typer(help="Campaign results: import what a running campaign reports, read it out against "
                               "the plan.", no_args_is_help=True)
console = Console(stderr=True)

READOUT_FORMATS = ("md", "json", "html")


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _thread_plan(store: Any, thread_id: str, settings: Any) -> Any:
    from campaign_planner.planning import PlanningError
    from campaign_planner.results.service import UnknownThreadError, thread_plan

    try:
        return thread_plan(store, thread_id, settings)
    except (UnknownThreadError, PlanningError) as exc:
        raise _fail(str(exc)) from exc


def _open_store(settings: Any) -> Any:
    from campaign_planner.results.service import open_results_store

    try:
        return open_results_store(settings)
    except Exception as exc:  # an unreachable Postgres server: one clear line, not a trace
        raise _fail(f"cannot open the results store: {type(exc).__name__}: {exc}") from exc


def _import(store: Any, thread_id: str, found: Any, source: Any, catalog: Any, column_map: Any,
            channel: str | None, replace: bool) -> None:
    from campaign_planner.results.files import ResultsFileError
    from campaign_planner.results.service import import_results
    from campaign_planner.results.storage import ResultsConflict

    try:
        outcome = import_results(store, thread_id, found.plan, source, catalog=catalog, column_map=column_map,
                                 channel=channel, replace=replace)
    except (ResultsFileError, ResultsConflict) as exc:
        raise _fail(str(exc)) from exc
    console.print(outcome.summary(), highlight=False, soft_wrap=True)


@results_app.command("import")
def results_import(
    thread_id: Annotated[str, typer.Argument(help="The thread whose plan the campaign runs (CLI or API thread).")],
    file: Annotated[Path, typer.Argument(help="Channel results or customer outcomes, CSV (.csv or .csv.gz).")],
    column_map: Annotated[Path | None, typer.Option("--map", help="A results column map (YAML).")] = None,
    channel: Annotated[str | None, typer.Option(help="The channel of every row (a file without a channel "
                                                     "column).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite periods already imported with different "
                                                           "figures (a restatement).")] = False,
    shop: Annotated[Path | None, typer.Option(help="Shop folder (its channel catalog).")] = None,
) -> None:
    """Import campaign results for THREAD: validated like shop data, stored with the thread; importing the same
    file again changes nothing, later periods append. A bad file is refused whole, naming the lines."""
    from campaign_planner.data.catalog import load_catalog
    from campaign_planner.data.shop import CsvSource
    from campaign_planner.results.files import ResultsFileError, load_results_map

    settings = load_settings(shop_dir=shop)
    try:
        source = CsvSource.from_path(file)
        results_map = load_results_map(column_map) if column_map is not None else None
        catalog = load_catalog(settings.effective_shop_dir if settings.effective_shop_dir.is_dir() else None)
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    store = _open_store(settings)
    try:
        found = _thread_plan(store, thread_id, settings)
        _import(store, thread_id, found, source, catalog, results_map,
                channel.lower() if channel else None, replace)
    except ResultsFileError as exc:
        raise _fail(str(exc)) from exc
    finally:
        store.close()


@results_app.command("readout")
def results_readout(
    thread_id: Annotated[str, typer.Argument(help="The thread whose campaign to read out.")],
    output_format: Annotated[str, typer.Option("--format", help="md, json or html.")] = "md",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the readout to this file.")] = None,
) -> None:
    """Read the thread's campaign out against its plan: lift by the plan's test design, pacing, forecast against
    actual, power. Every figure comes from the stored results and the plan."""
    from campaign_planner.results.report import render_readout
    from campaign_planner.results.service import readout

    if output_format not in READOUT_FORMATS:
        raise _fail(f"unknown format {output_format!r}; expected one of {', '.join(READOUT_FORMATS)}")
    settings = load_settings()
    store = _open_store(settings)
    try:
        text = render_readout(readout(store, thread_id, _thread_plan(store, thread_id, settings)),
                              output_format)  # type: ignore[arg-type]
    finally:
        store.close()
    if out_file is not None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text, encoding="utf-8")
        console.print(f"[green]Readout written to[/] {out_file}")
        return
    sys.stdout.write(text)


def shop_simulate_results(
    thread_id: Annotated[str, typer.Argument(help="A thread with a plan made on the demo shop.")],
    weeks: Annotated[int, typer.Option(help="Weeks of the campaign to simulate (from launch).")] = 2,
    truth_multiplier: Annotated[list[str] | None, typer.Option(
        "--truth-multiplier", help="CHANNEL=FACTOR: the planted effect times FACTOR (repeatable), e.g. email=2.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 0,
    shop: Annotated[Path | None, typer.Option(help="The demo shop folder (default: the demo shop).")] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Also keep the simulated CSV files here.")] = None,
    do_import: Annotated[bool, typer.Option("--import/--no-import", help="Import them into the thread.")] = True,
) -> None:
    """Simulate WEEKS of in-flight results for THREAD's plan from the demo shop's planted truth and import them,
    so the readout can be tried offline."""
    from campaign_planner.data.demo import load_demo_truth
    from campaign_planner.data.shop import CsvSource, ShopDataError, load_shop
    from campaign_planner.results.simulate import SimulationError, parse_multipliers, simulate_results

    settings = load_settings(shop_dir=shop)
    shop_dir = settings.effective_shop_dir
    try:
        truth = load_demo_truth(shop_dir)
        shop_data = load_shop(shop_dir)
    except ShopDataError as exc:
        raise _fail(str(exc)) from exc
    store = _open_store(settings)
    try:
        found = _thread_plan(store, thread_id, settings)
        planned_on = found.plan.provenance.data.get("channel_history.csv")
        if planned_on and planned_on != shop_data.data_hashes.get("channel_history.csv"):
            raise _fail(f"thread {thread_id}'s plan was not made on the shop at {shop_dir}; pass --shop")
        try:
            simulated = simulate_results(found.plan, truth, shop_data.catalog, weeks=weeks, seed=seed,
                                         multipliers=parse_multipliers(truth_multiplier or []))
        except SimulationError as exc:
            raise _fail(str(exc)) from exc
        for note in simulated.notes:
            console.print(f"[yellow]note:[/] {note}", highlight=False)
        folder = out_dir or Path(tempfile.mkdtemp(prefix="simulated-results-"))
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        for name, frame in (("channel_results.csv", simulated.channel_results),
                            ("customer_outcomes.csv", simulated.customer_outcomes)):
            if len(frame):
                (folder / name).write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")
                files.append(folder / name)
        console.print(f"Simulated {weeks} week(s) from the planted truth: {', '.join(str(f) for f in files)}",
                      highlight=False, soft_wrap=True)
        planted = "; ".join(f"{channel} {', '.join(f'{k}={v:.4g}' for k, v in values.items())}"
                            for channel, values in simulated.planted.items())
        console.print(f"Planted: {planted}", highlight=False, soft_wrap=True)
        if do_import:
            for path in files:
                _import(store, thread_id, found, CsvSource.from_path(path), shop_data.catalog, None, None, False)
    finally:
        store.close()


def register_results_commands(app: typer.Typer, shop_app: typer.Typer) -> None:
    """Add ``results import|readout`` and ``shop simulate-results`` to the CLI."""
    app.add_typer(results_app, name="results")
    shop_app.command("simulate-results")(shop_simulate_results)

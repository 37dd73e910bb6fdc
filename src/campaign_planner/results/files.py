"""Result exports: reading and validating what a running campaign produced.

Two kinds of file, told apart by their (mapped) header:

* **channel results**, one row per period and channel (and region, for a geo holdout): ``period``,
  ``channel``, ``spend``, ``revenue``; optional ``impressions``, ``clicks``, ``conversions``, ``region`` and
  ``arm`` (``treated`` / ``holdout``, required with ``region``).
* **customer outcomes** of a randomised customer holdout, one row per customer: ``customer_id``,
  ``channel``, ``arm`` (``treated`` / ``holdout``), ``converted`` (0/1), ``revenue``.

The files are read with the shop's own reader (``data.shop.CsvSource``: text columns, line numbers,
gzip) and column maps (``data.column_maps.FileMap``), and refused with the shop's messages. Unlike
reviews, a bad row refuses the whole file (as in ``channel_history.csv``): a readout that silently lost a
week or a holdout customer would move budget on a wrong number, and nothing of a refused file is stored.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from campaign_planner.data.catalog import ChannelCatalog
from campaign_planner.data.column_maps import ColumnMapError, FileMap, apply_file_map, read_map_document
from campaign_planner.data.shop import (
    CsvSource,
    ShopDataError,
    _numbers,
    _quote_lines,
    _unknown_channels_message,
    require_columns,
)

ResultKind = Literal["channel_results", "customer_outcomes"]
RESULT_KINDS: tuple[ResultKind, ...] = ("channel_results", "customer_outcomes")
CHANNEL_RESULTS_REQUIRED: tuple[str, ...] = ("period", "channel", "spend", "revenue")
CHANNEL_RESULTS_OPTIONAL: tuple[str, ...] = ("impressions", "clicks", "conversions", "region", "arm")
CHANNEL_METRICS: tuple[str, ...] = ("spend", "impressions", "clicks", "conversions", "revenue")
CUSTOMER_REQUIRED: tuple[str, ...] = ("customer_id", "channel", "arm", "converted", "revenue")
ARMS: tuple[str, ...] = ("treated", "holdout")
_REQUIRED: dict[ResultKind, tuple[str, ...]] = {
    "channel_results": CHANNEL_RESULTS_REQUIRED, "customer_outcomes": CUSTOMER_REQUIRED,
}
_ALLOWED: dict[ResultKind, tuple[str, ...]] = {
    "channel_results": CHANNEL_RESULTS_REQUIRED + CHANNEL_RESULTS_OPTIONAL, "customer_outcomes": CUSTOMER_REQUIRED,
}


class ResultsFileError(ShopDataError):
    """A result file (or its column map) that cannot be imported; the message names file, column and lines."""


class ResultsMap(BaseModel):
    """A column map for result exports: one ``FileMap`` per kind of result file (at least one)."""

    model_config = ConfigDict(extra="forbid")

    name: str = "results"
    description: str = ""
    channel_results: FileMap | None = None
    customer_outcomes: FileMap | None = None

    @model_validator(mode="after")
    def _check(self) -> ResultsMap:
        present = [kind for kind in RESULT_KINDS if getattr(self, kind) is not None]
        if not present:
            raise ValueError("a results map needs channel_results or customer_outcomes")
        for kind in present:
            section: FileMap = getattr(self, kind)
            targets = section.targets()
            unknown = [t for t in targets if t not in _ALLOWED[kind]]
            if unknown:
                raise ValueError(f"{kind}: {unknown} are not {kind} columns; allowed: {list(_ALLOWED[kind])}")
            # The channel may come from --channel (one test's export) instead; the file check still needs it.
            missing = [c for c in _REQUIRED[kind] if c not in targets and c != "channel"]
            if missing:
                raise ValueError(f"{kind}: no column is mapped to the required column(s) {missing}")
        return self


def load_results_map(path: Path) -> ResultsMap:
    """Return the results map in the YAML file ``path``; refuses (ResultsFileError) a missing file, invalid
    YAML, unknown keys and maps that do not produce a required column."""
    path = Path(path)
    document = read_map_document(path, ResultsFileError, "channel_results / customer_outcomes")
    return parse_results_map(document, str(path))


def parse_results_map(document: dict, label: str = "column map") -> ResultsMap:
    """Return the results map described by ``document`` (e.g. an API request's ``map``); refuses
    (ResultsFileError) what ``load_results_map`` refuses."""
    try:
        return ResultsMap.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'map'}: {err['msg']}" for err in exc.errors())
        raise ResultsFileError(f"{label}: {problems}") from exc


@dataclass(frozen=True)
class ResultBatch:
    """One validated result file: its kind, canonical rows, and where it came from."""

    kind: ResultKind
    rows: pd.DataFrame
    source: str
    sha256: str
    map_name: str
    columns_left_out: list[str] = field(default_factory=list)

    @property
    def channels(self) -> list[str]:
        """Return the channels the file has rows for, sorted."""
        return sorted(self.rows["channel"].unique())


def read_results_file(
    source: CsvSource,
    *,
    catalog: ChannelCatalog,
    plan_channels: Collection[str],
    column_map: ResultsMap | None = None,
    channel: str | None = None,
) -> ResultBatch:
    """Return the validated rows of one result file.

    ``column_map`` renames an export's columns (the section whose source columns the header has);
    ``channel`` fills the ``channel`` column where the file has none (a per-customer export of one test).
    Refuses (ResultsFileError): a header no kind fits; a missing required column; a channel not in the
    catalog (with a suggestion) or not in the plan; a period that is not an ISO date; a spend, revenue or
    other metric that is not a number >= 0 (metrics other than spend and revenue may be empty); an arm
    other than treated/holdout, or a region without an arm; ``converted`` not 0/1; an empty customer id;
    a row repeated (same period, channel and region, or same channel and customer); an empty file.
    """
    raw = _as_results_error(source.frame)
    header = list(raw.columns)
    map_name = "canonical"
    left_out: list[str] = []
    section_kind: ResultKind | None = None
    if column_map is not None:
        for kind in RESULT_KINDS:
            section: FileMap | None = getattr(column_map, kind)
            if section is not None and set(section.columns) <= set(header):
                raw, left_out = _as_results_error(apply_file_map, raw, section, source.label)
                section_kind, map_name = kind, column_map.name
                break
        else:
            expected = {k: sorted(getattr(column_map, k).columns) for k in RESULT_KINDS if getattr(column_map, k)}
            raise ResultsFileError(f"{source.label}: the column map {column_map.name!r} does not fit: it expects "
                                   f"{expected}; columns found: {header}")
    if channel is not None:
        if "channel" in raw.columns:
            raise ResultsFileError(f"{source.label}: has a channel column; leave out the channel option")
        raw = raw.assign(channel=channel)
    kind = section_kind or _kind_of(list(raw.columns), source.label)
    if raw.empty:
        raise ResultsFileError(f"{source.label}: no rows after the header")
    checker = _Checker(source, raw)
    checker.require(_REQUIRED[kind])
    channels = _channels(checker, catalog, plan_channels)
    if kind == "channel_results":
        rows = _channel_rows(checker, channels)
    else:
        rows = _customer_rows(checker, channels)
    extra = [c for c in raw.columns if c not in _ALLOWED[kind]]
    return ResultBatch(kind=kind, rows=rows, source=source.label, sha256=source.sha256(), map_name=map_name,
                       columns_left_out=left_out + extra)


def _as_results_error(function, *args):  # type: ignore[no-untyped-def]
    """Call ``function``, re-raising the shop's errors as ResultsFileError (same message)."""
    try:
        return function(*args)
    except ColumnMapError as exc:
        raise ResultsFileError(str(exc)) from exc
    except ShopDataError as exc:
        if isinstance(exc, ResultsFileError):
            raise
        raise ResultsFileError(str(exc)) from exc


def _kind_of(header: list[str], label: str) -> ResultKind:
    if "customer_id" in header:
        return "customer_outcomes"
    if "period" in header:
        return "channel_results"
    raise ResultsFileError(
        f"{label}: its columns match no kind of result file. Expected channel results "
        f"{list(CHANNEL_RESULTS_REQUIRED)} (optional {list(CHANNEL_RESULTS_OPTIONAL)}) or customer outcomes "
        f"{list(CUSTOMER_REQUIRED)}; columns found: {header}. Write a results column map "
        "(docs/results.md) and pass it as --map."
    )


class _Checker:
    """Refuses a file on its first bad column, with the shop's message shape (column, count, lines, examples)."""

    def __init__(self, source: CsvSource, raw: pd.DataFrame) -> None:
        self.source = source
        self.raw = raw

    def require(self, columns: tuple[str, ...]) -> None:
        _as_results_error(require_columns, self.raw, columns, self.source.label)

    def refuse(self, mask: pd.Series, column: str, what: str) -> None:
        if mask.any():
            positions = [int(p) for p in np.flatnonzero(mask.to_numpy())]
            values = [self.raw[column].iat[p] for p in positions[:3]]
            raise ResultsFileError(
                f"{self.source.label}: column {column!r}: {what} on {len(positions)} row(s), lines "
                f"{_quote_lines(self.source.lines(positions))} (e.g. {values})"
            )

    def text(self, column: str) -> pd.Series:
        return self.raw[column].str.strip()

    def number(self, column: str, *, optional: bool = False) -> pd.Series:
        text = self.text(column)
        values = _numbers(text)
        empty = text == ""
        if optional:
            self.refuse(values.isna() & ~empty, column, "not a number")
        else:
            self.refuse(values.isna(), column, "empty or not a number")
        self.refuse(values < 0, column, "negative")
        return values.astype("float64")


def _channels(checker: _Checker, catalog: ChannelCatalog, plan_channels: Collection[str]) -> pd.Series:
    channels = checker.text("channel").str.lower()
    checker.refuse(channels == "", "channel", "empty channel")
    # A channel the plan funds is known whatever catalog the caller has (a shop's own channels.yaml may add it).
    unknown = sorted({c for c in channels.unique() if c not in catalog and c not in plan_channels})
    if unknown:
        raise ResultsFileError(f"{checker.source.label}: channel(s) not in the catalog: "
                               f"{_unknown_channels_message(unknown, catalog)}; known channels: {catalog.ids()}")
    outside = sorted(set(channels.unique()) - set(plan_channels))
    if outside:
        raise ResultsFileError(f"{checker.source.label}: channel(s) {outside} have no allocation in the thread's "
                               f"plan; the plan's channels: {sorted(plan_channels)}")
    return channels


def _arms(checker: _Checker) -> pd.Series:
    return checker.text("arm").str.lower()


def _channel_rows(checker: _Checker, channels: pd.Series) -> pd.DataFrame:
    raw = checker.raw
    period = pd.to_datetime(checker.text("period"), format="ISO8601", errors="coerce")
    checker.refuse(period.isna(), "period", "not an ISO date (YYYY-MM-DD)")
    region = checker.text("region") if "region" in raw.columns else pd.Series("", index=raw.index)
    arm = _arms(checker) if "arm" in raw.columns else pd.Series("", index=raw.index)
    if "arm" in raw.columns:
        checker.refuse(~arm.isin([*ARMS, ""]), "arm", "not 'treated' or 'holdout'")
        checker.refuse((arm == "") & (region != ""), "arm", "empty arm for a region (a geo holdout row needs one)")
        checker.refuse((arm != "") & (region == ""), "region", "empty region for a row with an arm")
    elif "region" in raw.columns:
        checker.refuse(region != "", "region", "a region without an arm column (treated / holdout)")
    rows = pd.DataFrame({"channel": channels, "period": period.dt.strftime("%Y-%m-%d"), "region": region,
                         "arm": arm})
    for metric in CHANNEL_METRICS:
        if metric in raw.columns:
            rows[metric] = checker.number(metric, optional=metric not in CHANNEL_RESULTS_REQUIRED)
        else:
            rows[metric] = np.nan
    key = rows[["channel", "period", "region"]]
    checker.refuse(key.duplicated(keep="first"), "period", "repeated period for the same channel and region")
    return rows.reset_index(drop=True)


def _customer_rows(checker: _Checker, channels: pd.Series) -> pd.DataFrame:
    ids = checker.text("customer_id")
    checker.refuse(ids == "", "customer_id", "empty customer_id")
    arm = _arms(checker)
    checker.refuse(~arm.isin(ARMS), "arm", "not 'treated' or 'holdout'")
    converted = _numbers(checker.text("converted"))
    checker.refuse(~converted.isin([0, 1]), "converted", "not 0 or 1")
    revenue = checker.number("revenue")
    rows = pd.DataFrame({"channel": channels, "customer_id": ids, "arm": arm,
                         "converted": converted.astype("int64"), "revenue": revenue})
    checker.refuse(rows[["channel", "customer_id"]].duplicated(keep="first"), "customer_id",
                   "repeated customer_id for the same channel")
    return rows.reset_index(drop=True)

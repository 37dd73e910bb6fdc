"""A shop: the folder of data a plan is grounded in (see docs/architecture.md, "shop data contract").

``load_shop`` reads a shop folder into a ``Shop`` with canonical columns; ``load_shop_with_report`` also
returns what was skipped or blanked and why (with line numbers). The ``clean_*`` functions are the one
place the canonical columns are validated: ``column_maps.import_shop`` runs user exports through them too,
so an import and a later load accept and refuse exactly the same rows.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, SkipValidation, ValidationError, model_validator

from campaign_planner.data.balance import FeatureBalance, balance_warnings, feature_balance
from campaign_planner.data.catalog import CatalogError, ChannelCatalog, load_catalog
from campaign_planner.data.channel_checks import channel_history_warnings
from campaign_planner.data.encoding import EncodingError, decode_export


class ShopDataError(ValueError):
    """A shop folder or export that cannot be loaded; the message names the file, line or column."""


class CampaignHistorySpec(BaseModel):
    """How to read ``campaign_history.csv``: the control label and which channel each treatment used."""

    model_config = ConfigDict(extra="forbid")

    control: str
    treatment_channels: dict[str, str] = Field(description="Treatment label -> catalog channel id.")
    features: list[str] = Field(default_factory=list)
    average_order_value: float | None = Field(default=None, gt=0)
    average_order_value_source: Literal["declared", "estimated"] | None = Field(
        default=None,
        description="Whether average_order_value was declared by the shop owner or estimated from the campaign "
        "history's converters (what `shop import` writes). Left out, a value is declared.",
    )
    average_order_value_converters: int | None = Field(
        default=None, ge=1, description="For an estimated average_order_value: how many converters it is the "
        "mean of.",
    )
    assignment: Literal["randomized", "observational"] | None = Field(
        default=None,
        description="How customers got their treatment: 'randomized' (a random holdout/A-B split) or "
        "'observational' (any other way). Left out, the history is treated as observational.",
    )

    @model_validator(mode="after")
    def _order_value_marking(self) -> CampaignHistorySpec:
        marked = self.average_order_value_source is not None or self.average_order_value_converters is not None
        if marked and self.average_order_value is None:
            raise ValueError("average_order_value_source and average_order_value_converters describe an "
                             "average_order_value, and there is none")
        if self.average_order_value_source == "estimated" and self.average_order_value_converters is None:
            raise ValueError("an estimated average_order_value needs average_order_value_converters (how many "
                             "converters it is the mean of)")
        if self.average_order_value_source != "estimated" and self.average_order_value_converters is not None:
            raise ValueError("average_order_value_converters is only for an estimated average_order_value "
                             "(average_order_value_source: estimated)")
        return self

    @property
    def average_order_value_estimated(self) -> bool:
        """Return True when ``average_order_value`` is an estimate (a bare number is declared)."""
        return self.average_order_value is not None and self.average_order_value_source == "estimated"

    @property
    def effective_assignment(self) -> Literal["randomized", "observational"]:
        """Return the assignment forecasts assume: the declared one, else 'observational'.

        Observational is the safe default: its doubly robust adjustment is also valid for randomized
        history, while treating a non-random control as randomized presents confounding as lift.
        """
        return self.assignment or "observational"


@dataclass(frozen=True)
class Shop:
    """A loaded shop with canonical column names. Tools read shops only through this object."""

    root: Path
    name: str
    currency: str
    reviews: pd.DataFrame
    catalog: ChannelCatalog
    campaign_history: pd.DataFrame | None = None
    campaign_spec: CampaignHistorySpec | None = None
    channel_history: pd.DataFrame | None = None
    data_hashes: dict[str, str] = field(default_factory=dict)
    # file name -> the load's warnings about that file (balance, units, spacing...), for the plan's flags.
    data_warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def history_channels(self) -> list[str]:
        """Return the channel ids with a ``spend_<id>`` column in the channel history."""
        if self.channel_history is None:
            return []
        return [c.removeprefix("spend_") for c in self.channel_history.columns if c.startswith("spend_")]

    def reviews_with_text(self) -> pd.DataFrame:
        """Return the reviews whose text is not blank: the ones a text index should hold.

        Reviews with a rating but no text stay in ``reviews`` (they count towards segment sizes and
        ratings) but have nothing to embed or quote.
        """
        return self.reviews[self.reviews["text"].str.strip() != ""]


# --- the canonical contract -------------------------------------------------------------------------

REVIEWS_FILE = "reviews.csv"
CAMPAIGN_FILE = "campaign_history.csv"
CHANNEL_FILE = "channel_history.csv"
SHOP_FILE = "shop.yaml"
CATALOG_FILE = "channels.yaml"
BRAND_FILE = "brand.yaml"

REVIEW_REQUIRED: tuple[str, ...] = ("review_id", "text", "rating")
# customer_id joins a reviewer to the campaign history's customers (segments then select history customers).
REVIEW_OPTIONAL: tuple[str, ...] = (
    "title", "age", "department", "category", "product_id", "recommended", "customer_id"
)
CAMPAIGN_REQUIRED: tuple[str, ...] = ("customer_id", "treatment", "conversion", "revenue")
CAMPAIGN_OPTIONAL: tuple[str, ...] = ("visit",)
CHANNEL_REQUIRED: tuple[str, ...] = ("period", "revenue")
CHANNEL_OPTIONAL: tuple[str, ...] = ("conversions",)
SPEND_PREFIX = "spend_"
CONTROL_PREFIX = "control_"
_PERIOD_FORMAT = r"\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?)?"

# Ages outside this range are data-entry errors (or birth years), not customers.
_AGE_RANGE = (1, 120)
# Only this many offending lines are quoted in an error message; the count is always complete.
_LINES_QUOTED = 10


class ShopConfig(BaseModel):
    """The contents of ``shop.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. USD.")
    campaign_history: CampaignHistorySpec | None = None


class RowIssue(BaseModel):
    """One problem found in one row: the row was skipped, or one of its values was blanked."""

    model_config = ConfigDict(extra="forbid")

    file: str
    line: int = Field(description="Physical line the record starts on; the header is line 1.")
    column: str | None = None
    value: str = ""
    reason: str
    action: Literal["skipped", "blanked"]


class FileReport(BaseModel):
    """What loading one file did: rows read and kept, and every row issue with its line."""

    model_config = ConfigDict(extra="forbid")

    file: str
    rows_read: int
    rows_loaded: int
    issues: list[RowIssue] = Field(default_factory=list)
    missing_optional_columns: list[str] = Field(default_factory=list)
    extra_columns: list[str] = Field(default_factory=list)
    # Not re-validated: a check's warning may be a render.messages.KeyedText (the English text that keeps its
    # catalog key), which a plan in another language restates; validation would turn it into a plain str.
    warnings: list[SkipValidation[str]] = Field(default_factory=list)
    balance: list[FeatureBalance] = Field(
        default_factory=list, description="Campaign history: each feature's SMD, treatment vs control."
    )

    @property
    def rows_skipped(self) -> int:
        """Return how many rows were left out (each row counts once, however many issues it had)."""
        return self.rows_read - self.rows_loaded

    def skipped_lines(self) -> list[int]:
        """Return the sorted line numbers of the skipped rows."""
        return sorted({issue.line for issue in self.issues if issue.action == "skipped"})

    def reasons(self) -> dict[str, int]:
        """Return how often each kind of issue occurred (reason text without the offending value)."""
        return dict(Counter(issue.reason for issue in self.issues))


class LoadReport(BaseModel):
    """What ``load_shop_with_report`` read, kept, skipped and blanked, per file."""

    model_config = ConfigDict(extra="forbid")

    root: str
    files: dict[str, FileReport] = Field(default_factory=dict)
    empty_text_review_ids: list[str] = Field(
        default_factory=list, description="Reviews kept (they have a rating) but left out of the text index."
    )
    warnings: list[str] = Field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        """Return the number of rows skipped over all files."""
        return sum(report.rows_skipped for report in self.files.values())

    @property
    def degraded(self) -> bool:
        """Return True when any row was skipped or any value blanked: results rest on less data."""
        return any(report.issues for report in self.files.values())

    def summary(self) -> str:
        """Return a short human-readable account, one line per file plus warnings."""
        lines = []
        for report in self.files.values():
            text = f"{report.file}: {report.rows_read:,} rows read, {report.rows_loaded:,} loaded"
            if report.rows_skipped:
                text += f", {report.rows_skipped:,} skipped (lines {_quote_lines(report.skipped_lines())})"
            blanked = sum(1 for issue in report.issues if issue.action == "blanked")
            if blanked:
                text += f", {blanked:,} values blanked"
            lines.append(text)
        if self.empty_text_review_ids:
            lines.append(f"{len(self.empty_text_review_ids):,} reviews have no text (kept, not indexed)")
        lines.extend(f"warning: {w}" for w in self.warnings)
        for report in self.files.values():
            lines.extend(f"warning: {report.file}: {w}" for w in report.warnings)
        return "\n".join(lines)


# --- reading CSV text -------------------------------------------------------------------------------


class CsvSource:
    """The bytes of one CSV file (plain or gzip), parsed as text, with record -> line lookup.

    Every column is read as text so that ids like ``007`` survive and each value is validated here,
    not guessed by the parser. Line numbers are worked out only when a row needs reporting.
    """

    def __init__(self, label: str, data: bytes) -> None:
        self.label = label
        self.data = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
        self._starts: list[int] | None = None
        self._text: str | None = None
        self.separator = ","
        self.encoding = "utf-8"

    @classmethod
    def from_path(cls, path: Path, label: str | None = None) -> CsvSource:
        """Return the source for ``path``; refuses (ShopDataError) a file that cannot be read."""
        try:
            return cls(label or path.name, path.read_bytes())
        except OSError as exc:
            raise ShopDataError(f"{label or path}: cannot read file: {exc}") from exc
        except (gzip.BadGzipFile, EOFError) as exc:
            raise ShopDataError(f"{label or path}: not a valid gzip file: {exc}") from exc

    def frame(self, separator: str | None = None, encoding: str | None = None) -> pd.DataFrame:
        """Return every row as text (empty cells are ''), columns named exactly as in the header.

        ``separator`` None sniffs it from the header: whichever of comma, semicolon and tab occurs most
        outside quotes (comma when none does). ``encoding`` None detects it (see ``decode_export``: a
        byte-order mark, UTF-8, else charset-normalizer); ``self.encoding`` then names what was read.
        Refuses (ShopDataError) bytes whose encoding cannot be determined, an empty file, a field longer
        than the csv module's limit (usually an unclosed quote that swallowed the lines after it),
        ragged rows and repeated column names.
        """
        try:
            text, self.encoding = decode_export(self.data, encoding)
        except EncodingError as exc:
            raise ShopDataError(f"{self.label}: {exc}") from exc
        self._text = text
        self.separator = separator or sniff_separator(text)
        # Every record boundary is found up front: a field over the csv module's limit must be refused
        # here, naming its line, and not surface as a traceback when a skipped row needs its line number.
        self._starts = _record_start_lines(text, self.separator, self.label)
        header = next(csv.reader(io.StringIO(text), delimiter=self.separator), None)
        if not header or not any(name.strip() for name in header):
            raise ShopDataError(f"{self.label}: the file is empty (no header row)")
        header = [name.strip() for name in header]
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise ShopDataError(f"{self.label}: column name(s) repeated in the header: {repeated}")
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=self.separator,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=True,
            )
        except pd.errors.ParserError as exc:
            raise ShopDataError(f"{self.label}: malformed CSV: {exc}") from exc
        if not isinstance(frame.index, pd.RangeIndex) or len(frame.columns) != len(header):
            # The parser turns surplus leading fields into an index instead of failing: refuse that.
            raise ShopDataError(
                f"{self.label}: rows have more fields than the header's {len(header)} columns; "
                "check the delimiter and quoting"
            )
        # The parser names an empty header cell "Unnamed: 0"; keep the file's own (empty) name so a
        # column map can refer to it as "".
        frame.columns = header
        return frame

    def lines(self, positions: Sequence[int]) -> list[int]:
        """Return the line each data record (0-based position) starts on; the header is line 1."""
        if len(positions) == 0:
            return []
        if self._starts is None:
            text = self._text if self._text is not None else decode_export(self.data)[0]
            self._starts = _record_start_lines(text, self.separator, self.label)
        starts = self._starts
        # Should the csv module and pandas ever disagree on record boundaries, fall back to
        # one-line-per-record numbering rather than failing to report.
        return [starts[p] if p < len(starts) else p + 2 for p in positions]

    def sha256(self) -> str:
        """Return the sha256 of the (decompressed) bytes."""
        return hashlib.sha256(self.data).hexdigest()


SEPARATORS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFFED = (",", ";", "\t")


def sniff_separator(text: str) -> str:
    """Return the separator of CSV ``text``: the one of comma, semicolon, tab occurring most often outside
    quotes in the header line (comma when none occurs)."""
    header, inside = [], False
    for char in text[:65_536]:
        if char == '"':
            inside = not inside
        elif char in "\r\n" and not inside:
            break
        elif not inside:
            header.append(char)
    counts = {sep: header.count(sep) for sep in _SNIFFED}
    best = max(_SNIFFED, key=lambda sep: counts[sep])
    return best if counts[best] > 0 else ","


def _record_start_lines(text: str, separator: str = ",", label: str = "file") -> list[int]:
    reader = csv.reader(io.StringIO(text), delimiter=separator)
    starts: list[int] = []
    previous_end = 0
    seen_header = False
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not record:  # blank line: pandas skips these too
                continue
            if not seen_header:
                seen_header = True
                continue
            starts.append(start)
    except csv.Error as exc:
        line = previous_end + 1
        if "field larger than field limit" in str(exc):
            raise ShopDataError(
                f"{label}: the record starting on line {line} has a field longer than "
                f"{csv.field_size_limit():,} characters, the CSV reader's limit; this is usually an unclosed "
                f'quote (") that swallowed the lines after it: check the quoting on line {line}'
            ) from exc
        raise ShopDataError(f"{label}: malformed CSV in the record starting on line {line}: {exc}") from exc
    return starts


def _quote_lines(lines: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in lines[:_LINES_QUOTED])
    return shown + (f" and {len(lines) - _LINES_QUOTED} more" if len(lines) > _LINES_QUOTED else "")


def require_columns(frame: pd.DataFrame, required: Sequence[str], file: str) -> None:
    """Refuse (ShopDataError naming file, missing and found columns) a frame lacking a required column."""
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ShopDataError(
            f"{file}: missing required column(s) {missing}; columns found: {list(frame.columns)}"
        )


class _Issues:
    """Collects row issues by record position; turns them into RowIssues with line numbers."""

    def __init__(self, source: CsvSource) -> None:
        self.source = source
        self._rows: list[tuple[int, str | None, str, str, str]] = []

    def add(self, mask: pd.Series, values: pd.Series, column: str | None, reason: str, action: str) -> None:
        for position in np.flatnonzero(mask.to_numpy()):
            self._rows.append((int(position), column, str(values.iat[position]), reason, action))

    def add_one(self, position: int, column: str, value: str, reason: str) -> None:
        self._rows.append((position, column, str(value), reason, "skipped"))

    def explain(self, positions: np.ndarray) -> str:
        """Return why the rows at ``positions`` were skipped: count per reason with the first lines."""
        wanted = {int(p) for p in positions}
        by_reason: dict[str, list[int]] = {}
        for position, _, _, reason, action in self._rows:
            if position in wanted and action == "skipped":
                by_reason.setdefault(reason, []).append(position)
        parts = []
        for reason, rows in sorted(by_reason.items(), key=lambda item: -len(item[1])):
            lines = self.source.lines(sorted(set(rows))[:3])
            parts.append(f"{len(set(rows)):,} x {reason} (e.g. line {', '.join(map(str, lines))})")
        return "; ".join(parts) or "no reason recorded"

    def to_list(self) -> list[RowIssue]:
        self._rows.sort(key=lambda row: row[0])
        lines = self.source.lines([row[0] for row in self._rows])
        return [
            RowIssue(file=self.source.label, line=line, column=col, value=val[:200], reason=why, action=act)
            for line, (_, col, val, why, act) in zip(lines, self._rows, strict=True)
        ]


def _numbers(text: pd.Series) -> pd.Series:
    # to_numeric ignores surrounding whitespace itself; stripping first doubled the load time.
    return pd.to_numeric(text, errors="coerce")


def _flags_01(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (values as float, mask of non-empty values that are not 0 or 1)."""
    values = _numbers(text)
    bad = ~values.isin([0, 1]) & (text != "")
    return values, bad


def _skip_duplicates(ids: pd.Series, eligible: pd.Series, issues: _Issues, column: str) -> pd.Series:
    """Mark every repeat of an id after its first row, reporting the line of the first."""
    dup = ids.duplicated(keep="first") & eligible
    if dup.any():
        first = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
        first = first[~first.index.duplicated(keep="first")]
        positions = np.flatnonzero(dup.to_numpy())
        first_lines = issues.source.lines([int(first[ids.iat[p]]) for p in positions])
        for position, line in zip(positions, first_lines, strict=True):
            reason = f"duplicate {column} (first on line {line})"
            issues.add_one(int(position), column, ids.iat[position], reason)
    return dup


def _split_extras(frame: pd.DataFrame, known: Sequence[str]) -> list[str]:
    return [c for c in frame.columns if c not in known]


# --- reviews ---------------------------------------------------------------------------------------


def clean_reviews(raw: pd.DataFrame, source: CsvSource) -> tuple[pd.DataFrame, FileReport]:
    """Validate raw review rows (all text) and return the canonical reviews frame and its report.

    Returns every canonical column (optional ones the file lacks are present and empty: NA or '') plus
    any extra columns as text. Skips, counting each with its line: an empty ``review_id``, a repeated
    ``review_id`` (the first one is kept), a ``rating`` that is not a whole number 1-5. Blanks (to NA,
    reported): an ``age`` outside 1-120 or not a number, a ``recommended`` that is not 0/1. Reviews with
    empty text are kept. Refuses (ShopDataError) a missing required column or a file with no valid row.
    """
    file = source.label
    require_columns(raw, REVIEW_REQUIRED, file)
    issues = _Issues(source)
    ids = raw["review_id"].str.strip()
    rating = _numbers(raw["rating"])
    empty_id = ids == ""
    bad_rating = rating.isna() | (rating % 1 != 0) | (rating < 1) | (rating > 5)
    issues.add(empty_id, ids, "review_id", "empty review_id", "skipped")
    issues.add(bad_rating, raw["rating"], "rating", "rating is not a whole number 1-5", "skipped")
    dup = _skip_duplicates(ids, ~empty_id, issues, "review_id")
    keep = ~(empty_id | bad_rating | dup)

    out = pd.DataFrame({"review_id": ids, "text": raw["text"].str.strip(), "rating": rating})
    out["title"] = raw["title"].str.strip() if "title" in raw else ""
    if "age" in raw:
        age = _numbers(raw["age"])
        bad_age = (age.isna() | (age % 1 != 0) | (age < _AGE_RANGE[0]) | (age > _AGE_RANGE[1])) & (
            raw["age"] != ""
        )
        issues.add(bad_age & keep, raw["age"], "age", "age is not a whole number 1-120", "blanked")
        out["age"] = age.mask(bad_age).round().astype("Int64")
    else:
        out["age"] = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    for column in ("department", "category", "product_id", "customer_id"):
        out[column] = raw[column].str.strip() if column in raw else ""
    if "recommended" in raw:
        recommended, bad_rec = _flags_01(raw["recommended"])
        issues.add(bad_rec & keep, raw["recommended"], "recommended", "recommended is not 0 or 1", "blanked")
        out["recommended"] = recommended.mask(bad_rec).astype("Int64")
    else:
        out["recommended"] = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    extras = _split_extras(raw, REVIEW_REQUIRED + REVIEW_OPTIONAL)
    for column in extras:
        out[column] = raw[column]

    out = out[keep].reset_index(drop=True)
    if out.empty:
        raise ShopDataError(
            f"{file}: no valid review rows ({len(raw):,} read, all skipped: {issues.explain(np.arange(len(raw)))})"
        )
    out["rating"] = out["rating"].astype("int64")
    report = FileReport(
        file=file,
        rows_read=len(raw),
        rows_loaded=len(out),
        issues=issues.to_list(),
        missing_optional_columns=[c for c in REVIEW_OPTIONAL if c not in raw.columns],
        extra_columns=extras,
    )
    return out, report


# --- campaign history ------------------------------------------------------------------------------


def _unknown_channels_message(ids: Sequence[str], catalog: ChannelCatalog) -> str:
    hints = []
    for channel_id in ids:
        guess = catalog.resolve(channel_id.replace("_", " "))
        hints.append(f"{channel_id!r} (did you mean {guess!r}?)" if guess else repr(channel_id))
    return ", ".join(hints)


def check_campaign_spec(spec: CampaignHistorySpec, catalog: ChannelCatalog, file: str) -> None:
    """Refuse (ShopDataError) a spec whose treatments map to channels the catalog does not have."""
    unknown = sorted({c for c in spec.treatment_channels.values() if c not in catalog})
    if unknown:
        raise ShopDataError(
            f"{file}: campaign_history.treatment_channels names channel(s) not in the catalog: "
            f"{_unknown_channels_message(unknown, catalog)}; known channels: {catalog.ids()}"
        )
    if spec.control in spec.treatment_channels:
        raise ShopDataError(f"{file}: the control label {spec.control!r} must not map to a channel")


def clean_campaign_history(
    raw: pd.DataFrame, spec: CampaignHistorySpec, catalog: ChannelCatalog, source: CsvSource
) -> tuple[pd.DataFrame, FileReport]:
    """Validate raw campaign-history rows and return the canonical frame and its report.

    Returns ``customer_id`` and ``treatment`` as text, ``visit`` (when present) and ``conversion`` as
    0/1 integers, ``revenue`` as float, then the spec's features (numeric where every non-empty value is
    a number, else text) and any other columns. Skips, counting each with its line: an empty or repeated
    ``customer_id``, an empty ``treatment``, a ``visit``/``conversion`` that is not 0/1, a ``revenue``
    that is not a number >= 0. Refuses (ShopDataError): a missing required or feature column; treatments
    without the control label or without any other label; a treatment the spec does not map to a
    channel; a channel not in the catalog; no valid row.
    """
    file = source.label
    require_columns(raw, CAMPAIGN_REQUIRED, file)
    missing_features = [f for f in spec.features if f not in raw.columns]
    if missing_features:
        raise ShopDataError(
            f"{file}: feature column(s) {missing_features} listed in shop.yaml campaign_history.features "
            f"are missing; columns found: {list(raw.columns)}"
        )
    check_campaign_spec(spec, catalog, file)
    issues = _Issues(source)
    ids = raw["customer_id"].str.strip()
    treatment = raw["treatment"].str.strip()
    empty_id = ids == ""
    empty_treatment = treatment == ""
    issues.add(empty_id, ids, "customer_id", "empty customer_id", "skipped")
    issues.add(empty_treatment, treatment, "treatment", "empty treatment", "skipped")
    skip = empty_id | empty_treatment
    outcomes: dict[str, pd.Series] = {}
    for column in ("visit", "conversion"):
        if column not in raw:
            continue
        values = _numbers(raw[column])
        bad = ~values.isin([0, 1])  # empty cells too: an outcome cannot be unknown
        issues.add(bad, raw[column], column, f"{column} is not 0 or 1", "skipped")
        outcomes[column] = values
        skip |= bad
    revenue = _numbers(raw["revenue"])
    bad_revenue = revenue.isna() | (revenue < 0)
    issues.add(bad_revenue, raw["revenue"], "revenue", "revenue is not a number >= 0", "skipped")
    skip |= bad_revenue
    skip |= _skip_duplicates(ids, ~empty_id, issues, "customer_id")

    out = pd.DataFrame({"customer_id": ids, "treatment": treatment})
    for column, values in outcomes.items():
        out[column] = values
    out["revenue"] = revenue.astype("float64")
    warnings: list[str] = []
    extras = _split_extras(raw, CAMPAIGN_REQUIRED + CAMPAIGN_OPTIONAL)
    for column in extras:
        out[column] = _as_numbers_when_all_numeric(raw[column])
    out = out[~skip].reset_index(drop=True)
    if out.empty:
        raise ShopDataError(
            f"{file}: no valid campaign rows ({len(raw):,} read, all skipped: {issues.explain(np.arange(len(raw)))})"
        )
    warnings += _refuse_skips_that_empty_a_group(raw, treatment, outcomes, skip, issues, file)
    for column in outcomes:
        out[column] = out[column].astype("int64")
    for feature in spec.features:
        values = out[feature]
        blank = int(values.isna().sum()) if values.dtype.kind in "if" else int((values == "").sum())
        if blank:
            warnings.append(f"feature {feature!r} is empty for {blank:,} customers")

    labels = set(out["treatment"].unique())
    if spec.control not in labels:
        raise ShopDataError(
            f"{file}: the control label {spec.control!r} (shop.yaml campaign_history.control) is not among "
            f"the treatments found: {sorted(labels)}"
        )
    if len(labels) < 2:
        raise ShopDataError(f"{file}: only the control group {spec.control!r} is present; nothing to compare")
    unmapped = sorted(labels - {spec.control} - set(spec.treatment_channels))
    if unmapped:
        raise ShopDataError(
            f"{file}: treatment(s) {unmapped} have no channel in shop.yaml "
            f"campaign_history.treatment_channels (mapped: {sorted(spec.treatment_channels)})"
        )
    absent = sorted(set(spec.treatment_channels) - labels)
    if absent:
        warnings.append(f"treatment_channels lists treatment(s) with no rows: {absent}")
    if spec.assignment is None:
        warnings.append(
            "shop.yaml campaign_history does not say how treatments were assigned (assignment: randomized | "
            "observational): forecasts treat the history as observational (adjusted for the features, "
            "labelled observational); declare assignment: randomized if it was a random holdout test"
        )
    treatments = [label for label in spec.treatment_channels if label in labels]
    balance = feature_balance(out, spec.control, treatments, spec.features)
    warnings += balance_warnings(balance, spec.control, spec.assignment)
    report = FileReport(
        file=file,
        rows_read=len(raw),
        rows_loaded=len(out),
        issues=issues.to_list(),
        missing_optional_columns=[c for c in CAMPAIGN_OPTIONAL if c not in raw.columns],
        extra_columns=[c for c in extras if c not in spec.features],
        warnings=warnings,
        balance=balance,
    )
    return out, report


def _refuse_skips_that_empty_a_group(
    raw: pd.DataFrame,
    treatment: pd.Series,
    outcomes: Mapping[str, pd.Series],
    skip: pd.Series,
    issues: _Issues,
    file: str,
) -> list[str]:
    """Refuse (ShopDataError, with the reasons) skips that leave a treatment group or the buyers empty.

    A skip rule that happens to hit every row of one treatment (a label typed differently) or every buyer
    (revenue written "$55.50" only where there was a sale) would otherwise load as a valid history with
    the wrong answer. Returns a warning when skips fall on buyers far more often than on other rows.
    """
    kept = ~skip.to_numpy()
    # One pass over the rows, whatever the number of labels (a mis-mapped column may have thousands).
    kept_per_label = pd.Series(kept).groupby(treatment.to_numpy()).sum()
    emptied = [str(label) for label, count in kept_per_label.items() if label and count == 0]
    if emptied:
        in_group = (treatment == emptied[0]).to_numpy()
        raise ShopDataError(
            f"{file}: every row of treatment {emptied[0]!r} ({int(in_group.sum()):,} rows) was skipped, so the "
            f"import would silently drop that group: {issues.explain(np.flatnonzero(in_group))}"
            + (f" (also emptied: {emptied[1:6]})" if len(emptied) > 1 else "")
        )
    conversion = outcomes.get("conversion")
    buyer = pd.to_numeric(raw["revenue"], errors="coerce").fillna(0).to_numpy() > 0
    if conversion is not None:
        buyer = buyer | (conversion == 1).to_numpy()
    if buyer.any() and not (buyer & kept).any():
        raise ShopDataError(
            f"{file}: every buyer ({int(buyer.sum()):,} rows with conversion 1 or revenue > 0) was skipped, so "
            f"the history would show no sales at all: {issues.explain(np.flatnonzero(buyer))}"
        )
    buyers_skipped = float((buyer & ~kept).sum()) / max(int(buyer.sum()), 1)
    others_skipped = float((~buyer & ~kept).sum()) / max(int((~buyer).sum()), 1)
    if buyers_skipped > 0.05 and buyers_skipped > 2 * others_skipped:
        return [
            f"skipped rows fall on buyers: {buyers_skipped:.0%} of buyers against {others_skipped:.0%} of other "
            "rows were skipped, so conversion and revenue are understated; fix the skipped rows"
        ]
    return []


def _as_numbers_when_all_numeric(text: pd.Series) -> pd.Series:
    filled = text != ""
    numbers = pd.to_numeric(text, errors="coerce")
    if filled.any() and numbers[filled].notna().all():
        return numbers
    return text.str.strip()


# --- channel history -------------------------------------------------------------------------------


def clean_channel_history(
    raw: pd.DataFrame, catalog: ChannelCatalog, source: CsvSource
) -> tuple[pd.DataFrame, FileReport]:
    """Validate weekly channel history and return it sorted by ``period``, with its report.

    Returns ``period`` as datetime64, every ``spend_<channel>`` column, ``revenue``, (when present)
    ``conversions`` and every ``control_<name>`` column (holidays, promotions: regressors of the
    response-curve fit) as floats, other columns numeric where possible. Unlike reviews, bad rows are not
    skipped: dropping a week would silently shift every adstock carry-over, so the whole file is refused
    (ShopDataError naming the column and lines) for: a missing ``period``/``revenue`` column; no
    ``spend_`` column; a ``spend_`` column whose channel id is not in the catalog; a period that is not a
    date in the contract's format YYYY-MM-DD (a midnight time is accepted); a repeated period; a spend,
    revenue, conversions or control value that is empty or not a number, a negative spend, revenue or
    conversions. The report's warnings add the sanity checks of ``channel_checks`` (spend in unknown
    units, rows that are not weekly, too few weeks, revenue out of proportion to spend).
    """
    file = source.label
    require_columns(raw, CHANNEL_REQUIRED, file)
    spend_columns = [c for c in raw.columns if c.startswith(SPEND_PREFIX)]
    if not spend_columns:
        raise ShopDataError(
            f"{file}: no spend_<channel> column; expected e.g. spend_email, spend_search; "
            f"columns found: {list(raw.columns)}"
        )
    channel_ids = [c.removeprefix(SPEND_PREFIX) for c in spend_columns]
    unknown = [c for c in channel_ids if c not in catalog]
    if unknown:
        raise ShopDataError(
            f"{file}: spend column(s) for channel(s) not in the catalog: "
            f"{_unknown_channels_message(unknown, catalog)}; known channels: {catalog.ids()}"
        )

    def refuse(mask: pd.Series, column: str, what: str) -> None:
        if mask.any():
            positions = [int(p) for p in np.flatnonzero(mask.to_numpy())]
            values = [raw[column].iat[p] for p in positions[:3]]
            raise ShopDataError(
                f"{file}: column {column!r}: {what} on {len(positions)} row(s), lines "
                f"{_quote_lines(source.lines(positions))} (e.g. {values})"
            )

    text = raw["period"].str.strip()
    # The contract's format is a date; a midnight time (as many exports write dates) is the same date.
    # Anything else (2018-04 for a month, 04/02/2018, week numbers) is refused rather than guessed.
    dated = text.str.fullmatch(_PERIOD_FORMAT)
    period = pd.to_datetime(text.str.slice(0, 10).where(dated), format="%Y-%m-%d", errors="coerce")
    refuse(period.isna(), "period", "not an ISO date (YYYY-MM-DD)")
    refuse(period.duplicated(keep="first"), "period", "repeated period")
    out = pd.DataFrame({"period": period})
    controls = [c for c in raw.columns if c.startswith(CONTROL_PREFIX)]
    numeric = [*spend_columns, "revenue", *[c for c in CHANNEL_OPTIONAL if c in raw.columns]]
    for column in numeric:
        values = _numbers(raw[column])
        refuse(values.isna(), column, "empty or not a number")
        refuse(values < 0, column, "negative")
        out[column] = values.astype("float64")
    for column in controls:
        # Controls (holidays, promotions, price changes) enter the response-curve fit as regressors:
        # a blank week cannot be guessed, so it refuses the file like a blank spend does.
        values = _numbers(raw[column])
        refuse(values.isna(), column, "empty or not a number")
        out[column] = values.astype("float64")
    numeric += controls
    extras = _split_extras(raw, ["period", *numeric])
    for column in extras:
        out[column] = _as_numbers_when_all_numeric(raw[column])
    warnings = []
    if not out["period"].is_monotonic_increasing:
        warnings.append("rows were not in period order; sorted by period")
    out = out.sort_values("period", kind="stable").reset_index(drop=True)
    gaps = sorted({int(d.days) for d in out["period"].diff().dropna()})
    if len(gaps) > 1:
        shown = gaps if len(gaps) <= 8 else [*gaps[:4], "...", *gaps[-2:]]
        warnings.append(f"periods are not evenly spaced (gaps of {shown} days)")
    warnings += channel_history_warnings(out)
    report = FileReport(
        file=file,
        rows_read=len(raw),
        rows_loaded=len(out),
        missing_optional_columns=[c for c in CHANNEL_OPTIONAL if c not in raw.columns],
        extra_columns=extras,
        warnings=warnings,
    )
    return out, report


# --- the folder ------------------------------------------------------------------------------------


def read_shop_config(root: Path) -> tuple[ShopConfig, bytes]:
    """Return the parsed ``shop.yaml`` of ``root`` and its bytes; refuses (ShopDataError) a missing or
    invalid file, naming the field at fault."""
    path = root / SHOP_FILE
    if not path.is_file():
        raise ShopDataError(
            f"{path}: not found; a shop folder needs shop.yaml with at least 'name' and 'currency'"
        )
    data = path.read_bytes()
    try:
        document = yaml.safe_load(data.decode("utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ShopDataError(f"{SHOP_FILE}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ShopDataError(f"{SHOP_FILE}: expected a mapping with 'name' and 'currency'")
    try:
        return ShopConfig.model_validate(document), data
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ShopDataError(f"{SHOP_FILE}: {problems}") from exc


def load_shop_with_report(root: Path) -> tuple[Shop, LoadReport]:
    """Load the shop folder ``root`` and return it with the report of what was skipped or blanked.

    Reads ``shop.yaml`` and ``reviews.csv`` (both required), ``campaign_history.csv`` and
    ``channel_history.csv`` (optional) and ``channels.yaml`` (optional catalog overrides). ``data_hashes``
    holds the sha256 of every file read. Refuses (ShopDataError) a missing folder or required file, a
    file without a required column, an invalid ``shop.yaml`` or ``channels.yaml``, campaign history
    without a ``campaign_history`` section in ``shop.yaml``, and the file-level problems listed on the
    ``clean_*`` functions. Malformed review and campaign rows are skipped and reported, not refused.
    """
    root = Path(root)
    if not root.is_dir():
        raise ShopDataError(f"{root}: shop folder not found")
    config, config_bytes = read_shop_config(root)
    hashes = {SHOP_FILE: hashlib.sha256(config_bytes).hexdigest()}
    try:
        catalog = load_catalog(root)
    except CatalogError as exc:
        raise ShopDataError(str(exc)) from exc
    if (root / CATALOG_FILE).is_file():
        hashes[CATALOG_FILE] = hashlib.sha256((root / CATALOG_FILE).read_bytes()).hexdigest()
    if (root / BRAND_FILE).is_file():
        _check_brand_voice(root, catalog)
        hashes[BRAND_FILE] = hashlib.sha256((root / BRAND_FILE).read_bytes()).hexdigest()
    report = LoadReport(root=str(root))

    if not (root / REVIEWS_FILE).is_file():
        raise ShopDataError(f"{root / REVIEWS_FILE}: not found; every shop needs reviews.csv")
    source = CsvSource.from_path(root / REVIEWS_FILE)
    hashes[REVIEWS_FILE] = source.sha256()
    reviews, report.files[REVIEWS_FILE] = clean_reviews(source.frame(), source)
    report.empty_text_review_ids = reviews.loc[reviews["text"] == "", "review_id"].tolist()

    campaign_history = None
    if (root / CAMPAIGN_FILE).is_file():
        if config.campaign_history is None:
            raise ShopDataError(
                f"{SHOP_FILE}: {CAMPAIGN_FILE} is present but shop.yaml has no 'campaign_history' section "
                "(control label and treatment_channels) to read it with"
            )
        source = CsvSource.from_path(root / CAMPAIGN_FILE)
        hashes[CAMPAIGN_FILE] = source.sha256()
        campaign_history, report.files[CAMPAIGN_FILE] = clean_campaign_history(
            source.frame(), config.campaign_history, catalog, source
        )
    elif config.campaign_history is not None:
        report.warnings.append(f"shop.yaml has a campaign_history section but {CAMPAIGN_FILE} is absent")

    channel_history = None
    if (root / CHANNEL_FILE).is_file():
        source = CsvSource.from_path(root / CHANNEL_FILE)
        hashes[CHANNEL_FILE] = source.sha256()
        channel_history, report.files[CHANNEL_FILE] = clean_channel_history(source.frame(), catalog, source)

    shop = Shop(
        root=root,
        name=config.name,
        currency=config.currency,
        reviews=reviews,
        catalog=catalog,
        campaign_history=campaign_history,
        campaign_spec=config.campaign_history if campaign_history is not None else None,
        channel_history=channel_history,
        data_hashes=hashes,
        data_warnings={name: list(file.warnings) for name, file in report.files.items() if file.warnings},
    )
    return shop, report


def _check_brand_voice(root: Path, catalog: ChannelCatalog) -> None:
    """Refuse a ``brand.yaml`` the copywriter could not use, before any planning starts."""
    from campaign_planner.tools.copy_rules import BrandVoiceError, load_brand_voice

    try:
        brand = load_brand_voice(root)
    except BrandVoiceError as exc:
        raise ShopDataError(str(exc)) from exc
    unknown = [channel for channel in (brand.footer_channels if brand else []) if channel not in catalog]
    if unknown:
        raise ShopDataError(f"{root / BRAND_FILE}: footer_channels names channels not in the catalog: {unknown}")


def load_shop(root: Path) -> Shop:
    """Load the shop folder ``root`` (see ``load_shop_with_report`` for what is read and refused)."""
    return load_shop_with_report(root)[0]


# --- writing a shop folder -------------------------------------------------------------------------


def shop_folder_in_use(dest: Path) -> bool:
    """Return True when ``dest`` exists and is not an empty folder (it must not be silently replaced)."""
    return dest.exists() and (not dest.is_dir() or any(dest.iterdir()))


def commit_shop_folder(dest: Path, files: Mapping[str, bytes], *, overwrite: bool) -> tuple[Shop, LoadReport]:
    """Write ``files`` (name -> bytes) as the shop folder ``dest`` atomically; return it loaded.

    The files go into a temporary sibling folder, which is loaded (so an invalid shop never replaces
    a good one) and then renamed onto ``dest``; an interrupted write leaves ``dest`` as it was. With
    ``overwrite`` an existing ``dest`` is replaced as a whole (every file in it goes). Refuses
    (ShopDataError) a non-empty ``dest`` without ``overwrite``, and anything ``load_shop`` refuses.
    """
    dest = Path(dest)
    if shop_folder_in_use(dest) and not overwrite:
        raise ShopDataError(f"{dest}: already exists and is not empty; pass overwrite=True to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.writing-", dir=dest.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        shop, report = load_shop_with_report(staging)
        _swap_in(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report.root = str(dest)
    return replace(shop, root=dest), report


def _swap_in(staging: Path, dest: Path) -> None:
    if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):
        if dest.exists():
            dest.rmdir()
        os.replace(staging, dest)
        return
    retired = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex[:8]}"
    os.replace(dest, retired)
    try:
        os.replace(staging, dest)
    except BaseException:
        os.replace(retired, dest)
        raise
    if retired.is_dir():
        shutil.rmtree(retired, ignore_errors=True)
    else:
        retired.unlink(missing_ok=True)

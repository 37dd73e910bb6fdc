"""Column maps: how a user's export becomes a canonical shop file, and ``import_shop`` that applies them.

A ``ColumnMap`` says, per file kind (reviews, campaign history, channel history), which source column
becomes which canonical column, plus constants, value recodes and (for campaign history) the control
label and the channel each treatment used. Built-in maps cover the public datasets in
``shared/datasets``; anything else is described by a small YAML file (see docs/data-contract.md).
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from campaign_planner.data.balance import FeatureBalance
from campaign_planner.data.catalog import default_catalog
from campaign_planner.data.order_value import estimate_average_order_value
from campaign_planner.data.shop import (
    CAMPAIGN_FILE,
    CAMPAIGN_OPTIONAL,
    CAMPAIGN_REQUIRED,
    CHANNEL_FILE,
    CHANNEL_OPTIONAL,
    CHANNEL_REQUIRED,
    CONTROL_PREFIX,
    REVIEW_OPTIONAL,
    REVIEW_REQUIRED,
    REVIEWS_FILE,
    SEPARATORS,
    SHOP_FILE,
    SPEND_PREFIX,
    CampaignHistorySpec,
    CsvSource,
    FileReport,
    RowIssue,
    Shop,
    ShopDataError,
    clean_campaign_history,
    clean_channel_history,
    clean_reviews,
    commit_shop_folder,
    shop_folder_in_use,
)

FileKind = Literal["reviews", "campaign_history", "channel_history"]
FILE_KINDS: tuple[FileKind, ...] = ("reviews", "campaign_history", "channel_history")
CANONICAL_FILE: dict[FileKind, str] = {
    "reviews": REVIEWS_FILE,
    "campaign_history": CAMPAIGN_FILE,
    "channel_history": CHANNEL_FILE,
}
REQUIRED: dict[FileKind, tuple[str, ...]] = {
    "reviews": REVIEW_REQUIRED,
    "campaign_history": CAMPAIGN_REQUIRED,
    "channel_history": CHANNEL_REQUIRED,
}
CANONICAL_MAP_NAME = "canonical"
IMPORT_REPORT_FILE = "import_report.json"
_FIRST_LINES = 5  # lines quoted per skip reason in the readable summary
_NAME = re.compile(r"[a-z][a-z0-9_]*")
Scalar = str | int | float


class ColumnMapError(ShopDataError):
    """A column map that is not valid: unknown target columns, missing required ones, bad YAML."""


class FileMap(BaseModel):
    """How one export file becomes one canonical file.

    ``columns``: source column -> canonical column (a source column with an empty header is ``""``).
    ``row_number_as``: a canonical column filled with each row's 0-based position, as text (for exports
    without an id column). ``constants``: canonical column -> one value for every row. ``recode``:
    canonical column -> {value in the export: canonical value}; values not listed pass unchanged.
    ``separator``: the export's field separator (``,`` ``;`` tab ``|``, or their names comma, semicolon,
    tab, pipe); left out, it is sniffed from the header. ``encoding``: the export's text encoding (a
    Python codec name such as ``cp1252``, ``utf-16``, ``gb18030``); left out, it is detected.
    """

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(min_length=1)
    row_number_as: str | None = None
    constants: dict[str, Scalar] = Field(default_factory=dict)
    recode: dict[str, dict[str, Scalar]] = Field(default_factory=dict)
    separator: str | None = None
    encoding: str | None = None

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            codecs.lookup(value)
        except LookupError as exc:
            raise ValueError(f"encoding {value!r} is not a known text encoding (e.g. utf-8, cp1252)") from exc
        return value

    @field_validator("separator")
    @classmethod
    def _known_separator(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = {name: char for char, name in SEPARATORS.items()}
        if value in SEPARATORS:
            return value
        if value.lower() in names:
            return names[value.lower()]
        raise ValueError(f"separator {value!r} is not one of {sorted(names)} or {list(SEPARATORS)}")

    def targets(self) -> list[str]:
        """Return every canonical column this map produces, in order."""
        produced = list(self.columns.values()) + list(self.constants)
        return produced + ([self.row_number_as] if self.row_number_as else [])


class CampaignMap(FileMap):
    """A campaign-history file map, with what ``shop.yaml`` needs to read it.

    Every mapped column other than the id, treatment and outcomes becomes a feature. ``control`` and
    ``treatment_channels`` may be left out of a map only when ``import_shop`` gets them as
    ``campaign_spec``.
    """

    control: str | None = Field(default=None, min_length=1)
    treatment_channels: dict[str, str] = Field(default_factory=dict)
    average_order_value: float | None = Field(default=None, gt=0)
    assignment: Literal["randomized", "observational"] | None = None

    def features(self) -> list[str]:
        """Return the mapped feature columns (everything but id, treatment and outcomes)."""
        core = set(CAMPAIGN_REQUIRED + CAMPAIGN_OPTIONAL)
        return [c for c in self.targets() if c not in core]


class ColumnMap(BaseModel):
    """A named set of file maps; at least one file kind must be present."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    reviews: FileMap | None = None
    campaign_history: CampaignMap | None = None
    channel_history: FileMap | None = None

    @model_validator(mode="after")
    def _check_targets(self) -> ColumnMap:
        present = [kind for kind in FILE_KINDS if self.section(kind) is not None]
        if not present:
            raise ValueError("a column map needs at least one of: reviews, campaign_history, channel_history")
        for kind in present:
            _check_section(kind, self.section(kind))  # type: ignore[arg-type]
        return self

    def section(self, kind: FileKind) -> FileMap | None:
        """Return the map for ``kind``, or None when this map does not cover it."""
        return getattr(self, kind)

    def fits(self, kind: FileKind, header: list[str]) -> bool:
        """Return True when this map covers ``kind`` and every source column it names is in ``header``."""
        section = self.section(kind)
        return section is not None and set(section.columns) <= set(header)


def _check_section(kind: FileKind, section: FileMap) -> None:
    targets = section.targets()
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        raise ValueError(f"{kind}: canonical column(s) produced twice: {repeated}")
    for target in targets:
        if not _NAME.fullmatch(target):
            raise ValueError(f"{kind}: canonical column {target!r} must be lowercase letters, digits, '_'")
    if kind == "reviews":
        unknown = [t for t in targets if t not in REVIEW_REQUIRED + REVIEW_OPTIONAL]
        if unknown:
            raise ValueError(
                f"reviews: {unknown} are not review columns; "
                f"allowed: {list(REVIEW_REQUIRED + REVIEW_OPTIONAL)}"
            )
    if kind == "channel_history":
        allowed = set(CHANNEL_REQUIRED + CHANNEL_OPTIONAL)
        unknown = [
            t for t in targets if t not in allowed and not t.startswith((SPEND_PREFIX, CONTROL_PREFIX))
        ]
        if unknown:
            raise ValueError(
                f"channel_history: {unknown} are not channel-history columns; allowed: period, revenue, "
                "conversions, spend_<channel_id>, control_<name>"
            )
        if not any(t.startswith(SPEND_PREFIX) for t in targets):
            raise ValueError("channel_history: map at least one column to spend_<channel_id>")
    missing = [c for c in REQUIRED[kind] if c not in targets]
    if missing:
        raise ValueError(f"{kind}: no column is mapped to the required canonical column(s) {missing}")
    stray = [c for c in section.recode if c not in targets]
    if stray:
        raise ValueError(f"{kind}: recode names column(s) {stray} that the map does not produce")


# --- built-in maps ---------------------------------------------------------------------------------

_CLOTHING_REVIEWS = ColumnMap(
    name="clothing_reviews",
    description="Women's E-Commerce Clothing Reviews (Kaggle, 2018): 23,486 real, anonymised reviews.",
    reviews=FileMap(
        columns={
            # The unnamed first column is the dataset's row index; the project uses it as the review id.
            "": "review_id",
            "Review Text": "text",
            "Title": "title",
            "Rating": "rating",
            "Age": "age",
            "Department Name": "department",
            "Class Name": "category",
            "Clothing ID": "product_id",
            "Recommended IND": "recommended",
        }
    ),
)

_HILLSTROM = ColumnMap(
    name="hillstrom",
    description="Hillstrom MineThatData e-mail experiment (2008): 64,000 customers, randomised.",
    campaign_history=CampaignMap(
        columns={
            "segment": "treatment",
            "visit": "visit",
            "conversion": "conversion",
            "spend": "revenue",
            "recency": "recency",
            "history": "history",
            "history_segment": "history_segment",
            "mens": "mens",
            "womens": "womens",
            "newbie": "newbie",
            "zip_code": "zip_code",
            # Hillstrom's "channel" is where the customer bought last year (Web, Phone, Multichannel): a
            # customer feature, not the marketing channel of the treatment, hence the different name.
            "channel": "purchase_channel",
        },
        # The file has no customer id; the row position is stable and unique.
        row_number_as="customer_id",
        # The published file spells one zip_code category "Surburban"; fix the label, not the data.
        recode={"zip_code": {"Surburban": "Suburban"}},
        control="No E-Mail",
        treatment_channels={"Mens E-Mail": "email", "Womens E-Mail": "email"},
        # Hillstrom's customers were assigned to the three arms at random (a third each).
        assignment="randomized",
    ),
)

_PYMC_MMM = ColumnMap(
    name="pymc_mmm",
    description="PyMC-Marketing MMM example (simulated, known truth): 179 weeks, two channels.",
    channel_history=FileMap(
        columns={
            "date_week": "period",
            "y": "revenue",
            # x1 and x2 are unnamed channels in the source (spend scaled to 0-1, not currency). They are
            # mapped to two catalog ids so the example can be planned against; the import warns that
            # their spend is scaled, and no curve is fitted from it. event_1/2 are the example's two
            # one-week events: controls of the response-curve fit. dayofyear and t are left out (the
            # fit models trend and seasonality itself).
            "x1": "spend_display",
            "x2": "spend_search",
            "event_1": "control_event_1",
            "event_2": "control_event_2",
        }
    ),
)

_ROBYN = ColumnMap(
    name="robyn",
    description="Meta Robyn simulated weekly MMM data (dt_simulated_weekly): 208 weeks, five paid media.",
    channel_history=FileMap(
        columns={
            "DATE": "period",
            "revenue": "revenue",
            "tv_S": "spend_tv",
            "ooh_S": "spend_ooh",
            "print_S": "spend_print",
            "facebook_S": "spend_facebook",
            "search_S": "spend_search",
            # Left out: facebook_I and search_clicks_P are exposure (impressions, clicks), not spend;
            # newsletter is an organic (unpaid) variable in Robyn's demo; competitor_sales_B is context;
            # events is a holiday label.
        }
    ),
)

BUILTIN_MAPS: dict[str, ColumnMap] = {m.name: m for m in (_CLOTHING_REVIEWS, _HILLSTROM, _PYMC_MMM, _ROBYN)}


def builtin_map(name: str) -> ColumnMap:
    """Return the built-in map called ``name``; refuses (ColumnMapError) an unknown name."""
    try:
        return BUILTIN_MAPS[name]
    except KeyError:
        known = sorted(BUILTIN_MAPS)
        raise ColumnMapError(f"no built-in column map {name!r}; built-in maps: {known}") from None


def read_map_document(path: Path, error: type[ShopDataError], sections: str) -> dict[str, Any]:
    """Return the YAML mapping in ``path``, its ``name`` defaulting to the file stem; refuses (``error``) a
    file that cannot be read, invalid YAML and a document that is not a mapping (naming ``sections``)."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read column map: {exc}") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise error(f"{path}: expected a mapping with {sections}")
    document.setdefault("name", path.stem)
    return document


def load_column_map(path: Path) -> ColumnMap:
    """Return the column map described by the YAML file ``path`` (its ``name`` defaults to the file stem).

    Refuses (ColumnMapError) a missing file, invalid YAML, unknown keys, unknown or repeated canonical
    columns and maps that do not produce a required column.
    """
    path = Path(path)
    document = read_map_document(path, ColumnMapError, "reviews / campaign_history / channel_history")
    try:
        return ColumnMap.model_validate(document)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'map'}: {err['msg']}" for err in exc.errors()
        )
        raise ColumnMapError(f"{path}: {problems}") from exc


def resolve_column_map(column_map: str | Path | ColumnMap | None) -> ColumnMap | None:
    """Return the map meant by a built-in name, a YAML path or a ``ColumnMap`` (None stays None).

    Refuses (ColumnMapError) a string that is neither a built-in name nor an existing file.
    """
    if column_map is None or isinstance(column_map, ColumnMap):
        return column_map
    if isinstance(column_map, str) and column_map in BUILTIN_MAPS:
        return BUILTIN_MAPS[column_map]
    path = Path(column_map)
    if not path.is_file():
        raise ColumnMapError(
            f"column map {str(column_map)!r} is neither a built-in map ({sorted(BUILTIN_MAPS)}) nor a file"
        )
    return load_column_map(path)


def canonical_map(kind: FileKind, header: list[str]) -> ColumnMap | None:
    """Return the identity map when ``header`` already has ``kind``'s required canonical columns."""
    if not set(REQUIRED[kind]) <= set(header):
        return None
    if kind == "reviews":
        keep = [c for c in header if c in REVIEW_REQUIRED + REVIEW_OPTIONAL]
    elif kind == "channel_history":
        keep = [
            c
            for c in header
            if c in CHANNEL_REQUIRED + CHANNEL_OPTIONAL or c.startswith((SPEND_PREFIX, CONTROL_PREFIX))
        ]
        if not any(c.startswith(SPEND_PREFIX) for c in keep):
            return None
    else:
        keep = [c for c in header if _NAME.fullmatch(c)]
    # A canonical campaign file does not say its control label or channels: import_shop takes them
    # as campaign_spec.
    section_type = CampaignMap if kind == "campaign_history" else FileMap
    return ColumnMap(name=CANONICAL_MAP_NAME, **{kind: section_type(columns={c: c for c in keep})})


def detect_column_map(kind: FileKind, header: list[str], label: str = "file") -> ColumnMap:
    """Return the map that fits ``header``: canonical columns first, then the built-in maps.

    Refuses (ShopDataError) a header that no map fits, naming the columns each map expects and the
    columns found, and a header that two built-in maps fit equally well.
    """
    identity = canonical_map(kind, header)
    if identity is not None:
        return identity
    fitting = [m for m in BUILTIN_MAPS.values() if m.fits(kind, header)]
    if len(fitting) > 1:
        sizes = sorted((len(m.section(kind).columns), m.name) for m in fitting)  # type: ignore[union-attr]
        if sizes[-1][0] == sizes[-2][0]:
            names = [n for _, n in sizes]
            raise ShopDataError(f"{label}: columns fit several built-in maps {names}; name one")
        return BUILTIN_MAPS[sizes[-1][1]]
    if fitting:
        return fitting[0]
    expected = {
        m.name: sorted(m.section(kind).columns)  # type: ignore[union-attr]
        for m in BUILTIN_MAPS.values()
        if m.section(kind) is not None
    }
    raise ShopDataError(
        f"{label}: its columns match no column map for {kind}. Expected the canonical columns "
        f"{list(REQUIRED[kind])}" + (" and spend_<channel>" if kind == "channel_history" else "")
        + f", or those of a built-in map {expected}; columns found: {header}. "
        "Write a YAML column map (docs/data-contract.md) and pass it as column_map."
    )


def apply_file_map(raw: pd.DataFrame, section: FileMap, label: str) -> tuple[pd.DataFrame, list[str]]:
    """Return ``raw`` (all text) with canonical columns, and the source columns left out.

    Refuses (ShopDataError) an export lacking a source column the map names.
    """
    missing = [c for c in section.columns if c not in raw.columns]
    if missing:
        raise ShopDataError(
            f"{label}: column(s) {missing} named by the column map are missing; columns found: "
            f"{list(raw.columns)}"
        )
    out = raw[list(section.columns)].rename(columns=section.columns)
    for column, value in section.constants.items():
        out[column] = str(value)
    if section.row_number_as:
        out[section.row_number_as] = pd.RangeIndex(len(raw)).astype(str)
    for column, recode in section.recode.items():
        out[column] = out[column].replace({str(k): str(v) for k, v in recode.items()})
    dropped = [c for c in raw.columns if c not in section.columns]
    return out, dropped


# --- import ----------------------------------------------------------------------------------------


class ImportFileReport(BaseModel):
    """What importing one export did: the map used, rows read, written and skipped (with lines)."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(description="Canonical file written, e.g. reviews.csv.")
    source: str
    column_map: str
    detected: bool = Field(description="True when the map was chosen by the export's header.")
    rows_read: int
    rows_written: int
    issues: list[RowIssue] = Field(default_factory=list)
    dropped_columns: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    separator: str = Field(default="comma", description="The export's field separator, as read.")
    encoding: str = Field(default="utf-8", description="The export's text encoding, as read (detected or declared).")
    balance: list[FeatureBalance] = Field(default_factory=list)

    @property
    def rows_skipped(self) -> int:
        """Return how many source rows were not written."""
        return self.rows_read - self.rows_written

    def reasons(self) -> dict[str, int]:
        """Return how many rows each kind of skip or blanking affected."""
        return {reason: len(lines) for reason, lines in self.reason_lines().items()}

    def reason_lines(self) -> dict[str, list[int]]:
        """Return, per kind of skip or blanking (most frequent first), the export lines it affected."""
        lines: dict[str, list[int]] = {}
        for issue in self.issues:
            lines.setdefault(f"{issue.action}: {issue.reason}", []).append(issue.line)
        return dict(sorted(lines.items(), key=lambda item: -len(item[1])))


class ImportReport(BaseModel):
    """What ``import_shop`` wrote into ``dest``."""

    model_config = ConfigDict(extra="forbid")

    dest: str
    files: dict[str, ImportFileReport] = Field(default_factory=dict)
    empty_text_reviews: int = 0
    average_order_value: float | None = None
    #: ``declared`` (the map or ``campaign_spec`` gave it) or ``estimated`` (from the converters), when set.
    average_order_value_source: Literal["declared", "estimated"] | None = None
    average_order_value_converters: int | None = None
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        """Return a readable account of the import: per file the map, rows read/written/skipped, each
        reason with its count and first lines, the columns left out and the warnings."""
        lines = [f"imported into {self.dest}"]
        for report in self.files.values():
            text = (
                f"{report.file} <- {report.source} (map {report.column_map}"
                f"{', detected' if report.detected else ''}, {report.encoding}, {report.separator}-separated): "
                f"{report.rows_read:,} read, "
                f"{report.rows_written:,} written, {report.rows_skipped:,} skipped"
            )
            lines.append(text)
            for reason, where in report.reason_lines().items():
                first = ", ".join(str(n) for n in where[:_FIRST_LINES])
                more = ", ..." if len(where) > _FIRST_LINES else ""
                lines.append(f"  {len(where):,} x {reason} (lines {first}{more})")
            if report.dropped_columns:
                lines.append(f"  columns left out: {', '.join(repr(c) for c in report.dropped_columns)}")
            lines.extend(f"  warning: {w}" for w in report.warnings)
        if self.empty_text_reviews:
            lines.append(f"{self.empty_text_reviews:,} reviews have no text (kept, not indexed)")
        if self.average_order_value is not None:
            how = (f"estimated from {self.average_order_value_converters:,} converters, marked estimated in shop.yaml"
                   if self.average_order_value_source == "estimated" else "declared")
            lines.append(f"average order value {self.average_order_value:,.2f} ({how})")
        lines.extend(f"warning: {w}" for w in self.warnings)
        lines.append(f"full report: {Path(self.dest) / IMPORT_REPORT_FILE}")
        return "\n".join(lines)


def _choose_map(
    kind: FileKind, header: list[str], explicit: ColumnMap | None, label: str
) -> tuple[ColumnMap, bool]:
    if explicit is not None and explicit.section(kind) is not None:
        return explicit, False
    return detect_column_map(kind, header, label), True


def _campaign_spec(
    chosen: ColumnMap, override: CampaignHistorySpec | None, label: str
) -> CampaignHistorySpec:
    section = chosen.campaign_history
    if override is not None:
        features = override.features or (section.features() if section else [])
        assignment = override.assignment or (section.assignment if section else None)
        return override.model_copy(update={"features": features, "assignment": assignment})
    if section is None or section.control is None or not section.treatment_channels:
        raise ShopDataError(
            f"{label}: campaign history needs a control label and treatment_channels: use a column map "
            "with them or pass campaign_spec=CampaignHistorySpec(...)"
        )
    return CampaignHistorySpec(
        control=section.control,
        treatment_channels=dict(section.treatment_channels),
        features=section.features(),
        average_order_value=section.average_order_value,
        assignment=section.assignment,
    )


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def import_shop(
    dest: Path,
    *,
    reviews: Path | None,
    campaigns: Path | None = None,
    channels: Path | None = None,
    column_map: str | Path | ColumnMap | None = None,
    name: str | None = None,
    currency: str = "USD",
    overwrite: bool = False,
    campaign_spec: CampaignHistorySpec | None = None,
) -> tuple[Shop, ImportReport]:
    """Import exports (``.csv`` or ``.csv.gz``) as the canonical shop folder ``dest``; return it loaded.

    Each export is mapped by ``column_map`` (a built-in name, a YAML path or a ``ColumnMap``) where that
    map covers its kind, else by the map its header fits (canonical columns, then the built-in maps).
    Rows are validated exactly as ``load_shop`` does: malformed rows are skipped and reported with their
    source line. Campaign history takes its control label and channels from the map or from
    ``campaign_spec``; a missing average order value is estimated from the rows (the mean revenue of at least
    ``order_value.MIN_CONVERTERS`` converters, as the forecaster estimates it) and marked estimated in
    ``shop.yaml``; with fewer converters it is left unset, with a warning.
    The folder is written atomically (see ``commit_shop_folder``). Refuses (ShopDataError): a non-empty
    ``dest`` without ``overwrite``; no reviews; a currency that is not three capital letters; an export
    no map fits; an invalid map; anything the shop loader refuses.
    """
    dest = Path(dest)
    if shop_folder_in_use(dest) and not overwrite:
        raise ShopDataError(f"{dest}: already exists and is not empty; pass overwrite=True to replace it")
    if reviews is None:
        raise ShopDataError("import_shop: a shop needs reviews (reviews=...)")
    if not re.fullmatch(r"[A-Z]{3}", currency):
        raise ShopDataError(f"import_shop: currency {currency!r} is not an ISO 4217 code like USD")
    explicit = resolve_column_map(column_map)
    catalog = default_catalog()
    files: dict[str, bytes] = {}
    reports: dict[str, ImportFileReport] = {}
    config: dict[str, object] = {"name": name or dest.name, "currency": currency}
    report = ImportReport(dest=str(dest))

    for kind, path in (("reviews", reviews), ("campaign_history", campaigns), ("channel_history", channels)):
        if path is None:
            continue
        source = CsvSource.from_path(Path(path))
        declared = explicit.section(kind) if explicit is not None else None  # type: ignore[arg-type]
        raw = source.frame(
            declared.separator if declared is not None else None,
            declared.encoding if declared is not None else None,
        )
        chosen, detected = _choose_map(kind, list(raw.columns), explicit, source.label)  # type: ignore[arg-type]
        mapped, dropped = apply_file_map(raw, chosen.section(kind), source.label)  # type: ignore[arg-type]
        file_report: FileReport
        if kind == "reviews":
            frame, file_report = clean_reviews(mapped, source)
            report.empty_text_reviews = int((frame["text"] == "").sum())
        elif kind == "campaign_history":
            spec = _campaign_spec(chosen, campaign_spec, source.label)
            frame, file_report = clean_campaign_history(mapped, spec, catalog, source)
            if spec.average_order_value is None:
                spec = spec.model_copy(update=_estimated_order_value(frame, report))
            report.average_order_value = spec.average_order_value
            if spec.average_order_value is not None:
                report.average_order_value_source = spec.average_order_value_source or "declared"
                report.average_order_value_converters = spec.average_order_value_converters
            config["campaign_history"] = spec.model_dump(exclude_none=True)
        else:
            frame, file_report = clean_channel_history(mapped, catalog, source)
        target = CANONICAL_FILE[kind]  # type: ignore[index]
        files[target] = _csv_bytes(frame)
        reports[target] = ImportFileReport(
            file=target,
            source=str(path),
            column_map=chosen.name,
            detected=detected,
            separator=SEPARATORS.get(source.separator, source.separator),
            encoding=source.encoding,
            rows_read=file_report.rows_read,
            rows_written=file_report.rows_loaded,
            issues=file_report.issues,
            dropped_columns=dropped,
            warnings=file_report.warnings,
            balance=file_report.balance,
        )
    files[SHOP_FILE] = yaml.safe_dump(config, sort_keys=False, allow_unicode=True).encode("utf-8")
    report.files = reports
    # The full report travels inside the new folder, so it is swapped in with the shop it describes.
    files[IMPORT_REPORT_FILE] = report.model_dump_json(indent=2).encode("utf-8")
    shop, load_report = commit_shop_folder(dest, files, overwrite=overwrite)
    rewritten = False
    for target, file_report in reports.items():
        # What the written folder really holds, should the reload ever disagree with the import.
        if file_report.rows_written != load_report.files[target].rows_loaded:
            file_report.rows_written = load_report.files[target].rows_loaded
            rewritten = True
    if rewritten:
        (dest / IMPORT_REPORT_FILE).write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return shop, report


def _estimated_order_value(frame: pd.DataFrame, report: ImportReport) -> dict[str, object]:
    """Return the ``shop.yaml`` fields of the AOV estimated from ``frame`` (``data/order_value.py``, the
    forecaster's definition), marked estimated with its converter count; none below the threshold."""
    estimate = estimate_average_order_value(frame)
    if estimate.value is None:
        report.warnings.append(
            f"average_order_value left unset: {estimate.source.removeprefix('unknown (').removesuffix(')')}; "
            "declare campaign_history.average_order_value in shop.yaml if you know it"
        )
        return {}
    return {"average_order_value": round(estimate.value, 2), "average_order_value_source": "estimated",
            "average_order_value_converters": estimate.converters}

"""Behavioural audiences: "lapsed customers, no purchase in 9+ months", "existing customers who bought
outerwear", "our top customers", "new customers", "沉睡客户", "老客户".

:func:`find_behaviour` reads them from a brief into :class:`~campaign_planner.domain.BehaviourFilter`s;
:func:`behaviour_mask` turns them into a filter over the shop's campaign history, using the features the
shop has (months or days since the last purchase, orders or spend last year, tenure or a new-customer
flag, the departments bought from), and names each filter the shop has no feature for, so the plan can
flag it instead of silently forecasting for everyone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from campaign_planner.domain import BehaviourFilter, Flag, FlagCode
from campaign_planner.intake.departments import find_departments

# Share of customers "top customers" means when the brief gives none: the top fifth by past value.
TOP_CUSTOMER_SHARE = 0.2
# "lapsed" with no period given: no purchase for six months or more (an assumption the plan states).
DEFAULT_LAPSED_MONTHS = 6.0
DAYS_PER_MONTH = 30.44

_PERIOD = r"(?P<n>\d+(?:\.\d+)?)\s*(?P<plus>\+)?\s*(?P<unit>months?|mos?|weeks?|days?|years?|个月|周|天|年)"
_UNIT_MONTHS = {"month": 1.0, "mo": 1.0, "个月": 1.0, "week": 7 / DAYS_PER_MONTH, "周": 7 / DAYS_PER_MONTH,
                "day": 1 / DAYS_PER_MONTH, "天": 1 / DAYS_PER_MONTH, "year": 12.0, "年": 12.0}

_LAPSED_PERIOD = re.compile(
    r"(?:no (?:purchases?|orders?)|(?:have|has)n[o']t (?:bought|purchased|ordered|shopped)(?: anything)?|"
    r"not (?:bought|purchased|ordered|shopped)(?: anything)?|inactive|lapsed|dormant)\s+(?:for|in|since)?\s*"
    r"(?:the\s+)?(?:last\s+|past\s+)?(?:over\s+|more than\s+)?" + _PERIOD, re.IGNORECASE)
_LAPSED_ZH = re.compile(
    r"(?:超过)?(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>个月|周|天|年)(?:以上|多)?(?:没有|未|没)(?:购买|下单|消费|买)")
_LAPSED_WORD = re.compile(r"\b(?:lapsed|dormant|inactive|churned|haven't bought|no longer buy)\b|沉睡|流失",
                          re.IGNORECASE)
_RECENT = re.compile(
    r"(?:bought|purchased|ordered|shopped|active)\s+(?:\w+\s+){0,3}?(?:in|within)\s+(?:the\s+)?(?:last|past)\s+"
    + _PERIOD + r"|(?:最近|近)(?P<n2>\d+)\s*(?P<unit2>个月|周|天|年)(?:内)?(?:有)?(?:购买|下单|消费)",
    re.IGNORECASE)
_TOP = re.compile(r"\b(?:top|best|most valuable|highest[- ]value|high[- ]value|vip|loyal(?:est)?|big[- ]spending|"
                  r"biggest)\s+(?:\d+%\s+(?:of\s+)?(?:our\s+)?)?(?:customers|clients|buyers|shoppers|spenders)\b|"
                  r"\bvips?\b|高价值(?:客户|用户|顾客)|VIP|忠实(?:客户|用户|顾客)|头部客户|核心客户",
                  re.IGNORECASE)
_TOP_SHARE = re.compile(r"\btop\s+(?P<p>\d{1,2})\s*%", re.IGNORECASE)
_FREQUENT = re.compile(r"\b(?:frequent|repeat|regular)\s+(?:customers|buyers|shoppers|purchasers)\b|复购|回头客",
                       re.IGNORECASE)
_NEW = re.compile(r"\b(?:new|first[- ]time|recently acquired)\s+(?:customers|buyers|shoppers|clients)\b|新客户|新客|"
                  r"新用户|首购", re.IGNORECASE)
_EXISTING = re.compile(r"\b(?:existing|current|returning|past|previous|our own)\s+(?:customers|buyers|clients|"
                       r"shoppers)\b|老客户|老客|老用户|现有客户|已有客户", re.IGNORECASE)
_BOUGHT = re.compile(r"\b(?:who|that)\s+(?:have\s+)?(?:bought|purchased|ordered)\s+(?P<what>[a-z' \-]{3,40})|"
                     r"(?:买过|购买过)(?P<zh>[\u4e00-\u9fff]{1,6})", re.IGNORECASE)
_MENS = re.compile(r"\b(?:men'?s|menswear|mens)\b", re.IGNORECASE)
_WOMENS = re.compile(r"\b(?:women'?s|womenswear|womens)\b", re.IGNORECASE)


def _months(number: str, unit: str) -> float:
    key = unit.lower().rstrip("s") if unit.isascii() else unit
    return float(number) * _UNIT_MONTHS.get(key, 1.0)


def find_behaviour(text: str, departments_named: Sequence[str] = ()) -> list[BehaviourFilter]:
    """Return the behavioural audience filters ``text`` (a brief's reading form) states.

    Kinds: ``recency_min_months`` (no purchase for at least N months: lapsed), ``recency_max_months``
    (bought within the last N months), ``top_customers`` (value = the share, 0.2 unless "top 10%"),
    ``frequent``, ``new_customers``, ``existing_customers`` and ``past_department`` (value = a
    department, or "Men"/"Women"). ``departments_named`` are the catalogue departments the brief names,
    used for "customers who bought outerwear". Refuses nothing.
    """
    found: list[BehaviourFilter] = []

    def add(kind: str, value: float | str | None, phrase: str) -> None:
        if not any(f.kind == kind and f.value == value for f in found):
            found.append(BehaviourFilter(kind=kind, value=value, text=phrase.strip()))  # type: ignore[arg-type]

    lapsed = _LAPSED_PERIOD.search(text) or _LAPSED_ZH.search(text)
    if lapsed:
        add("recency_min_months", round(_months(lapsed.group("n"), lapsed.group("unit")), 2), lapsed.group(0))
    elif _LAPSED_WORD.search(text):
        match = _LAPSED_WORD.search(text)
        assert match is not None
        add("recency_min_months", DEFAULT_LAPSED_MONTHS, match.group(0))
    recent = _RECENT.search(text)
    if recent:
        number = recent.group("n") or recent.group("n2")
        unit = recent.group("unit") or recent.group("unit2")
        add("recency_max_months", round(_months(number, unit), 2), recent.group(0))
    top = _TOP.search(text)
    if top:
        share = _TOP_SHARE.search(text)
        add("top_customers", float(share.group("p")) / 100 if share else TOP_CUSTOMER_SHARE, top.group(0))
    if _FREQUENT.search(text):
        match = _FREQUENT.search(text)
        assert match is not None
        add("frequent", 2.0, match.group(0))
    new = _NEW.search(text)
    if new and not re.search(r"\b(?:acquire|acquisition|win|attract|bring in|reach|find|get)\s+(?:\w+\s+)?new\b|拉新",
                             text[max(0, new.start() - 20):new.end()], re.IGNORECASE):
        add("new_customers", None, new.group(0))
    existing = _EXISTING.search(text)
    if existing:
        add("existing_customers", None, existing.group(0))
    for bought in _BOUGHT.finditer(text):
        what = bought.group("what") or bought.group("zh") or ""
        if _MENS.search(what):
            add("past_department", "Men", bought.group(0))
        elif _WOMENS.search(what):
            add("past_department", "Women", bought.group(0))
        else:
            for department in find_departments(what) or []:
                add("past_department", department, bought.group(0))
    return found


@dataclass
class BehaviourSelection:
    """Which history customers the behavioural filters keep, and what could not be applied."""

    mask: np.ndarray
    applied: list[str] = field(default_factory=list)
    unsupported: list[BehaviourFilter] = field(default_factory=list)


def _recency_months(history: pd.DataFrame, features: set[str]) -> pd.Series | None:
    if "recency_days" in features:
        return pd.to_numeric(history["recency_days"], errors="coerce") / DAYS_PER_MONTH
    if "recency_months" in features:
        return pd.to_numeric(history["recency_months"], errors="coerce")
    if "recency" in features:
        # Hillstrom's recency (and the convention the import maps follow): months since the last purchase.
        return pd.to_numeric(history["recency"], errors="coerce")
    return None


def _value_column(features: set[str]) -> str | None:
    return next((c for c in ("history", "spend_last_year", "orders_last_year", "frequency") if c in features), None)


def behaviour_mask(history: pd.DataFrame, filters: Sequence[BehaviourFilter],
                   features: Sequence[str]) -> BehaviourSelection:
    """Return the campaign-history customers every filter of ``filters`` keeps.

    Uses only the shop's listed ``features``: recency (``recency_days``, ``recency_months`` or ``recency``
    in months), value (``history`` spend, ``orders_last_year``), tenure (``newbie`` flag or
    ``tenure_months``), departments (``department``, or Hillstrom's ``mens``/``womens`` flags). A filter
    with no matching feature keeps everyone and is returned in ``unsupported``; "existing customers" keeps
    everyone (every customer in a campaign history has bought before).
    """
    feature_set = set(features)
    mask = np.ones(len(history), dtype=bool)
    selection = BehaviourSelection(mask=mask)
    for item in filters:
        keep: np.ndarray | None = None
        if item.kind in ("recency_min_months", "recency_max_months"):
            months = _recency_months(history, feature_set)
            if months is not None and item.value is not None:
                bound = float(item.value)
                values = months.to_numpy(dtype=float, na_value=np.nan)
                keep = values >= bound if item.kind == "recency_min_months" else values <= bound
                selection.applied.append(f"months since last purchase {'>=' if 'min' in item.kind else '<='} "
                                         f"{bound:g}")
        elif item.kind in ("top_customers", "frequent"):
            column = _value_column(feature_set) if item.kind == "top_customers" else next(
                (c for c in ("orders_last_year", "frequency") if c in feature_set), None)
            if column is not None:
                values = pd.to_numeric(history[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
                if item.kind == "top_customers":
                    cut = float(np.nanquantile(values, 1 - float(item.value or TOP_CUSTOMER_SHARE)))
                    keep = values >= cut
                    selection.applied.append(f"{column} >= {cut:g} (top {float(item.value or 0.2):.0%})")
                else:
                    keep = values >= float(item.value or 2)
                    selection.applied.append(f"{column} >= {float(item.value or 2):g}")
        elif item.kind in ("new_customers",):
            if "newbie" in feature_set:
                keep = pd.to_numeric(history["newbie"], errors="coerce").to_numpy(dtype=float, na_value=0) == 1
                selection.applied.append("newbie = 1")
            elif "tenure_months" in feature_set:
                keep = pd.to_numeric(history["tenure_months"], errors="coerce").to_numpy(dtype=float) <= 12
                selection.applied.append("tenure_months <= 12")
        elif item.kind == "existing_customers":
            keep = np.ones(len(history), dtype=bool)
            selection.applied.append("existing customers (everyone in the campaign history)")
        elif item.kind == "past_department":
            value = str(item.value)
            flag_column = {"Men": "mens", "Women": "womens"}.get(value)
            if flag_column and flag_column in feature_set:
                keep = pd.to_numeric(history[flag_column], errors="coerce").to_numpy(dtype=float, na_value=0) == 1
                selection.applied.append(f"{flag_column} = 1")
            elif "department" in feature_set and not flag_column:
                keep = history["department"].astype(str).str.casefold().to_numpy() == value.casefold()
                selection.applied.append(f"department = {value}")
        if keep is None:
            selection.unsupported.append(item)
            continue
        mask &= keep
    selection.mask = mask
    return selection


def describe_unsupported(item: BehaviourFilter) -> str:
    """Return a sentence saying that the shop's history cannot select ``item``'s audience."""
    return (f"The brief's audience “{item.text}” ({item.kind.replace('_', ' ')}) needs a campaign-history "
            "feature this shop does not have; the forecast covers all history customers for it.")


def unsupported_audience_flags(behaviour: Sequence[BehaviourFilter],
                               selection: BehaviourSelection | None) -> list[Flag]:
    """Return an ``unsupported_audience`` flag for each behavioural filter the forecast could not apply
    (all of them where the shop has no campaign history: ``selection`` None)."""
    missing = list(behaviour) if selection is None else selection.unsupported
    return [Flag(code=FlagCode.UNSUPPORTED_AUDIENCE, message=describe_unsupported(item)) for item in missing]

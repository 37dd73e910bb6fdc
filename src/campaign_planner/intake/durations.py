"""Campaign durations as marketers write them: "10 days", "this weekend", "a fortnight", "1.5 months",
"1–14 March", "March 1 to 14", "两周", "一个半月", "双十一前两周", "3月1日至14日".

Reads the reading form of a text (:mod:`.normalise`: number words and Chinese numerals are digits by
then). A duration is kept in days, as the writer said it, and in weeks for the tools: fractional
(``weeks_exact``) and whole (``weeks``, the whole weeks covering it, at least 1), because the response-curve
tools plan whole weeks. Periods that describe customers rather than the flight ("no purchase in 9+
months", "customers for 2 years") are not durations.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

DAYS_PER_MONTH = 30.44
# Days past a whole week that do not make another planning week ("a month" is 4 weeks, not 5).
WEEK_TOLERANCE_DAYS = 2.5
MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
    "nov": 11, "dec": 12,
}
_MONTH = r"(?P<{name}>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
         r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DASH = r"\s*(?:-|–|—|to|through|until|till|thru|~|到|至)\s*"
_NUM = r"(?P<n>\d+(?:\.\d+)?)"
_UNITS: tuple[tuple[str, float], ...] = (
    (r"(?:days?|天|日(?![期本]))", 1.0),
    (r"(?:weeks?|wks?|周|个星期|星期|个礼拜|礼拜)", 7.0),
    (r"(?:months?|mos?|个月|个多月)", DAYS_PER_MONTH),
    (r"(?:fortnights?)", 14.0),
    (r"(?:quarters?|个季度)", 91.0),
)
# A period right after these words describes customers (recency, tenure), not the campaign's flight.
_CUSTOMER_PERIOD_BEFORE = re.compile(
    r"(?:purchas\w*|bought|buy|order\w*|shopp\w*|visit\w*|active|inactive|lapsed|churn\w*|since|last|past|"
    r"within the|customers? for|members? for|tenure|signed up|joined|ago|没有购买|未购买|未下单|没下单|购买过|"
    r"买过|最近|近|以来|注册)\W{0,12}(?:in\s+(?:the\s+)?(?:last\s+|past\s+)?|for\s+)?(?:over\s+|more than\s+)?$",
    re.IGNORECASE,
)
_CUSTOMER_PERIOD_AFTER = re.compile(r"^\s*(?:\+|or more|ago|plus\b|以上|以前|前没|内没|内未|没有购买|未购买)",
                                    re.IGNORECASE)


@dataclass(frozen=True)
class Duration:
    """A campaign length: ``days`` as written, ``weeks_exact`` = days / 7, ``weeks`` for the tools.

    ``written`` is the phrase it was read from; ``start``/``end`` its span in the reading form.
    """

    days: float
    written: str
    start: int
    end: int

    @property
    def weeks_exact(self) -> float:
        """The length in (fractional) weeks."""
        return round(self.days / 7.0, 3)

    @property
    def weeks(self) -> int:
        """Whole weeks covering the flight, at least 1 (the tools plan whole weeks).

        Rounds up, except that up to 2.5 days past a whole week are absorbed: "10 days" is 2 weeks, "a
        month" (30.4 days) 4 and "1.5 months" (45.7 days) 7.
        """
        return max(1, math.ceil((self.days - WEEK_TOLERANCE_DAYS) / 7.0 - 1e-9))


def _month(token: str) -> int:
    return MONTHS[token.lower()[:3]]


def _date_range(text: str) -> Duration | None:
    lowered = text.lower()
    patterns = (
        # "1–14 March", "1 to 14 March", "from 1 March to 14 March"
        rf"(?P<a>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+{_MONTH.format(name='m1')})?{_DASH}(?P<b>\d{{1,2}})(?:st|nd|rd|th)?"
        rf"\s+(?:of\s+)?{_MONTH.format(name='m2')}",
        # "March 1 to 14", "March 1 - April 3"
        rf"{_MONTH.format(name='m1')}\s+(?P<a>\d{{1,2}})(?:st|nd|rd|th)?{_DASH}(?:{_MONTH.format(name='m2')}\s+)?"
        rf"(?P<b>\d{{1,2}})(?:st|nd|rd|th)?\b",
        # "3月1日至14日", "3月1日到3月14日", "3月1号-14号"
        r"(?P<m1>\d{1,2})月(?P<a>\d{1,2})[日号]?" + _DASH + r"(?:(?P<m2>\d{1,2})月)?(?P<b>\d{1,2})[日号]",
    )
    for pattern in patterns:
        match = re.search(pattern, lowered)
        if not match:
            continue
        groups = match.groupdict()
        start_month = _to_month(groups.get("m1") or groups.get("m2"))
        end_month = _to_month(groups.get("m2") or groups.get("m1"))
        a, b = int(groups["a"]), int(groups["b"])
        if start_month is None or end_month is None or not (1 <= a <= 31 and 1 <= b <= 31):
            continue
        days = (end_month - start_month) % 12 * DAYS_PER_MONTH + (b - a) + 1
        if days < 1:
            continue
        return Duration(days=round(days), written=text[match.start():match.end()], start=match.start(),
                        end=match.end())
    return None


def _to_month(token: str | None) -> int | None:
    if token is None:
        return None
    return int(token) if token.isdigit() else _month(token)


def _is_customer_period(text: str, start: int, end: int) -> bool:
    return bool(_CUSTOMER_PERIOD_BEFORE.search(text[max(0, start - 40):start])
                or _CUSTOMER_PERIOD_AFTER.match(text[end:end + 8]))


def find_durations(text: str) -> list[Duration]:
    """Return every campaign duration written in ``text`` (the reading form), in order of appearance.

    Leaves out periods that describe customers ("no purchase in 9+ months") and calendar months
    ("3月" is March, not three months). Refuses nothing.
    """
    lowered = text.lower()
    found: list[Duration] = []
    taken: list[tuple[int, int]] = []

    def add(days: float, start: int, end: int) -> None:
        if days <= 0 or any(s < end and start < e for s, e in taken) or _is_customer_period(lowered, start, end):
            return
        taken.append((start, end))
        found.append(Duration(days=days, written=text[start:end], start=start, end=end))

    dated = _date_range(text)
    if dated is not None:
        add(dated.days, dated.start, dated.end)
    for unit, days_per in _UNITS:
        # "1.5 months", "2-week", "1 and a half months", "1个半月", "2周半", "6 weeks"
        pattern = (rf"(?<![\d.]){_NUM}(?P<half>\s*and a half|\s*½|个半)?\s*(?:-\s*)?{unit}(?P<half2>半)?"
                   r"(?![a-z])")
        for match in re.finditer(pattern, lowered):
            value = float(match.group("n")) + (0.5 if match.group("half") or match.group("half2") else 0.0)
            add(value * days_per, match.start(), match.end())
        # "a month and a half", "a week", "one month", "half a month", "半个月"
        for match in re.finditer(rf"\b(?P<half>half\s+)?(?:an?|one|the)\s+(?P<u>{unit})(?P<more>\s+and a half)?\b",
                                 lowered):
            factor = 0.5 if match.group("half") else 1.5 if match.group("more") else 1.0
            before = lowered[max(0, match.start() - 12):match.start()]
            if match.group("u").startswith("quarter") and not re.search(r"\b(?:for|over|this|the next|next)\s+$",
                                                                        before):
                continue  # "a quarter of the budget" is a share, not a period
            add(factor * days_per, match.start(), match.end())
        for match in re.finditer(rf"半(?:个)?{unit}", lowered):
            add(0.5 * days_per, match.start(), match.end())
    for match in re.finditer(r"(?<![\d.])(?P<n>\d+(?:\.\d+)?)个半月", lowered):
        add((float(match.group("n")) + 0.5) * DAYS_PER_MONTH, match.start(), match.end())
    # "for Q4": a quarter.
    for match in re.finditer(r"\b(?:for|over|during|in|across|through|throughout)\s+(?:the\s+)?(q[1-4])\b", lowered):
        add(91.0, match.start(1), match.end(1))
    weekend = r"\b(?:this|next|one|a|over the|the)\s+(?P<long>long\s+)?weekend\b|(?:这个|本)?周末"
    for match in re.finditer(weekend, lowered):
        add(3.0 if match.group("long") else 2.0, match.start(), match.end())
    return sorted(found, key=lambda d: d.start)


def find_duration(text: str) -> Duration | None:
    """Return the campaign's duration: the first one the text states, or None where it states none."""
    durations = find_durations(text)
    return durations[0] if durations else None

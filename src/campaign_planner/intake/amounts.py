"""Amounts of money as marketers write them: ``€6.000``, ``1.234,56 EUR``, ``EUR 6,000``, ``CN¥3万``,
``JP¥500,000``, ``$1.2m``, ``HK$80k``, ``1,5 Mio. €``, ``30万元``.

Reads the text's reading form (see :mod:`.normalise`: Chinese numerals are digits by then). A number is
read with the separators of the writer's locale: the currency (``€`` groups thousands with dots), and
the other numbers of the same text (``1.234,56`` anywhere says dots group thousands). A number whose
reading stays ambiguous (``6.000`` in a dollar or currency-less brief: six thousand or six?) is marked
``ambiguous`` with both readings, so the brief reader asks instead of guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Separators = Literal["dot_decimal", "comma_decimal"]

PREFIX_CURRENCIES: dict[str, str] = {
    "us$": "USD", "hk$": "HKD", "nt$": "TWD", "a$": "AUD", "au$": "AUD", "c$": "CAD", "ca$": "CAD",
    "s$": "SGD", "nz$": "NZD", "cn¥": "CNY", "cn￥": "CNY", "rmb¥": "CNY", "jp¥": "JPY", "$": "USD",
    "€": "EUR", "£": "GBP", "¥": "CNY", "￥": "CNY", "₩": "KRW",
}
ISO_CODES: dict[str, str] = {code.lower(): code for code in (
    "USD", "EUR", "GBP", "CNY", "JPY", "HKD", "TWD", "AUD", "CAD", "SGD", "NZD", "CHF", "KRW")} | {"rmb": "CNY"}
SUFFIX_CURRENCIES: dict[str, str] = {
    "dollars": "USD", "dollar": "USD", "bucks": "USD", "euros": "EUR", "euro": "EUR", "pounds": "GBP",
    "pound": "GBP", "yuan": "CNY", "yen": "JPY", "元人民币": "CNY", "人民币": "CNY", "元": "CNY", "块钱": "CNY",
    "块": "CNY", "円": "JPY", "日元": "JPY", "日圆": "JPY", "美元": "USD", "美金": "USD", "欧元": "EUR",
    "英镑": "GBP", "港币": "HKD", "港元": "HKD", "新台币": "TWD", "台币": "TWD", "€": "EUR", "$": "USD",
    "£": "GBP",
} | ISO_CODES
# Currencies whose writers group thousands with dots (and write decimals with a comma).
COMMA_DECIMAL_CURRENCIES = {"EUR"}
MAGNITUDES: dict[str, float] = {
    "k": 1e3, "thousand": 1e3, "tsd": 1e3, "m": 1e6, "mm": 1e6, "mn": 1e6, "mio": 1e6, "million": 1e6,
    "millionen": 1e6, "bn": 1e9, "billion": 1e9, "mrd": 1e9, "千": 1e3, "万": 1e4, "百万": 1e6, "千万": 1e7,
    "亿": 1e8, "w": 1e4,
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_ISO = _alternation(list(ISO_CODES))
_PRE = rf"(?P<pre>{_alternation([p for p in PREFIX_CURRENCIES if not p[0].isalpha()])}|" \
       rf"(?<![a-z])(?:{_alternation([p for p in PREFIX_CURRENCIES if p[0].isalpha()])}|{_ISO})(?![a-z]))"
_NUM = r"(?P<num>\d{1,3}(?:(?P<grp>[,.' ])\d{3})(?:(?P=grp)\d{3})*(?:[.,]\d{1,2})?(?!\d)|\d+(?:[.,]\d+)?)"
_MAG = r"(?P<mag>millionen|million|billion|thousand|mio\.?|mrd\.?|tsd\.?|mm|mn|bn|百万|千万|[kmw千万亿])(?![a-z])"
_POST = rf"(?P<post>{_alternation([w for w in SUFFIX_CURRENCIES if not w.isascii() or not w.isalpha()])}|" \
        rf"(?<![a-z])(?:{_alternation([w for w in SUFFIX_CURRENCIES if w.isascii() and w.isalpha()])})(?![a-z]))"
MONEY = re.compile(
    rf"(?:{_PRE}\s?)?(?P<sign>[-−])?\s*{_NUM}(?:\s*{_MAG})?(?:\s*{_POST})?",
    re.IGNORECASE,
)
# A bare number right after these words is an amount even without a currency ("预算5000", "budget: 6.000").
_BUDGET_LEAD = re.compile(r"(?:budget|spend|spending|预算|投入|经费|花费)(?:\s+(?:is|of|at|was|will be))?\s*[:：]?\s*$",
                          re.IGNORECASE)


# ... or right before these ("we have 2.500 to spend").
_BUDGET_TRAIL = re.compile(r"\s*(?:to spend|to invest|budget\b|in budget|of budget|的预算|预算)", re.IGNORECASE)


@dataclass
class MoneyMention:
    """One amount of money in a text.

    ``amount`` is in the currency's major unit with the magnitude applied; ``currency`` the ISO code the
    text names (None where it names none). ``ambiguous`` marks a number with two readings (``6.000``);
    ``readings`` then holds both (thousands first) and ``amount`` the first.
    """

    amount: float
    currency: str | None
    start: int
    end: int
    negative: bool
    ambiguous: bool = False
    readings: tuple[float, ...] = ()
    written: str = ""


def text_separators(text: str) -> Separators | None:
    """Return the decimal convention the text's unambiguous numbers show, or None where none does.

    "1.234,56", "1,5 Mio" or "6.000.000" say comma decimals; "1,234.56" or "1,234,567" say dot decimals.
    """
    if re.search(r"\d\.\d{3},\d{1,2}(?!\d)|\d\.\d{3}\.\d{3}|(?<![\d.,])\d+,\d{1,2}(?![\d.,])\s*(?:mio|mrd|tsd|€|eur)",
                 text, re.IGNORECASE):
        return "comma_decimal"
    if re.search(r"\d,\d{3}\.\d{1,2}(?!\d)|\d,\d{3},\d{3}", text):
        return "dot_decimal"
    return None


def read_number(written: str, *, currency: str | None, separators: Separators | None) -> tuple[float, ...]:
    """Return the readings of a written number: one value, or two (thousands first) when ambiguous.

    ``currency`` and ``separators`` (the text's convention) settle a lone ``6.000`` or ``6,000``: a dot
    groups thousands for comma-decimal writers (euros), a comma for dot-decimal writers. Refuses (empty
    tuple) what is no number.
    """
    number = written.replace("'", "").replace(" ", "")
    dots, commas = number.count("."), number.count(",")
    if not dots and not commas:
        return (float(number),) if number.isdigit() else ()
    if dots and commas:
        decimal = "." if number.rfind(".") > number.rfind(",") else ","
        group = "," if decimal == "." else "."
        return (float(number.replace(group, "").replace(decimal, ".")),)
    separator = "." if dots else ","
    if dots + commas > 1:
        return (float(number.replace(separator, "")),)
    whole, fraction = number.split(separator)
    if len(fraction) != 3 or whole == "0":
        return (float(f"{whole}.{fraction}"),)
    grouped, decimal = float(whole + fraction), float(f"{whole}.{fraction}")
    comma_decimal = separators == "comma_decimal" or (separators is None and currency in COMMA_DECIMAL_CURRENCIES)
    if separator == ",":
        # "6,000": thousands for nearly everyone; only a writer shown to use comma decimals is unsure.
        return (grouped, decimal) if separators == "comma_decimal" else (grouped,)
    return (grouped,) if comma_decimal else (grouped, decimal)


def find_money(text: str) -> list[MoneyMention]:
    """Return every amount of money in ``text`` (the reading form), in order of appearance.

    A number counts as money with a currency mark, a magnitude ("20k", "30万") or right after a budget
    word ("预算5000"); percentages, "4 weeks" and ages do not. Refuses nothing.
    """
    separators = text_separators(text)
    mentions: list[MoneyMention] = []
    for match in MONEY.finditer(text):
        pre, post, mag, group = match.group("pre"), match.group("post"), match.group("mag"), match.group("grp")
        after = text[match.end():match.end() + 4]
        if after[:1] in ("%", "％") or re.match(r"\s*(?:%|percent|per cent)", after, re.IGNORECASE):
            continue
        lead = _BUDGET_LEAD.search(text[max(0, match.start() - 30):match.start()]) or _BUDGET_TRAIL.match(
            text[match.end():match.end() + 20])
        if not (pre or post or mag or lead):
            continue
        if mag and mag.lower() == "m" and not (pre or post) and re.match(r"\s*(?:in|on)\b", after):
            continue  # "5m in 10 days" is rarely money without a currency
        if mag and mag.lower() == "w" and not _CJK.search(text):
            continue  # "3w" is 3万 to a Chinese writer, three weeks to anyone else
        if group == " " and not (pre or post):
            continue  # "2 000" without a currency is more likely two numbers than one amount
        currency = _currency(pre, post)
        readings = read_number(match.group("num"), currency=currency, separators=separators)
        if not readings:
            continue
        magnitude = MAGNITUDES.get((mag or "").lower().rstrip("."), 1.0)
        preceding = text[max(0, match.start() - 12):match.start()]
        negative = bool(match.group("sign")) or bool(re.search(r"(?:[-−]|minus|negative)\s*$", preceding))
        values = tuple(round(r * magnitude, 2) for r in readings)
        mentions.append(MoneyMention(amount=values[0], currency=currency, start=match.start(), end=match.end(),
                                     negative=negative, ambiguous=len(values) > 1, readings=values,
                                     written=match.group(0).strip()))
    return mentions


def _currency(pre: str | None, post: str | None) -> str | None:
    currency = None
    if pre:
        key = pre.lower()
        currency = PREFIX_CURRENCIES.get(key) or ISO_CODES.get(key)
    if post:
        named = SUFFIX_CURRENCIES.get(post.lower()) or SUFFIX_CURRENCIES.get(post)
        # "$5,000 USD" names one currency twice; "¥3万元" is yuan. A prefix wins unless it is a bare ¥ or $.
        if currency is None or (pre in ("¥", "￥", "$") and named):
            currency = named
    return currency

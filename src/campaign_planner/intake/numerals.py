"""Chinese numerals of any size: "两千五百" → 2500, "三十万" → 300000, "八五" → 85, "十" → 10.

The one reader of Chinese numerals in the package (the brief reader, the follow-up reader and the copy
rules all use it), so a budget and a discount are read by the same rules.
"""

from __future__ import annotations

import re

DIGITS: dict[str, int] = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
    "九": 9, "壹": 1, "贰": 2, "貳": 2, "叁": 3, "參": 3, "肆": 4, "伍": 5, "陆": 6, "陸": 6, "柒": 7, "捌": 8,
    "玖": 9,
}
SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
LARGE_UNITS: dict[str, int] = {"万": 10_000, "萬": 10_000, "亿": 100_000_000, "億": 100_000_000}
NUMERAL_CHARS = "".join([*DIGITS, *SMALL_UNITS, *LARGE_UNITS])

# Words built from numeral characters that are not numbers ("短一点" is "a bit shorter", "千万" in
# "千万不要" means "by all means"); reading them as digits would plant numbers the writer never wrote.
NOT_NUMBERS = (
    "一点", "一些", "一起", "一下", "一定", "一直", "一样", "一般", "一切", "一致", "一律", "一向", "一旦",
    "一边", "一流", "统一", "唯一", "万一", "十分", "万分", "千万不", "千万别", "千万要", "一一", "一揽子",
    "一心", "一手", "一贯", "一同", "一并", "一体", "一站式", "一键", "一眼", "一面", "一口气",
)
_RUN = re.compile(f"[{NUMERAL_CHARS}]+")


def chinese_number(numerals: str) -> int | None:
    """Return the value of a Chinese numeral, or None where ``numerals`` is not one.

    Reads positional forms of any size ("三十万" → 300000, "一亿二千万" → 120000000, "两千零五" → 2005),
    the colloquial shortening ("两千五" → 2500, "三万五" → 35000) and digit strings ("八五" → 85, as in
    "八五折"; "二零二六" → 2026). Refuses (None) empty strings, foreign characters and malformed orders
    such as a unit with nothing before it other than "十" ("万五").
    """
    if not numerals or any(char not in NUMERAL_CHARS for char in numerals):
        return None
    if all(char in DIGITS for char in numerals):
        return int("".join(str(DIGITS[char]) for char in numerals))
    if numerals[0] in LARGE_UNITS or (numerals[0] in SMALL_UNITS and numerals[0] not in "十拾"):
        return None
    total = 0  # everything in the 万 and 亿 sections already closed
    section = 0  # the current section below 万
    digit: int | None = None
    previous = ""
    before_digit = ""  # the character before the pending digit
    for char in numerals:
        if char in DIGITS:
            if digit is not None and digit != 0 and previous in DIGITS:
                return None  # "三五十" is no number
            digit, before_digit = DIGITS[char], previous
        elif char in SMALL_UNITS:
            section += (1 if digit is None else digit) * SMALL_UNITS[char]
            digit = None
        else:
            section += digit or 0
            unit = LARGE_UNITS[char]
            total = (total + section) * unit if unit == 100_000_000 else total + section * unit
            section, digit = 0, None
        previous = char
    if digit is not None:
        unit = SMALL_UNITS.get(before_digit) or LARGE_UNITS.get(before_digit) or 1
        # "两千五" is 2500 and "三万五" 35000: a digit right after a unit of 百 or more counts one unit down.
        section += digit * (unit // 10 if unit >= 100 else 1)
    return total + section


def replace_chinese_numerals(text: str) -> str:
    """Return ``text`` with every Chinese numeral written in digits ("两周" → "2周", "三十万元" → "300000元").

    Leaves alone: words that only look numeric (:data:`NOT_NUMBERS`), unit characters that follow Arabic
    digits ("30万" stays for the amount reader's magnitude layer), and runs of units with no digit
    ("千万", "百万") except those starting with 十 ("十天" → "10天").
    """
    protected = [(m.start(), m.end()) for word in NOT_NUMBERS for m in re.finditer(re.escape(word), text)]

    def replace(match: re.Match[str]) -> str:
        run, start = match.group(0), match.start()
        if any(s < match.end() and start < e for s, e in protected):
            return run
        if start > 0 and (text[start - 1].isdigit() or text[start - 1] == "."):
            return run  # "30万", "1.5万": a magnitude of the Arabic number before it
        if not any(char in DIGITS for char in run) and run[0] not in "十拾":
            return run
        value = chinese_number(run)
        if value is None:
            # A trailing magnitude after a number ("三十万" reads, "三十百" does not): keep the text.
            return run
        return str(value)

    return _RUN.sub(replace, text)

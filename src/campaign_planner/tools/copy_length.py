"""Copy length as each platform counts it.

A platform's limit is not always a count of characters: Google Ads and Taobao count a full-width (CJK)
character as 2; an SMS is billed by segment, and one Chinese character, emoji or curly apostrophe
switches the whole message from GSM-7 (160 septets, 153 a segment when concatenated) to UCS-2 (70 UTF-16
code units, 67 a segment); some APIs limit bytes. ``channels.yaml`` names the unit of each channel's
limits (see ``data/catalog.py`` ``CopyRules``).

Units: ``characters`` (Unicode code points, ``len()``), ``display_width`` (east-asian wide and
full-width characters 2, others 1), ``sms_segments`` (GSM-7 or UCS-2 segments, 3GPP TS 23.038 and
23.040), ``bytes`` (UTF-8).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

CopyUnit = Literal["characters", "display_width", "sms_segments", "bytes"]
UNITS: tuple[CopyUnit, ...] = ("characters", "display_width", "sms_segments", "bytes")

# 3GPP TS 23.038 §6.2.1, the GSM 7-bit default alphabet (one septet each). 0x09 is the capital C with
# cedilla, as in the standard (the small ç is not in the alphabet); 0x1B is the escape to the extension
# table and is not a character of its own.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# 3GPP TS 23.038 §6.2.1.1, the default extension table: escape + one septet, so two septets each.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# One SMS carries 140 octets of user data (TS 23.040 §9.2.3.24): 160 septets or 70 UCS-2 units; a
# concatenated message spends 6 octets of each segment on its header, leaving 153 septets or 67 units.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

SmsEncoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsCount:
    """How an SMS body is sent: its encoding, segments and length in that encoding's units."""

    encoding: SmsEncoding
    segments: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)

    @property
    def per_segment(self) -> int:
        """Return how many units one segment of this message holds (160/153 or 70/67)."""
        if self.encoding == "GSM-7":
            return GSM7_SINGLE if self.segments <= 1 else GSM7_PART
        return UCS2_SINGLE if self.segments <= 1 else UCS2_PART


def is_gsm7(text: str) -> bool:
    """Return True when every character of ``text`` is in the GSM-7 default alphabet or its extension."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def sms_segments(text: str) -> SmsCount:
    """Return how ``text`` is sent as an SMS: GSM-7 when every character is in the GSM-7 alphabet (an
    extension character such as ``€`` or ``^`` takes 2 septets), else UCS-2; and its segments (0 for
    empty text). A segment never splits an escape pair or a surrogate pair, as senders do not."""
    if is_gsm7(text):
        sizes = [2 if char in GSM7_EXTENSION else 1 for char in text]
        return SmsCount("GSM-7", _segments(sizes, GSM7_SINGLE, GSM7_PART), sum(sizes))
    sizes = [2 if ord(char) > 0xFFFF else 1 for char in text]
    return SmsCount("UCS-2", _segments(sizes, UCS2_SINGLE, UCS2_PART), sum(sizes))


def _segments(sizes: list[int], single: int, part: int) -> int:
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments


def display_width(text: str) -> int:
    """Return ``text``'s width as Google Ads and Taobao count it: 2 for each east-asian wide or full-width
    character (Chinese, Japanese, Korean, full-width punctuation, most emoji), 1 for any other."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def measure(text: str, unit: CopyUnit) -> int:
    """Return the length of ``text`` in ``unit`` (segments for ``sms_segments``). Refuses (ValueError) an
    unknown unit."""
    if unit == "characters":
        return len(text)
    if unit == "display_width":
        return display_width(text)
    if unit == "sms_segments":
        return sms_segments(text).segments
    if unit == "bytes":
        return len(text.encode("utf-8"))
    raise ValueError(f"unknown copy length unit {unit!r}; expected one of {UNITS}")


def fits(text: str, limit: int, unit: CopyUnit) -> bool:
    """Return True when ``text`` is at most ``limit`` long in ``unit``."""
    return measure(text, unit) <= limit


def fitting_length(text: str, limit: int, unit: CopyUnit, suffix: str = "") -> int:
    """Return the most leading characters of ``text`` that, followed by ``suffix``, fit ``limit`` in
    ``unit`` (0 when not even ``suffix`` alone fits). A prefix never measures more than the whole text in
    any unit, so the answer is found by bisection."""
    low, high = 0, len(text)
    if fits(text + suffix, limit, unit):
        return high
    if not fits(suffix, limit, unit):
        return 0
    while low < high:  # invariant: text[:low] + suffix fits, text[:high + 1] + suffix does not
        middle = (low + high + 1) // 2
        if fits(text[:middle] + suffix, limit, unit):
            low = middle
        else:
            high = middle - 1
    return low


def character_budget(limit: int, unit: CopyUnit, language: Literal["en", "zh"]) -> int:
    """Return how many characters of ``language`` copy surely fit ``limit`` in ``unit``: what a prompt or
    a draft schema states (Chinese: half a display-width or a third of a UTF-8 byte limit; an SMS segment
    holds 160 GSM-7 or 70 UCS-2 characters)."""
    if unit == "display_width":
        return limit // 2 if language == "zh" else limit
    if unit == "bytes":
        return limit // 3 if language == "zh" else limit
    if unit == "sms_segments":
        if language == "zh":
            return UCS2_SINGLE if limit == 1 else UCS2_PART * limit
        return GSM7_SINGLE if limit == 1 else GSM7_PART * limit
    return limit


def describe(text: str, limit: int, unit: CopyUnit) -> str:
    """Return ``text``'s length against ``limit`` in the platform's words, e.g. ``24/30 display width
    (full-width counts 2)`` or ``SMS: 2 segments, UCS-2 (71 characters; 67 a segment); the limit is 1``."""
    if unit == "sms_segments":
        count = sms_segments(text)
        what = "septets" if count.encoding == "GSM-7" else "characters"
        plural = "s" if count.segments != 1 else ""
        return (
            f"SMS: {count.segments} segment{plural}, {count.encoding} ({count.units} {what}; "
            f"{count.per_segment} a segment); the limit is {limit}"
        )
    if unit == "display_width":
        return f"{display_width(text)}/{limit} display width (full-width counts 2)"
    if unit == "bytes":
        return f"{measure(text, unit)}/{limit} bytes (UTF-8)"
    return f"{len(text)}/{limit} characters"

"""Text normalisation at the door: one reading form for briefs, follow-ups and chat messages.

A marketer in Taipei writes ``預算30萬元，為期兩週``, one in Berlin ``over two weeks``, one in Shanghai
``两千五百元``. The readers of amounts, durations and channels see one form: Simplified script, digits for
Chinese numerals and English number words, ASCII punctuation for full-width forms. The writer's own text
is kept (``NormalisedText.original``) for display and quotes, and any span found in the reading form maps
back to the original (:meth:`NormalisedText.original_span`), so a tone or an offer is quoted as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any, Literal

from campaign_planner.intake.numerals import replace_chinese_numerals

Script = Literal["simplified", "traditional"]

CJK = re.compile(r"[\u4e00-\u9fff]")
# Full-width ASCII (！ to ～) and the ideographic space read as their ASCII forms; 。、「」 stay as they are.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0x00A0: 0x20,
                                                                            0x202F: 0x20, 0x2009: 0x20}
# "1.5 million" must stay a number with a magnitude; text2num would turn "million" alone into 1000000.
_MAGNITUDE_WORDS = {"million": "\ue001", "thousand": "\ue002", "billion": "\ue003"}
_PROTECT = re.compile(r"(?<=[\d.,])(\s*)(million|thousand|billion)\b", re.IGNORECASE)
_HYPHEN_UNIT = re.compile(r"\b([a-z]+)-(day|week|month|year)s?\b", re.IGNORECASE)
_HALF_A = re.compile(r"\bhalf an? (million|thousand)\b", re.IGNORECASE)


@lru_cache(maxsize=2)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Return ``text`` in Simplified Chinese script (OpenCC ``t2s``); non-Chinese text is unchanged."""
    return _converter("t2s").convert(text) if CJK.search(text) else text


def to_traditional(text: str) -> str:
    """Return ``text`` in Traditional Chinese script (OpenCC ``s2t``), for copy in a Traditional brief."""
    return _converter("s2t").convert(text) if CJK.search(text) else text


def detect_script(text: str) -> Script | None:
    """Return "traditional" or "simplified" for text with Chinese characters, None for text without.

    Traditional when at least two characters (or a tenth of them) change on conversion to Simplified:
    a single shared-form character such as 著 or 乾 does not make a brief Traditional.
    """
    chinese = CJK.findall(text)
    if not chinese:
        return None
    simplified = to_simplified(text)
    changed = sum(1 for a, b in zip(text, simplified, strict=False) if a != b and CJK.match(a))
    if len(simplified) != len(text):
        changed = max(changed, 2)
    return "traditional" if changed >= 2 or (changed and changed / len(chinese) >= 0.1) else "simplified"


def english_numbers_to_digits(text: str) -> str:
    """Return ``text`` with English number words as digits ("two weeks" → "2 weeks", "fifty thousand
    dollars" → "50000 dollars"), keeping magnitudes after digits ("1.5 million" stays)."""
    if not re.search(r"[A-Za-z]", text):
        return text
    from text_to_num import alpha2digit

    text = _HALF_A.sub(lambda m: f"0.5 {m.group(1)}", text)
    text = _HYPHEN_UNIT.sub(r"\1 \2", text)  # "two-week" is read like "two week"
    protected = _PROTECT.sub(lambda m: m.group(1) + _MAGNITUDE_WORDS[m.group(2).lower()], text)
    converted = alpha2digit(protected, "en", threshold=0)
    for word, mark in _MAGNITUDE_WORDS.items():
        converted = converted.replace(mark, word)
    # text2num writes ordinals as "1st"; "first order" is no number the brief reader wants.
    return re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _ORDINALS.get(m.group(0), m.group(0)), converted)


_ORDINALS = {"1st": "first", "2nd": "second", "3rd": "third"}


@dataclass(frozen=True)
class NormalisedText:
    """A text in its reading form (``text``) next to the writer's own (``original``).

    ``script`` is the Chinese script the writer used (None where the text has no Chinese).
    """

    original: str
    text: str
    script: Script | None
    _blocks: list[tuple[int, int, int]] = field(default_factory=list, repr=False, compare=False)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Return the span of ``original`` that ``text[start:end]`` was read from."""
        return self._map(start, is_end=False), self._map(end, is_end=True)

    def original_of(self, start: int, end: int) -> str:
        """Return the writer's own words for ``text[start:end]``."""
        a, b = self.original_span(start, end)
        return self.original[a:b]

    def _map(self, position: int, *, is_end: bool) -> int:
        # Matching blocks map one to one; a position inside a rewritten stretch maps to that stretch's
        # edge in the original (its start for a span's start, its end for a span's end).
        for norm_start, orig_start, size in self._blocks:
            if norm_start < position < norm_start + size or (position == norm_start and not is_end and size) or (
                    position == norm_start + size and is_end and size):
                return orig_start + (position - norm_start)
        if is_end:
            following = [o for n, o, _ in self._blocks if n >= position]
            return following[0] if following else len(self.original)
        previous = [o + s for n, o, s in self._blocks if n + s <= position]
        return previous[-1] if previous else 0


def normalise(text: str) -> NormalisedText:
    """Return the reading form of ``text``: Simplified script, digits for Chinese numerals and English
    number words, ASCII for full-width letters, digits and punctuation. Refuses nothing; an empty text
    stays empty."""
    original = text
    script = detect_script(text)
    reading = text.translate(_FULL_WIDTH)
    if script == "traditional":
        reading = to_simplified(reading)
    if CJK.search(reading):
        reading = replace_chinese_numerals(reading)
    reading = english_numbers_to_digits(reading)
    blocks: list[tuple[int, int, int]] = []
    if reading != original:
        matcher = SequenceMatcher(None, reading, original, autojunk=False)
        blocks = [(b.a, b.b, b.size) for b in matcher.get_matching_blocks() if b.size]
    else:
        blocks = [(0, 0, len(original))]
    return NormalisedText(original=original, text=reading, script=script, _blocks=blocks)


def copy_in_script(copy: dict[str, Any], script: Script | None) -> dict[str, Any]:
    """Return the copywriter's output (``CopyResult`` as JSON) with its variants in the brief's ``script``.

    Copy is written and checked in Simplified (the model and the copy rules work in it); a Traditional brief
    gets its headlines, bodies and CTAs converted with OpenCC ``s2t``. The brand's legal footer stays
    verbatim, as the footer rule requires. Anything but "traditional" returns ``copy`` unchanged.
    """
    if script != "traditional":
        return copy
    converted = {**copy, "messaging": []}
    for cell in copy.get("messaging", []):
        variants = [{**v, **{k: to_traditional(v[k]) for k in ("headline", "body", "cta") if isinstance(v.get(k), str)}}
                    for v in cell.get("variants", [])]
        converted["messaging"].append({**cell, "variants": variants})
    return converted

"""Deterministic channel rules for one copy variant, and the last-resort repair that makes copy pass them.

Rule names are stable (plans, evals and renderers key on them):

- ``headline_length``: headline non-empty and within the channel's ``headline_max``;
- ``body_length``: body non-empty and within ``body_max``; both counted in the unit the channel's
  platform counts (``CopyRules.unit``: characters, display width, SMS segments or bytes; see
  ``tools/copy_length.py``), and the check's detail states the count in that unit;
- ``cta_present``: a call to action where the channel requires one, short enough for a button;
- ``hashtags``: a hashtag in the body on channels that use them (passes elsewhere);
- ``offer_consistent``: the only discount stated is the brief's offer, and no perk it does not offer;
- ``no_links_or_placeholders``: no URL, e-mail address, ``[link]``, ``{{...}}``, ``<...>`` or ``XXX``;
- ``language``: Chinese copy is mostly Chinese, English copy has (almost) no Chinese;
- ``banned_claims``: no superlative, guarantee or medical claim, nor the brand's words to avoid.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from campaign_planner.data.catalog import ChannelSpec, CopyRules
from campaign_planner.domain import CopyVariant, RuleCheck
from campaign_planner.tools.copy_length import CopyUnit, describe, fits, fitting_length, measure
from campaign_planner.tools.copy_patterns import (
    DiscountMention,
    chinese_share,
    cjk_count,
    find_banned,
    find_discount_mentions,
    find_placeholders,
    hashtags_in,
    latin_letter_count,
    numbers_in,
    percent_to_zhe,
    perks_in,
)

Language = Literal["en", "zh"]

RULES: tuple[str, ...] = (
    "headline_length",
    "body_length",
    "cta_present",
    "hashtags",
    "offer_consistent",
    "no_links_or_placeholders",
    "language",
    "banned_claims",
    "no_prompt_echo",
    "legal_footer",
)

# Wording of our own instructions that a small model sometimes copies into the ad ("This is the only
# offer the copy may mention"): copy that talks about itself is unusable as written.
_PROMPT_ECHO = re.compile(
    r"\b(?:the copy|this copy|ad copy|invent(?:ed)?|variants?|character limit|\d+ characters|json|placeholders?|"
    r"customer data|instructions?|the segment|this segment|call to action)\b|文案|占位符|字数|指令|变体",
    re.IGNORECASE,
)

# A CTA is a button label; longer than this it stops being one.
CTA_MAX_CHARS: dict[Language, int] = {"en": 40, "zh": 20}
DEFAULT_CTA: dict[Language, str] = {"en": "Shop now", "zh": "立即选购"}
DEFAULT_HASHTAG: dict[Language, str] = {"en": "NewIn", "zh": "新品"}
# Chinese copy may carry a few Latin words (brands, "T恤"); English copy carries no Chinese at all.
MIN_CHINESE_SHARE = 0.6


class BrandVoiceError(ValueError):
    """A ``brand.yaml`` that cannot be read or does not match the brand voice schema."""


class BrandVoice(BaseModel):
    """A shop's brand voice from its ``brand.yaml``: tone, preferred and forbidden wording, legal footer."""

    model_config = ConfigDict(extra="forbid")

    name: str = ""
    tone: list[str] = Field(default_factory=list, description="Tone words, e.g. warm, confident.")
    words_to_use: list[str] = Field(default_factory=list)
    words_to_avoid: list[str] = Field(default_factory=list, description="Checked like banned claims.")
    banned_claims: list[str] = Field(default_factory=list, description="Shop-specific claims never to make.")
    legal_footer: str = Field(default="", description="Appended verbatim to every variant on footer_channels.")
    legal_footer_zh: str = Field(default="", description="The footer for Chinese copy; legal_footer if empty.")
    footer_channels: list[str] = Field(default_factory=lambda: ["email"], description="Catalog channel ids.")

    @field_validator("tone", "words_to_use", "words_to_avoid", "banned_claims", "footer_channels", mode="before")
    @classmethod
    def _split_comma_string(cls, value: object) -> object:
        # People write `tone: warm, playful` as often as a YAML list.
        if isinstance(value, str):
            return [part.strip() for part in re.split(r"[,，、]", value) if part.strip()]
        return [] if value is None else value

    def avoided_phrases(self) -> list[str]:
        """Return every phrase the copy must not contain: banned claims plus words to avoid."""
        return [*self.banned_claims, *self.words_to_avoid]


def load_brand_voice(shop_dir: Path) -> BrandVoice | None:
    """Return the brand voice in ``shop_dir/brand.yaml``, or None where the shop has no such file.

    Raises :class:`BrandVoiceError` naming the file when it is not YAML, not a mapping, or has unknown keys.
    """
    path = Path(shop_dir) / "brand.yaml"
    if not path.is_file():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BrandVoiceError(f"{path}: not valid YAML: {exc}") from exc
    if document is None:
        return BrandVoice()
    if not isinstance(document, dict):
        raise BrandVoiceError(f"{path}: expected a mapping with tone, words_to_use, words_to_avoid, ...")
    try:
        return BrandVoice.model_validate(document)
    except ValidationError as exc:
        raise BrandVoiceError(f"{path}: {exc}") from exc


def legal_footer_for(brand: BrandVoice | None, channel: ChannelSpec, language: Language) -> str:
    """Return the legal footer every variant on ``channel`` must carry ("" where none is required)."""
    if brand is None or channel.id not in brand.footer_channels:
        return ""
    return (brand.legal_footer_zh if language == "zh" and brand.legal_footer_zh else brand.legal_footer).strip()


def attach_legal_footer(
    variant: CopyVariant, channel: ChannelSpec, language: Language, brand: BrandVoice | None
) -> CopyVariant:
    """Return ``variant`` carrying exactly the footer the brand requires on ``channel`` (none where none is)."""
    footer = legal_footer_for(brand, channel, language)
    return variant if variant.footer == footer else variant.model_copy(update={"footer": footer})


def _footer_check(
    variant: CopyVariant, channel: ChannelSpec, language: Language, brand: BrandVoice | None
) -> RuleCheck:
    required = legal_footer_for(brand, channel, language)
    if variant.footer == required:
        return RuleCheck(rule="legal_footer", passed=True, detail="" if required else "none required")
    if not required:
        return RuleCheck(rule="legal_footer", passed=False, detail="a footer the brand does not use on this channel")
    return RuleCheck(rule="legal_footer", passed=False, detail="the brand's legal footer is missing or altered")


def variant_text(variant: CopyVariant) -> str:
    """Return headline, body and CTA joined, the text the whole-variant rules read."""
    return f"{variant.headline}\n{variant.body}\n{variant.cta}"


def check_variant(
    variant: CopyVariant,
    *,
    channel: ChannelSpec,
    language: Language,
    offer_percent: float | None,
    no_discount: bool = False,
    brand: BrandVoice | None = None,
    offer_text: str = "",
) -> list[RuleCheck]:
    """Return one :class:`RuleCheck` per rule in :data:`RULES`, in that order, for ``variant`` on ``channel``.

    ``offer_percent`` is the brief's discount (the only percentage the copy may state; None: none may be
    stated); ``offer_text`` is the brief's offer wording, which licenses perks such as free shipping;
    ``no_discount`` means the brief forbids any discount, so even "sale" or "优惠" fail. Refuses
    (ValueError) an ``offer_percent`` together with ``no_discount``, which contradict each other.
    """
    if no_discount and offer_percent is not None:
        raise ValueError(
            "offer_percent and no_discount contradict: a brief cannot both offer and forbid a discount"
        )
    rules = channel.copy_rules
    text = variant_text(variant)
    return [
        _length_check("headline_length", rules.headline_label, variant.headline, rules.headline_max,
                      rules.unit_of("headline")),
        _length_check("body_length", "body", variant.body, rules.body_max, rules.unit),
        _cta_check(variant.cta, rules, language),
        _hashtag_check(variant.body, rules),
        _offer_check(text, offer_percent, offer_text, no_discount),
        _placeholder_check(text),
        _language_check(text, language),
        _banned_check(text, brand),
        _echo_check(text),
        _footer_check(variant, channel, language, brand),
    ]


def _echo_check(text: str) -> RuleCheck:
    match = _PROMPT_ECHO.search(text)
    if match:
        return RuleCheck(rule="no_prompt_echo", passed=False,
                         detail=f"the copy repeats the brief's instructions ({match.group(0)!r})")
    return RuleCheck(rule="no_prompt_echo", passed=True, detail="no instruction text in the copy")


def failed(checks: Sequence[RuleCheck]) -> list[RuleCheck]:
    """Return the checks that did not pass."""
    return [check for check in checks if not check.passed]


def _has_words(text: str) -> bool:
    # "..." or "#新品" alone is not copy: a weak model fills fields with punctuation or a bare hashtag.
    return bool(re.search(r"\w", re.sub(r"#\S+", "", text)))


def _length_check(rule: str, label: str, text: str, limit: int, unit: CopyUnit = "characters") -> RuleCheck:
    text = text.strip()
    if not text:
        return RuleCheck(rule=rule, passed=False, detail=f"the {label} is empty")
    if not _has_words(text):
        return RuleCheck(rule=rule, passed=False, detail=f"the {label} has no words ({text[:20]!r})")
    if measure(text, unit) > limit:
        if unit == "characters":
            detail = f"the {label} has {len(text)} characters; the limit is {limit}"
        else:
            detail = f"the {label} is too long: {describe(text, limit, unit)}"
        return RuleCheck(rule=rule, passed=False, detail=detail)
    return RuleCheck(rule=rule, passed=True, detail=describe(text, limit, unit))


def _cta_check(cta: str, rules: CopyRules, language: Language) -> RuleCheck:
    cta = cta.strip()
    limit = CTA_MAX_CHARS[language]
    if not _has_words(cta):
        if rules.cta_required:
            return RuleCheck(rule="cta_present", passed=False, detail="the channel requires a call to action")
        return RuleCheck(rule="cta_present", passed=True, detail="no call to action; the channel needs none")
    if len(cta) > limit:
        return RuleCheck(
            rule="cta_present",
            passed=False,
            detail=f"the call to action has {len(cta)} characters; keep it ≤ {limit}",
        )
    return RuleCheck(rule="cta_present", passed=True, detail=cta)


def _hashtag_check(body: str, rules: CopyRules) -> RuleCheck:
    if not rules.hashtags:
        return RuleCheck(rule="hashtags", passed=True, detail="the channel does not use hashtags")
    tags = hashtags_in(body)
    if not tags:
        return RuleCheck(rule="hashtags", passed=False, detail="the channel uses hashtags; the body has none")
    return RuleCheck(rule="hashtags", passed=True, detail=" ".join(tags))


def _mention_problem(
    mention: DiscountMention, offer_percent: float | None, offer_text: str, no_discount: bool
) -> str | None:
    """Return why ``mention`` breaks the brief's offer, or None where the brief licenses it."""
    if mention.kind in ("percent", "zhe"):
        if no_discount or offer_percent is None:
            return f"states {mention.text!r} but the brief offers no percentage discount"
        if mention.percent_off is not None and abs(mention.percent_off - offer_percent) > 0.01:
            return (
                f"states {mention.text!r} ({mention.percent_off:g}% off) "
                f"but the brief's offer is {offer_percent:g}% off"
            )
        return None
    if mention.kind == "perk":
        if no_discount or mention.perk not in perks_in(offer_text):
            return f"promises {mention.text!r}, which the brief's offer does not include"
        return None
    if mention.kind == "money_off":
        amounts = numbers_in(mention.text)
        if no_discount or not amounts or not amounts <= numbers_in(offer_text):
            return f"promises {mention.text!r}, which the brief's offer does not include"
        return None
    if no_discount:
        return f"mentions {mention.text!r} but the brief rules out any discount"
    if offer_percent is None and not offer_text.strip():
        return f"mentions {mention.text!r} but the brief gives no offer"
    return None


def _offer_check(text: str, offer_percent: float | None, offer_text: str, no_discount: bool) -> RuleCheck:
    mentions = find_discount_mentions(text)
    problems = [p for m in mentions if (p := _mention_problem(m, offer_percent, offer_text, no_discount))]
    if problems:
        return RuleCheck(rule="offer_consistent", passed=False, detail="; ".join(problems))
    stated = [m.text for m in mentions if m.kind != "generic"]
    detail = f"states only the brief's offer: {', '.join(stated)}" if stated else "states no discount"
    return RuleCheck(rule="offer_consistent", passed=True, detail=detail)


def _placeholder_check(text: str) -> RuleCheck:
    found = find_placeholders(text)
    if found:
        listed = ", ".join(f"{what} {matched!r}" for what, matched, _, _ in found[:4])
        return RuleCheck(rule="no_links_or_placeholders", passed=False, detail=f"contains {listed}")
    return RuleCheck(rule="no_links_or_placeholders", passed=True)


def _language_check(text: str, language: Language) -> RuleCheck:
    if language == "zh":
        share = chinese_share(text)
        passed = share >= MIN_CHINESE_SHARE
        detail = f"{share:.0%} of the words are Chinese" + (
            "" if passed else "; Chinese copy must be mostly Chinese"
        )
        return RuleCheck(rule="language", passed=passed, detail=detail)
    chinese = cjk_count(text)
    letters = latin_letter_count(text)
    if letters == 0:
        return RuleCheck(rule="language", passed=False, detail="English copy has no English words")
    # Any Chinese character in English copy is a slip of the model ("keeps your shoulders柔软"), however few.
    passed = chinese == 0
    detail = "English" if chinese == 0 else f"{chinese} Chinese characters in English copy"
    return RuleCheck(rule="language", passed=passed, detail=detail)


def _banned_check(text: str, brand: BrandVoice | None) -> RuleCheck:
    found = find_banned(text, brand.avoided_phrases() if brand else ())
    if found:
        listed = ", ".join(sorted({repr(matched) for matched, _, _ in found}))
        return RuleCheck(rule="banned_claims", passed=False, detail=f"contains {listed}")
    return RuleCheck(rule="banned_claims", passed=True)


def offending_phrases(
    variant: CopyVariant,
    rule: str,
    *,
    offer_percent: float | None,
    offer_text: str = "",
    no_discount: bool = False,
    brand: BrandVoice | None = None,
) -> list[str]:
    """Return the exact phrases of ``variant`` that make ``rule`` fail, in reading order, without repeats.

    For the rules a phrase breaks (``offer_consistent``, ``banned_claims``, ``no_links_or_placeholders``,
    ``no_prompt_echo``), so a repair request can name what to delete ("'Save up to 30%'") instead of only
    describing it; other rules return [].
    """
    text = variant_text(variant)
    if rule == "offer_consistent":
        found = [m.text for m in find_discount_mentions(text)
                 if _mention_problem(m, offer_percent, offer_text, no_discount) is not None]
    elif rule == "banned_claims":
        found = [matched for matched, _, _ in find_banned(text, brand.avoided_phrases() if brand else ())]
    elif rule == "no_links_or_placeholders":
        found = [matched for _, matched, _, _ in find_placeholders(text)]
    elif rule == "no_prompt_echo":
        found = [m.group(0) for m in _PROMPT_ECHO.finditer(text)]
    else:
        found = []
    phrases = list(dict.fromkeys(phrase.strip() for phrase in found if phrase.strip()))
    # "guaranteed" inside "guaranteed fit": name the longer phrase once.
    return [p for p in phrases if not any(p != q and p.lower() in q.lower() for q in phrases)]


# --- deterministic repair ------------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)|[。！？]")  # not the point of "$49.99" or "12.5%"
_CLAUSE_END = re.compile(r"[,，;；:：、]")
_TRAILING_JOINERS = " \t\n,，;；:：-–—、/|&+"


def end_cut_text(text: str, language: Language) -> str:
    """Return ``text`` that was cut at a length limit, ended cleanly: at its last sentence end where that
    keeps more than half of it, else without a partial last word (English) or a dangling joiner
    ("... with", "... 和")."""
    stripped = text.strip()
    ends = [m.end() for m in _SENTENCE_END.finditer(stripped)]
    if ends and ends[-1] < len(stripped) and ends[-1] >= len(stripped) * 0.5:
        return stripped[: ends[-1]]
    if language == "en" and text and not text[-1].isspace() and " " in text.strip():
        text = text.rsplit(" ", 1)[0]
    text = text.strip().rstrip(_TRAILING_JOINERS)
    return _DANGLING_END.sub("", text).rstrip(_TRAILING_JOINERS)


def trim_to_limit(text: str, limit: int, language: Language) -> str:
    """Return ``text`` cut to at most ``limit`` characters at a sentence, clause or word boundary.

    Prefers a sentence end past half the limit, then (Chinese) a clause end, then (English) the last
    space; a hard cut only where no boundary is close. Never returns more than ``limit`` characters.
    """
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    window = text[:limit]
    # Look ahead past the window: "$49." at its edge is a cut price, not a sentence end.
    ends = [m.end() for m in _SENTENCE_END.finditer(text) if m.end() <= limit]
    if ends and ends[-1] >= limit * 0.5:
        return window[: ends[-1]].strip()
    if language == "zh":
        clauses = [m.start() for m in _CLAUSE_END.finditer(window)]
        if clauses and clauses[-1] >= limit * 0.5:
            window = window[: clauses[-1]]
    elif not text[limit].isspace():
        space = window.rfind(" ")
        if space >= limit * 0.4:
            window = window[:space]
    # A cut can end on a function word ("... you will ever wear, to"); drop it so the line reads finished.
    window = window.rstrip(_TRAILING_JOINERS)
    return _DANGLING_END.sub("", window).rstrip(_TRAILING_JOINERS)


def make_hashtags(words: Sequence[str], language: Language, count: int = 2) -> str:
    """Return up to ``count`` hashtags built from ``words`` ("summer dresses" → "#SummerDresses").

    Falls back to a generic tag ("#NewIn", "#新品") where no word gives a usable tag.
    """
    tags: list[str] = []
    for word in words:
        if language == "zh":
            tag = re.sub(r"[^\w\u4e00-\u9fff]", "", word)
            if not tag or chinese_share(tag) < MIN_CHINESE_SHARE:
                continue
        else:
            parts = re.findall(r"[A-Za-z0-9]+", word)
            tag = "".join(part[:1].upper() + part[1:] for part in parts)
            if not tag or not tag[0].isalpha():
                continue
        if f"#{tag}" not in tags:
            tags.append(f"#{tag}")
        if len(tags) == count:
            break
    return " ".join(tags) if tags else f"#{DEFAULT_HASHTAG[language]}"


def tidy_text(text: str) -> str:
    """Return ``text`` with the gaps that deleting a phrase leaves closed: doubled spaces, orphaned
    punctuation, empty brackets, a dangling joiner at the end."""
    text = re.sub(r"\(\s*\)|（\s*）|【\s*】|\[\s*\]", "", text)
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([,.!?;:，。！？；：、])", r"\1", text)
    text = re.sub(r"([,，;；:：、])\s*([,.!?;:，。！？；：、])", r"\2", text)
    text = re.sub(r"([.!?。！？])\s*[.。]+", r"\1", text)
    text = re.sub(r"^[\s,.!?;:，。！？；：、\-–—]+", "", text, flags=re.MULTILINE)
    text = text.strip().rstrip(_TRAILING_JOINERS)
    return _DANGLING_END.sub("", text).rstrip(_TRAILING_JOINERS)


_CONNECTIVE_BEFORE = re.compile(
    r"(?:\s+(?:and|plus|with|or|at|visit|via|on|&)|和|及|并|或|点击链接|点击|访问|详见)\s*$", re.IGNORECASE
)
_DANGLING_END = re.compile(
    r"(?:[\s,]+(?:to|and|or|but|while|which|that|so|as|because|if|when|whether|the|a|an|of|for|with|your|our|"
    r"in|on|at|by|from|&))+$|(?:并且|而且|和|及|与|的|而|但|并)$",
    re.IGNORECASE,
)


def _connective_start(text: str, start: int) -> int:
    match = _CONNECTIVE_BEFORE.search(text[:start])
    return match.start() if match else start


def _sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Return the span of the sentence(s) of ``text`` holding ``text[start:end]``, end punctuation included."""
    sentence_start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() <= start:
            sentence_start = match.end()
        elif match.end() >= end:
            return sentence_start, match.end()
    return sentence_start, len(text)


def _apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    # Apply right to left so earlier offsets stay valid; skip an edit overlapping one already applied.
    applied_from = len(text) + 1
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > applied_from:
            continue
        text = text[:start] + replacement + text[end:]
        applied_from = start
    return tidy_text(text)


def _scrub(
    text: str,
    *,
    offer_percent: float | None,
    offer_text: str,
    no_discount: bool,
    brand: BrandVoice | None,
    whole_sentences: bool = False,
) -> str:
    """Return ``text`` without placeholders, banned claims and unoffered discounts (wrong ones rewritten).

    With ``whole_sentences`` (a body of several sentences) a phrase to delete takes its whole sentence
    with it, so no fragment such as "on this jacket!" is left where "Save 30%" was; where that would leave
    no words, only the phrases go.
    """
    edits: list[tuple[int, int, str]] = []
    for _, _, start, end in find_placeholders(text):
        edits.append((start, end, ""))
    for mention in find_discount_mentions(text):
        if _mention_problem(mention, offer_percent, offer_text, no_discount) is None:
            continue
        if mention.kind in ("percent", "zhe") and offer_percent is not None and not no_discount:
            # A wrong percentage becomes the brief's percentage: the sentence keeps its shape and its promise
            # becomes the one the brief makes.
            start, end = mention.number_span or (mention.start, mention.end)
            replacement = f"{offer_percent:g}" if mention.kind == "percent" else percent_to_zhe(offer_percent)
            edits.append((start, end, replacement))
        else:
            edits.append((mention.start, mention.end, ""))
    for _, start, end in find_banned(text, brand.avoided_phrases() if brand else ()):
        edits.append((start, end, ""))
    if whole_sentences and any(not r for _, _, r in edits):
        # Whole sentences first: merge the deleted sentences so overlapping spans do not skip each other.
        spans = sorted(_sentence_span(text, s, e) for s, e, r in edits if not r)
        merged: list[tuple[int, int]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        deleted = [(start, end, "") for start, end in merged]
        kept = [(s, e, r) for s, e, r in edits if r and not any(ds <= s and e <= de for ds, de, _ in deleted)]
        candidate = _apply_edits(text, deleted + kept)
        if _has_words(candidate):
            return candidate
    # A deleted phrase takes its connective with it ("... and free shipping", "visit www...").
    edits = [(_connective_start(text, s) if not r else s, e, r) for s, e, r in edits]
    return _apply_edits(text, edits)


def finish_variant(
    variant: CopyVariant,
    channel: ChannelSpec,
    *,
    language: Language,
    hashtag_words: Sequence[str] = (),
    brand: BrandVoice | None = None,
) -> tuple[CopyVariant, list[str]]:
    """Return ``variant`` with the required parts that carry no claim filled in, and the rules they satisfy.

    Adds a default CTA where the channel requires one and the CTA is empty, a hashtag (from
    ``hashtag_words``) where the channel uses hashtags, the body has none and the tag still fits, and the
    brand's legal footer where the channel needs one. Nothing the copy says is changed, so this is not a
    repair: it spares a slow model call for a missing "#tag".
    """
    rules = channel.copy_rules
    added: list[str] = []
    footed = attach_legal_footer(variant, channel, language, brand)
    if footed is not variant and footed.footer:
        added.append("legal_footer")
    variant = footed
    cta, body = variant.cta, variant.body
    if rules.cta_required and not cta.strip():
        cta = DEFAULT_CTA[language]
        added.append("cta_present")
    if rules.hashtags and body.strip() and not hashtags_in(body):
        tag = make_hashtags(hashtag_words, language, count=1)
        if fits(f"{body.rstrip()} {tag}", rules.body_max, rules.unit):
            body = f"{body.rstrip()} {tag}"
            added.append("hashtags")
    if not added:
        return variant, added
    return variant.model_copy(update={"cta": cta, "body": body}), added


def repair_variant_deterministically(
    variant: CopyVariant,
    channel: ChannelSpec,
    *,
    language: Language,
    offer_percent: float | None,
    offer_text: str = "",
    no_discount: bool = False,
    brand: BrandVoice | None = None,
    hashtag_words: Sequence[str] = (),
) -> CopyVariant:
    """Return ``variant`` mechanically fixed to the channel's rules: the last resort after a model repair.

    Removes links, placeholders, banned claims and unoffered perks (in the body, with the sentence that
    held them, where other sentences remain); rewrites an off-offer percentage to the brief's (or deletes
    it where the brief offers none); adds a default CTA where one is required;
    adds hashtags (from ``hashtag_words``) where the channel uses them; trims headline, body and CTA to
    their limits at a word or character boundary. It cannot fix copy in the wrong language or a headline
    that scrubbing emptied (or left a fragment of, which it empties): re-check the result; the copywriter
    then puts the template's headline over the repaired body, or falls back to a template variant.
    """
    rules = channel.copy_rules
    scrub = {
        "offer_percent": offer_percent,
        "offer_text": offer_text,
        "no_discount": no_discount,
        "brand": brand,
    }
    headline = _scrub(variant.headline, **scrub)
    if headline != variant.headline and _is_fragment(headline, language):
        headline = ""  # "Save 30% now" scrubbed to "now" is no headline: the caller must supply one
    body = _scrub(variant.body, **scrub, whole_sentences=True)
    cta = _scrub(variant.cta, **scrub)
    if not cta and rules.cta_required:
        cta = DEFAULT_CTA[language]
    if len(cta) > CTA_MAX_CHARS[language]:
        cta = trim_to_limit(cta, CTA_MAX_CHARS[language], language) or DEFAULT_CTA[language]
    headline = trim_in_unit(headline, rules.headline_max, rules.unit_of("headline"), language)
    if rules.hashtags:
        body = _with_hashtags(body, rules.body_max, language, hashtag_words, rules.unit)
    else:
        body = trim_in_unit(body, rules.body_max, rules.unit, language)
    return attach_legal_footer(CopyVariant(headline=headline, body=body, cta=cta), channel, language, brand)


def _is_fragment(text: str, language: Language) -> bool:
    """Whether what is left of a scrubbed headline is too short to stand as one (under 2 words, or under 4
    Chinese characters)."""
    if language == "zh":
        return len(re.sub(r"\W", "", text)) < 4
    return len(re.findall(r"\w+", text)) < 2


def _with_hashtags(
    body: str, body_max: int, language: Language, hashtag_words: Sequence[str], unit: CopyUnit = "characters"
) -> str:
    """Return ``body`` trimmed to leave room for its hashtags (kept, or made) at the end."""
    existing = hashtags_in(body)
    tags = " ".join(existing[:3]) if existing else make_hashtags(hashtag_words, language)
    for tag in existing:
        body = body.replace(tag, "")
    body = tidy_text(body)
    room = fitting_length(body, body_max, unit, suffix=f" {tags}")
    if room <= 0:
        return trim_in_unit(tags, body_max, unit, language)
    return f"{trim_to_limit(body, room, language)} {tags}".strip()


def trim_in_unit(text: str, limit: int, unit: CopyUnit, language: Language) -> str:
    """Return ``text`` cut (as ``trim_to_limit`` cuts) to at most ``limit`` in ``unit``: the cut is a
    prefix, and a prefix never measures more than the text it starts."""
    text = text.strip()
    return trim_to_limit(text, fitting_length(text, limit, unit), language)

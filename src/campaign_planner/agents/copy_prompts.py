"""The copywriter's prompts: a stable system prefix per run, a short varying part per cell, repair notes.

The wording lives in ``prompts/copywriter.md``; this module decides what goes into each placeholder. It
keeps prompts short because the default local model reads ≈ 60 prompt tokens/s: two quotes, two needs,
two praised attributes, the channel's limits, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from campaign_planner.data.catalog import ChannelSpec
from campaign_planner.domain import Brief, CopyVariant, Evidence, RuleCheck, Segment
from campaign_planner.prompts import prompt_sections
from campaign_planner.render.messages import department_label, product_label
from campaign_planner.tools.copy_patterns import is_mostly_chinese, percent_to_zhe
from campaign_planner.tools.copy_rules import BrandVoice, Language, failed, make_hashtags, offending_phrases


def product_in_language(brief: Brief, language: Language) -> str:
    """Return the brief's product as copy in ``language`` names it: as written where it is in that language;
    a product the brief reader took from departments ("tops") in Chinese from the departments' names
    ("上衣"); else "" (the copy then says "our new collection" / "新品" rather than mix languages)."""
    product = brief.product.strip()
    if not product or is_mostly_chinese(product) == (language == "zh"):
        return product
    shown = product_label(product, language)
    return shown if shown != product else ""

# The body length asked of the model: shorter than most channel limits, so the answer fits the token cap.
BODY_TARGET_CHARS: dict[Language, int] = {"en": 120, "zh": 45}
# A small model cannot count characters but roughly keeps to a word count.
CHARS_PER_WORD = 7
QUOTES_PER_PROMPT = 2
# Room left in the body for the hashtags ``finish_variant`` may append on hashtag channels.
HASHTAG_ROOM = 30
QUOTE_MAX_CHARS = 160
PROFILE_ITEMS = 2

OBJECTIVES_ZH = {
    "revenue": "提升销售额",
    "conversions": "提升转化",
    "awareness": "提升品牌认知",
    "traffic": "引流",
    "retention": "老客复购",
    "acquisition": "拉新",
}
_NO_DISCOUNT = re.compile(
    r"\bno\s+(?:discounts?|promotions?|promo|coupons?|sales?)\b|\bfull[- ]price\b"
    r"|\bwithout\s+(?:a\s+)?discount"
    r"|不打折|无折扣|不降价|不做促销|不要折扣|不提供折扣|不参与折扣|原价销售",
    re.IGNORECASE,
)


def brief_forbids_discount(brief: Brief) -> bool:
    """Return True where the brief rules out discounts ("no discounts", "full price", "不打折")."""
    return any(_NO_DISCOUNT.search(text) for text in [brief.text, *brief.constraints])


@dataclass(frozen=True)
class CopyBriefing:
    """What every copy call of one run shares: brief, copy language, brand voice, offer, variant count."""

    brief: Brief
    language: Language
    brand: BrandVoice | None
    count: int
    offer_percent: float | None
    no_discount: bool
    hashtag_words: tuple[str, ...]

    @classmethod
    def from_brief(
        cls, brief: Brief, language: Language, brand: BrandVoice | None, count: int
    ) -> CopyBriefing:
        """Return the briefing for ``brief``: its offer, whether it forbids discounts, words for hashtags."""
        # A discount of 0% is the brief reader's "no discount" (see agents/brief_parser.py), never "0% off".
        offer_percent = brief.offer.discount_percent or None
        return cls(
            brief=brief,
            language=language,
            brand=brand,
            count=count,
            offer_percent=offer_percent,
            no_discount=offer_percent is None and (brief.offer.discount_percent == 0
                                                   or brief_forbids_discount(brief)),
            hashtag_words=tuple(w for w in [product_in_language(brief, language), *(
                department_label(d, language) for d in brief.audience.departments)] if w),
        )

    def section(self, name: str, **values: object) -> str:
        """Return the ``<name>.<language>`` section of the copywriter prompt with ``values`` filled in."""
        template = prompt_sections("copywriter")[f"{name}.{self.language}"]
        return template.substitute(**{key: str(value) for key, value in values.items()})


def system_prompt(briefing: CopyBriefing) -> str:
    """Return the stable prefix: role, rules, offer, tone and brand words — nothing cell-specific."""
    brief, brand, zh = briefing.brief, briefing.brand, briefing.language == "zh"
    tone = brief.tone or (", ".join(brand.tone) if brand and brand.tone else "")
    brand_rules = ""
    if brand and brand.words_to_use:
        brand_rules += "\n" + briefing.section("brand_use", words=", ".join(brand.words_to_use))
    if brand and brand.avoided_phrases():
        brand_rules += "\n" + briefing.section("brand_avoid", words=", ".join(brand.avoided_phrases()))
    return briefing.section(
        "system",
        product=product_in_language(brief, briefing.language) or ("新品" if zh else "our new collection"),
        objective=OBJECTIVES_ZH.get(brief.objective, brief.objective) if zh else brief.objective,
        tone=tone or ("亲切自然" if zh else "friendly and clear"),
        offer_rule=offer_rule(briefing),
        brand_rules=brand_rules,
        count=briefing.count,
    )


def offer_rule(briefing: CopyBriefing) -> str:
    """Return the one line telling the model which offer it may state (or that there is none)."""
    offer = briefing.brief.offer
    percent = briefing.offer_percent
    if percent is not None:
        if briefing.language == "zh":
            stated = f"立减{percent:g}%（即{percent_to_zhe(percent)}）"
            stated += f"，{offer.text}" if offer.text else ""
        elif f"{percent:g}%" in offer.text.replace(" ", ""):
            stated = offer.text  # "15% off first order" already says it all
        else:
            stated = f"{percent:g}% off" + (f" ({offer.text})" if offer.text else "")
        return briefing.section("offer_percent", offer=stated)
    if offer.text and not briefing.no_discount:
        return briefing.section("offer_text", offer_text=offer.text)
    return briefing.section("offer_none")


def prompt_quotes(
    segment: Segment,
    *,
    count: int = QUOTES_PER_PROMPT,
    max_chars: int = QUOTE_MAX_CHARS,
    min_chars: int = 1,
    order: Callable[[Evidence], Any] | None = None,
) -> list[tuple[str, str]]:
    """Return up to ``count`` (review id, quote) pairs, one line each, cut to ``max_chars`` at a word.

    Quotes shorter than ``min_chars`` are left out. ``order`` sorts the evidence first; by default very
    short quotes ("Love it!"), which carry no wording to borrow, go last and the rest keep their order.
    """
    quotes: list[tuple[str, str]] = []
    for evidence in sorted(segment.evidence, key=order or (lambda e: len(e.quote.strip()) < 20)):
        # One line, and the review's own double quotes cannot close the prompt's quotation marks.
        quote = re.sub(r"\s+", " ", evidence.quote).strip().replace('"', "'")
        if len(quote) < min_chars:
            continue
        if len(quote) > max_chars:
            quote = quote[:max_chars].rsplit(" ", 1)[0] + "…"
        quotes.append((evidence.review_id, quote))
        if len(quotes) == count:
            break
    return quotes


def channel_name(channel: ChannelSpec, language: Language) -> str:
    """Return the channel's name in the copy's language: a Chinese alias (小红书) for Chinese prompts."""
    if language == "zh" and not is_mostly_chinese(channel.name):
        chinese = [alias for alias in channel.aliases if is_mostly_chinese(alias)]
        if chinese:
            return chinese[0]
    return channel.name


def headline_label(channel: ChannelSpec, language: Language) -> str:
    """Return what the channel calls a headline ("Subject line"), or "标题" in Chinese prompts."""
    label = channel.copy_rules.headline_label
    if language == "zh" and not is_mostly_chinese(label):
        return "标题"
    return label[:1].upper() + label[1:]


def limits(channel: ChannelSpec, language: Language) -> dict[str, int]:
    """Return the length limits as the prompt states them: characters, and about as many words."""
    headline_max = channel.copy_rules.characters("headline", language)  # the platform's unit, in characters
    body_max = min(channel.copy_rules.characters("body", language), BODY_TARGET_CHARS[language])
    return {
        "headline_max": headline_max,
        "body_max": body_max,
        "headline_words": max(2, headline_max // CHARS_PER_WORD),
        "body_words": max(3, body_max // CHARS_PER_WORD),
    }


def hashtag_example(briefing: CopyBriefing) -> str:
    """Return the hashtag the prompt offers as an example ("#SummerDresses"), also the one added later."""
    return make_hashtags(briefing.hashtag_words, briefing.language, count=1)


# Segment names are built in English from the catalogue's departments; a Chinese prompt gets the Chinese
# words, or the model copies "Tops" into Chinese copy.
DEPARTMENTS_ZH = {"Dresses": "连衣裙", "Tops": "上衣", "Bottoms": "下装", "Jackets": "外套", "Intimate": "内衣",
                  "Trend": "潮流单品"}


def _segment_name(name: str, language: str) -> str:
    if language != "zh":
        return name
    for english, chinese in DEPARTMENTS_ZH.items():
        name = name.replace(english, chinese)
    return name


def cell_prompt(
    briefing: CopyBriefing, segment: Segment, channel: ChannelSpec, quotes: list[tuple[str, str]]
) -> str:
    """Return the varying part of a copy call: the segment, its quotes and the channel's limits."""
    zh = briefing.language == "zh"
    labels = ("需求", "好评点") if zh else ("Needs", "They praise")
    profile = segment.profile
    colon, separator = ("：", "；") if zh else (": ", "; ")
    # Pain points stay out of the prompt: the 1.5B model wrote "runs small in the bust" into the copy as
    # if it were a feature. Needs and praised attributes carry what the copy should answer.
    lines = [
        f"{label}{colon}{separator.join(items[:PROFILE_ITEMS])}"
        for label, items in zip(labels, (profile.needs, profile.praised_attributes), strict=True)
        if items
    ]
    # A concrete tag the model can copy; where it still writes none, finish_variant adds this one.
    hashtag_rule = (
        briefing.section("hashtags", example=hashtag_example(briefing)) if channel.copy_rules.hashtags else ""
    )
    return briefing.section(
        "cell",
        segment=_segment_name(segment.name, briefing.language),
        profile="\n".join(lines) or ("画像：暂无" if zh else "Profile: not known"),
        quotes="\n".join(f'[{rid}] "{quote}"' for rid, quote in quotes) or ("（无）" if zh else "(none)"),
        channel=channel_name(channel, briefing.language),
        headline_label=headline_label(channel, briefing.language),
        hashtag_rule=hashtag_rule,
        **limits(channel, briefing.language),
    )


def _quoted(phrases: list[str], language: Language) -> str:
    if language == "zh":
        return "、".join(f"“{phrase}”" for phrase in phrases)
    return ", ".join(f"'{phrase}'" for phrase in phrases)


def repair_prompt(
    briefing: CopyBriefing,
    channel: ChannelSpec,
    checks: list[list[RuleCheck]],
    variants: list[CopyVariant] | None = None,
    *,
    fresh: bool = False,
) -> str:
    """Return the repair request for the variants whose checks failed: one instruction per failed rule.

    Each instruction names the rule's problem and says what to do ("the body must be at most 90
    characters, about 12 words"). Given the ``variants``, a rule broken by words (a wrong offer, a banned
    word, a link, instruction text) names the exact phrases to delete; an offer problem also restates the
    only offer the brief makes (or that it makes none), and a banned word the brand's full list. The model
    is asked for exactly the failing variants, in order. ``fresh`` words it for a request that does not
    show the old draft (new variants avoiding the listed problems, see ``rewrite`` in the prompt file).
    """
    brand = briefing.brand
    avoided = [*(brand.avoided_phrases() if brand else [])]
    values = {
        **limits(channel, briefing.language),
        "label": headline_label(channel, briefing.language),
        "example": hashtag_example(briefing),
        "offer_rule": offer_rule(briefing),
        "avoid": briefing.section("fix_avoid", words=", ".join(avoided)) if avoided else "",
    }
    broken = [index for index, variant_checks in enumerate(checks) if failed(variant_checks)]
    lines = []
    for index in broken:
        for check in failed(checks[index]):
            phrases = (
                offending_phrases(
                    variants[index],
                    check.rule,
                    offer_percent=briefing.offer_percent,
                    offer_text=briefing.brief.offer.text,
                    no_discount=briefing.no_discount,
                    brand=brand,
                )
                if variants is not None
                else []
            )
            delete = briefing.section("fix_delete", phrases=_quoted(phrases, briefing.language)) if phrases else ""
            fix = briefing.section(f"fix.{check.rule}", detail=check.detail, delete=delete, **values)
            fix = re.sub(r"[ \t]{2,}", " ", fix).strip()
            if fresh:
                lines.append(f"- {fix}")
            else:
                lines.append(
                    f"第{index + 1}条：{fix}" if briefing.language == "zh" else f"Variant {index + 1}: {fix}"
                )
    lines = list(dict.fromkeys(lines))
    if fresh:
        return briefing.section("rewrite", problems="\n".join(lines), count=len(broken))
    which = ", ".join(str(index + 1) for index in broken)
    return briefing.section("repair", problems="\n".join(lines), which=which, count=len(broken))

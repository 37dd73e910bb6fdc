"""Template copy for when the model's output is unusable: built from the segment's praised attributes.

Template copy is plain but honest: it states only what customers praised and the brief's offer, in the
brief's language, and is trimmed to the channel's limits. Plans label it as a fallback.
"""

from __future__ import annotations

from collections.abc import Sequence

from campaign_planner.agents.copy_prompts import product_in_language
from campaign_planner.data.catalog import ChannelSpec
from campaign_planner.domain import Brief, CopyVariant, Segment
from campaign_planner.tools.copy_patterns import is_mostly_chinese
from campaign_planner.tools.copy_rules import BrandVoice, Language, repair_variant_deterministically

_DEFAULT_ATTRIBUTES: dict[Language, tuple[str, str]] = {
    "en": ("quality", "comfort"),
    "zh": ("舒适", "好搭配"),
}
_DEFAULT_PRODUCT: dict[Language, str] = {"en": "our new collection", "zh": "新品"}

# The A/B hypothesis each pattern tests, in pattern order (a cell's template variants differ in angle).
TEMPLATE_ANGLES: tuple[str, ...] = ("social_proof", "benefit", "novelty")

# (headline, body) patterns; {a1}/{a2} are praised attributes, {product} the brief's product, {offer} the
# offer sentence (empty where the brief has no percentage offer).
_PATTERNS: dict[Language, tuple[tuple[str, str], ...]] = {
    "en": (
        ("Loved for its {a1}", "Customers keep praising the {a1} and {a2}. {offer}Find yours today."),
        ("{A1}, picked for you", "{Product} with the {a1} people ask for. {offer}"),
        ("New in: {product}", "Fresh styles with the {a2} you like. {offer}Take a look."),
    ),
    "zh": (
        ("好评不断的{product}", "顾客都在夸它{a1}又{a2}。{offer}快来挑选吧！"),
        ("{a1}，穿出好心情", "为你精选{product}，{a1}、{a2}。{offer}"),
        ("{product}上新", "新款到了：{a1}、{a2}。{offer}现在就来看看。"),
    ),
}


def _offer_sentence(offer_percent: float | None, language: Language) -> str:
    if offer_percent is None:
        return ""
    return f"Enjoy {offer_percent:g}% off. " if language == "en" else f"立减{offer_percent:g}%。"


def _attributes(segment: Segment, language: Language) -> tuple[str, str]:
    # Attributes in another language than the copy would fail the language rule; keep matching ones only.
    usable = [
        attribute.strip()
        for attribute in segment.profile.praised_attributes
        if attribute.strip() and is_mostly_chinese(attribute) == (language == "zh")
    ]
    defaults = _DEFAULT_ATTRIBUTES[language]
    first = usable[0] if usable else defaults[0]
    second = usable[1] if len(usable) > 1 else (defaults[1] if first != defaults[1] else defaults[0])
    return (first.lower(), second.lower()) if language == "en" else (first, second)


def _product(brief: Brief, language: Language) -> str:
    return product_in_language(brief, language) or _DEFAULT_PRODUCT[language]


def template_variant(
    index: int,
    *,
    segment: Segment,
    brief: Brief,
    channel: ChannelSpec,
    language: Language,
    offer_percent: float | None,
    brand: BrandVoice | None = None,
    hashtag_words: Sequence[str] = (),
) -> CopyVariant:
    """Return the ``index``-th template variant (patterns cycle) for ``segment`` on ``channel``.

    The variant goes through the deterministic repair, so it is within the channel's limits, carries a
    CTA and hashtags where needed and states no discount but ``offer_percent``.
    """
    headline_pattern, body_pattern = _PATTERNS[language][index % len(_PATTERNS[language])]
    first, second = _attributes(segment, language)
    product = _product(brief, language)
    values = {
        "a1": first,
        "a2": second,
        "product": product,
        "Product": product[:1].upper() + product[1:],
        "A1": first[:1].upper() + first[1:],
        "offer": _offer_sentence(offer_percent, language),
    }
    draft = CopyVariant(
        headline=headline_pattern.format(**values),
        body=body_pattern.format(**values).strip(),
        cta="",
    )
    repaired = repair_variant_deterministically(
        draft,
        channel,
        language=language,
        offer_percent=offer_percent,
        offer_text=brief.offer.text,
        brand=brand,
        hashtag_words=hashtag_words,
    )
    return repaired.model_copy(update={"angle": TEMPLATE_ANGLES[index % len(TEMPLATE_ANGLES)]})

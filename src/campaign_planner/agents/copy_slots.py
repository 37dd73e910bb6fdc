"""The slot method: the model fills short slots, the copywriter composes and fits whole phrases.

A 1.5B model writes a good short phrase but loses the thread in a 120-character body and invents offer
terms. So each candidate is a few slots under the grammar — ``angle``, ``headline``, ``benefit`` (one
sentence), ``proof`` (words from a customer quote), ``cta`` — and :func:`compose` builds the variant:
the proof becomes the customers' verbatim words (the quote clause it matches, with its review id in
``inspired_by``), the offer line comes from the brief, never the model, and the body is fitted to the
channel by choosing which whole sentences to keep, never by cutting one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from campaign_planner.agents.copy_prompts import (
    HASHTAG_ROOM,
    OBJECTIVES_ZH,
    CopyBriefing,
    channel_name,
    product_in_language,
)
from campaign_planner.agents.copy_prompts import (
    prompt_quotes as draft_prompt_quotes,
)
from campaign_planner.data.catalog import ChannelSpec
from campaign_planner.domain import CopyVariant, Segment
from campaign_planner.prompts import prompt_sections
from campaign_planner.tools.copy_craft import ANGLES, complete_ending, incomplete_ending, said_in_a_review
from campaign_planner.tools.copy_length import fits
from campaign_planner.tools.copy_lexicon import COMPLAINTS
from campaign_planner.tools.copy_patterns import find_discount_mentions, is_mostly_chinese, perks_in
from campaign_planner.tools.copy_rules import CTA_MAX_CHARS, DEFAULT_CTA, Language

Angle = Literal["benefit", "social_proof", "offer", "urgency", "novelty"]
FORMATS = ("short", "social", "long")
# Which few-shot example a channel gets: its copy's shape, not its name.
CHANNEL_FORMAT: dict[str, str] = {
    "sms": "short", "push": "short", "search": "short", "display": "short", "ooh": "short",
    "youtube": "short", "instagram": "social", "tiktok": "social", "pinterest": "social",
    "influencer": "social", "weibo": "social", "douyin": "social", "xiaohongshu": "social",
}
FORMAT_NAMES = {"en": {"short": "short", "social": "social", "long": "long"},
                "zh": {"short": "短格式", "social": "种草格式", "long": "长格式"}}
# Slot lengths asked for and allowed by the grammar. The headline's grammar cap sits above the channel's
# limit, so the grammar never cuts a headline mid-word: an overlong one loses to a candidate that fits.
BENEFIT_MAX: dict[Language, int] = {"en": 80, "zh": 30}
PROOF_MAX: dict[Language, int] = {"en": 60, "zh": 16}
HEADLINE_GRACE = 20
CTA_SLOT_MAX = 24
# Candidates per cell beyond the variants needed: best-of-n, selected by the checks.
EXTRA_CANDIDATES = 1
QUOTES_PER_PROMPT = 3
QUOTE_MAX_CHARS = 140
# A clause of a review reads as praise unless it carries one of these (a proof must not be a complaint).
_NEGATIVE = re.compile(
    r"\b(?:not|no|never|n't|but|however|too|small|tight|thin|cheap|itchy|return(?:ed|ing)?|disappoint\w*|"
    r"poor|wish|unfortunately|sadly|huge|boxy|short|scratchy|see-through|sheer|runs|snug|odd|weird|"
    r"strange|unflattering|bad|worst|hate|ripped|broke|tore|faded|pilled?|shrunk|shrank)\b",
    re.IGNORECASE,
)
# A review sentence that carries these is a complaint or a hope, not praise, whatever its clauses say
# ("I thought this sweater would be amazing", "I really wanted to like this dress").
_NEGATIVE_QUOTE = re.compile(
    r"\b(?:but|however|though|although|disappoint\w*|return(?:ed|ing)?|unfortunately|sadly|wanted\s+to\s+"
    r"(?:like|love)|thought|(?<!everything i )hoped|expected|wish|on\s+the\s+fence|did\s+not|didn't|not|never|no)\b|"
    r"但是|不过|可惜|失望|退货|本来",
    re.IGNORECASE,
)
# Clauses that read as a fragment or carry the dataset's anonymised shop name ("shopping at retailer").
_NOT_A_PROOF = re.compile(r"^(?:and|or|but|so|because|which|that|who|when|if|as|plus|also)\b|\bretailer\b",
                          re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
_PROOF_STOP = frozenset("the a an and or but to of for with in on at is it this that so very really my i".split())


def channel_format(channel: ChannelSpec) -> str:
    """Return the copy format of ``channel`` (short, social or long), named in the cell prompt."""
    return CHANNEL_FORMAT.get(channel.id, "long")


@cache
def slot_schema(count: int, headline_max: int, language: Language) -> type[BaseModel]:
    """Return ``{"candidates": [slots × count]}``: the angle an enum, every slot length-capped in the
    grammar (the headline ``HEADLINE_GRACE`` characters above the channel limit)."""
    candidate = create_model(
        f"CopySlots{headline_max}{language}",
        angle=(Angle, ...),
        headline=(str, Field(json_schema_extra={"maxLength": headline_max + HEADLINE_GRACE})),
        benefit=(str, Field(json_schema_extra={"maxLength": BENEFIT_MAX[language] + 20})),
        proof=(str, Field(json_schema_extra={"maxLength": PROOF_MAX[language] + 10})),
        cta=(str, Field(json_schema_extra={"maxLength": CTA_SLOT_MAX})),
    )
    return create_model(
        f"CopySlotSet{count}",
        candidates=(list[candidate], Field(min_length=count, max_length=count)),  # type: ignore[valid-type]
    )


def max_tokens_for_slots(channel: ChannelSpec, language: Language, count: int) -> int:
    """Return the token cap for ``count`` candidates: the longest slots the grammar allows, plus JSON."""
    headline = channel.copy_rules.characters("headline", language)
    chars = headline + HEADLINE_GRACE + BENEFIT_MAX[language] + PROOF_MAX[language] + 50
    per_token = 3.0 if language == "en" else 1.0
    return int(chars / per_token + 40) * count + 10


def slot_system_prompt(briefing: CopyBriefing) -> str:
    """Return the stable prefix of every slot call of a run: role, slots, rules, the campaign's product,
    tone, offer and brand words."""
    brief, brand, zh = briefing.brief, briefing.brand, briefing.language == "zh"
    sections = prompt_sections("copy_slots")
    lang = briefing.language

    def section(name: str, **values: object) -> str:
        return sections[f"{name}.{lang}"].substitute(**{k: str(v) for k, v in values.items()})

    tone = brief.tone or (", ".join(brand.tone) if brand and brand.tone else "")
    brand_rules = ""
    if brand and brand.words_to_use:
        brand_rules += "\n" + section("brand_use", words=", ".join(brand.words_to_use))
    if brand and brand.avoided_phrases():
        brand_rules += "\n" + section("brand_avoid", words=", ".join(brand.avoided_phrases()))
    line = offer_line(briefing)
    return section(
        "system",
        product=product_in_language(brief, lang) or ("新品" if zh else "our new collection"),
        objective=OBJECTIVES_ZH.get(brief.objective, brief.objective) if zh else brief.objective,
        tone=tone or ("亲切自然" if zh else "friendly and clear"),
        offer_headline="\n" + (section("offer_headline", offer=line.rstrip(".。")) if line
                                else section("no_offer")),
        brand_rules=brand_rules,
    )


def prompt_quotes(segment: Segment) -> list[tuple[str, str]]:
    """Return up to three (review id, quote) pairs, one line each, the longest (most wording) first."""
    return draft_prompt_quotes(segment, count=QUOTES_PER_PROMPT, max_chars=QUOTE_MAX_CHARS, min_chars=12,
                               order=lambda e: -len(e.quote.strip()))


# What the copy sells, by catalogue department, as a shopper calls it.
GARMENT_NAMES: dict[Language, dict[str, str]] = {
    "en": {"Dresses": "dresses", "Tops": "tops", "Bottoms": "jeans, trousers and skirts",
           "Jackets": "jackets and coats", "Intimate": "lingerie and loungewear", "Trend": "this season's styles"},
    "zh": {"Dresses": "连衣裙", "Tops": "上衣", "Bottoms": "裤装和半身裙", "Jackets": "外套",
           "Intimate": "内衣和家居服", "Trend": "当季新款"},
}


def garment_name(briefing: CopyBriefing, departments: Sequence[str]) -> str:
    """Return what the cell's copy sells: the segment's departments as a shopper calls them, else the
    brief's product (in the copy's language), else "our new collection"."""
    names = GARMENT_NAMES[briefing.language]
    named = [names[d] for d in departments if d in names]
    if named:
        return ("、" if briefing.language == "zh" else ", ").join(dict.fromkeys(named))
    return product_in_language(briefing.brief, briefing.language) or (
        "新品" if briefing.language == "zh" else "our new collection")


def slot_cell_prompt(briefing: CopyBriefing, segment: Segment, channel: ChannelSpec,
                     quotes: list[tuple[str, str]], count: int) -> str:
    """Return the varying part of a slot call: needs, praise, quotes, the channel's format and limits.
    The segment's name stays out: the model copied it into headlines ("小红书：35 岁上衣粉丝...")."""
    zh = briefing.language == "zh"
    separator = "；" if zh else "; "
    profile = segment.profile
    section = prompt_sections("copy_slots")[f"cell.{briefing.language}"]
    headline_max = channel.copy_rules.characters("headline", briefing.language)  # in characters
    return section.substitute(
        # "quality fabrics (39% mention fabric)": the share is for the planner; a percentage in the prompt
        # invites one in the copy.
        needs=separator.join(re.sub(r"\s*\([^)]*\)", "", need) for need in profile.needs[:2])
        or ("暂无" if zh else "not known"),
        praise=separator.join(profile.praised_attributes[:3]) or ("暂无" if zh else "not known"),
        quotes="\n".join(f'[{rid}] "{quote}"' for rid, quote in quotes) or ("（无）" if zh else "(none)"),
        garment=garment_name(briefing, segment_departments(segment)),
        format=FORMAT_NAMES[briefing.language][channel_format(channel)],
        channel=channel_name(channel, briefing.language),
        headline_max=headline_max,
        headline_words=max(2, headline_max // 7),
        benefit_max=BENEFIT_MAX[briefing.language],
        count=count,
    )


def segment_departments(segment: Segment) -> list[str]:
    """Return the catalogue departments ``segment`` is defined by (none: it spans every department)."""
    departments = segment.definition.get("departments")
    return [str(d) for d in departments] if isinstance(departments, list) else []


def rewrite_prompt(briefing: CopyBriefing, problems: list[str], count: int) -> str:
    """Return the request for ``count`` new candidates avoiding ``problems`` (the old draft is not shown:
    shown it, the 1.5B model returns it unchanged)."""
    section = prompt_sections("copy_slots")[f"rewrite.{briefing.language}"]
    return section.substitute(problems="\n".join(f"- {p}" for p in problems), count=count)


_PERK_LINES = {
    "en": {"free_shipping": "Free shipping.", "free_returns": "Free returns.", "bogo": "Buy one, get one.",
           "free_gift": "A free gift with your order."},
    "zh": {"free_shipping": "包邮。", "free_returns": "免费退换。", "bogo": "买一送一。", "free_gift": "赠品相送。"},
}


def offer_line(briefing: CopyBriefing) -> str:
    """Return the offer sentence the brief licenses ("15% off. Free returns.", "立减15%。"), or "" where the
    brief offers nothing or forbids discounts. Built from the brief, never from model text."""
    if briefing.no_discount:
        return ""
    lang = briefing.language
    parts = []
    percent = briefing.offer_percent
    if percent is not None:
        parts.append(f"{percent:g}% off." if lang == "en" else f"立减{percent:g}%。")
    offer_text = briefing.brief.offer.text
    parts += [_PERK_LINES[lang][perk] for perk in sorted(perks_in(offer_text))]
    return " ".join(parts) if lang == "en" else "".join(parts)


@dataclass(frozen=True)
class Proof:
    """A phrase a customer wrote (verbatim for English copy) and the review it comes from."""

    text: str
    review_id: str


def _clauses(quote: str) -> list[str]:
    return [c.strip(" '\"-–—") for c in re.split(r"[.,;:!?()…]+|\s+-\s+|--+|\s—\s?", quote) if c.strip()]


# A proof must praise: it carries one of these words (or shares a word with what the segment praises).
_PRAISE = re.compile(
    r"\b(?:love[sd]?|soft|comfortable|comfy|flatter\w*|perfect(?:ly)?|beautiful(?:ly)?|gorgeous|great|"
    r"fits?|true to size|compliments?|cute|pretty|quality|warm|well made|lovely|elegant|stunning|light|"
    r"breezy|cozy|cosy|favou?rite|drapes?|stretchy|versatile|flowy|chic|classic|amazing|wonderful)\b",
    re.IGNORECASE,
)


def _content(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in _PROOF_STOP}


def find_proof(slot_proof: str, quotes: list[tuple[str, str]], preferred: int, language: Language,
               praised: Sequence[str] = ()) -> Proof | None:
    """Return the customers' words behind a candidate's ``proof`` slot.

    English: the quote clause (2–10 words, praise rather than a complaint) sharing most words with the slot,
    verbatim; where none shares half of the slot's words, a clause of the ``preferred`` quote (else of any)
    sharing most words with what the segment ``praised``. Chinese copy
    cannot quote English reviews: the slot's Chinese wording stands, attributed to the ``preferred`` quote
    it was written from. None where nothing usable is left.
    """
    if not quotes:
        return None
    preferred = preferred % len(quotes)
    if language == "zh":
        text = slot_proof.strip().strip("“”\"'。，")
        if not text or not is_mostly_chinese(text) or len(text) > PROOF_MAX["zh"] or COMPLAINTS.search(text):
            return None
        # The wording is a translation: it stands only where a praising review names every quality it
        # names (the quote it was written from first), and is attributed to that review.
        order = [preferred, *(i for i in range(len(quotes)) if i != preferred)]
        for index in order:
            review_id, quote = quotes[index]
            if not _NEGATIVE_QUOTE.search(quote) and said_in_a_review(text, [quote]):
                return Proof(text, review_id)
        return None
    wanted = _content(slot_proof)
    praise_words = {w for attribute in praised for w in _content(attribute)}
    best: tuple[float, Proof] | None = None
    fallback: tuple[int, Proof] | None = None
    for index, (review_id, quote) in enumerate(quotes):
        if _NEGATIVE_QUOTE.search(quote):
            continue  # "The dress is beautiful but runs small": its praise is not what she concluded
        for clause in _clauses(quote):
            words = len(clause.split())
            if (not 2 <= words <= 10 or len(clause) > PROOF_MAX["en"] or _NEGATIVE.search(clause)
                    or _NOT_A_PROOF.search(clause)):
                continue
            shared = len(praise_words & _content(clause))
            if not _PRAISE.search(clause) and not shared:
                continue
            # The quote this candidate was written from first, then the clause with most praised words.
            rank = (index == preferred) * 100 + shared
            if fallback is None or rank > fallback[0]:
                fallback = (rank, Proof(clause, review_id))
            if wanted:
                score = len(wanted & _content(clause)) / len(wanted)
                if score >= 0.5 and (best is None or score > best[0]):
                    best = (score, Proof(clause, review_id))
    return best[1] if best else (fallback[1] if fallback else None)


def _sentence(text: str, language: Language) -> str:
    text = re.sub(r"\s+", " ", text).strip().strip("\"“”")
    if not text:
        return ""
    text = complete_ending(text, language, sentence=True)
    if language == "en" and text:
        text = text[0].upper() + text[1:]
    return text


def _proof_sentence(proof: Proof | None, language: Language, *, plain_quotes: bool = False) -> str:
    """The customer's words as a sentence; ``plain_quotes`` for an English SMS, where curly quotes would
    turn the whole message into UCS-2 (70 characters a segment instead of 160)."""
    if proof is None:
        return ""
    if language == "zh":
        return f"顾客说：“{proof.text}”。"
    text = proof.text[0].upper() + proof.text[1:]
    if plain_quotes:
        return f'"{text}," one customer wrote.'
    return f"“{text},” one customer wrote."


_ORDER: dict[str, tuple[str, ...]] = {
    "benefit": ("benefit", "proof", "offer"),
    "social_proof": ("proof", "benefit", "offer"),
    "offer": ("offer", "benefit", "proof"),
    "urgency": ("benefit", "offer", "proof"),
    "novelty": ("benefit", "proof", "offer"),
}


def fit_sentences(sentences: dict[str, str], order: tuple[str, ...], room: int, language: Language,
                  fits_platform: Callable[[str], bool] | None = None) -> str:
    """Return the body: the sentences of ``order`` that fit in ``room`` characters (and, where given,
    ``fits_platform``: the channel's own unit, SMS segments or display width), chosen whole (the first
    always, the rest where they still fit), in reading order. Never cuts a sentence; "" where even the
    first does not fit."""
    chosen: list[str] = []
    joiner = "" if language == "zh" else " "
    for key in order:
        sentence = sentences.get(key, "")
        if not sentence:
            continue
        candidate = joiner.join([*chosen, sentence])
        if len(candidate) <= room and (fits_platform is None or fits_platform(candidate)):
            chosen.append(sentence)
        elif not chosen:
            return ""
    return joiner.join(chosen)


_PHRASE_BREAK = {
    "en": re.compile(r"\s*[,:;—–]\s*|\s+-\s+|\s+(?=(?:that|which|with|for|in|on|so|and|because)\s)", re.I),
    "zh": re.compile(r"[，,：:；;、—]"),
}


def _leading_phrases(text: str, language: Language) -> list[str]:
    """Return the whole leading phrases of ``text``, longest first: "Dresses that flatter every shape" →
    ["Dresses"]... split where a clause or a qualifier starts, never inside a word."""
    cuts = [m.start() for m in _PHRASE_BREAK[language].finditer(text) if m.start() > 0]
    return [text[:cut].strip() for cut in sorted(cuts, reverse=True)]


def _headline(options: list[str], limit: int, language: Language) -> str:
    """Return the first whole phrase among ``options`` that fits ``limit`` and ends cleanly."""
    for option in options:
        option = re.sub(r"\s+", " ", option).strip().strip("\"“”").rstrip("。.")
        if option and len(option) <= limit and incomplete_ending(option, language) is None:
            return option
    return options[0].strip() if options else ""


def compose(slots: Any, *, briefing: CopyBriefing, channel: ChannelSpec, quotes: list[tuple[str, str]],
            index: int, body_room: int, segment_words: Sequence[str] = ()) -> CopyVariant:
    """Return the variant built from one candidate's slots (see the module docstring): headline chosen among
    whole phrases (the slot, then the benefit's first clause), body fitted to ``body_room`` characters, the
    offer line from the brief, the proof the customers' words with its review id in ``inspired_by``
    (``segment_words``: what the segment praises and needs, to pick a proof where the slot matches none)."""
    language = briefing.language
    angle = str(getattr(slots, "angle", "benefit"))
    benefit = _sentence(str(getattr(slots, "benefit", "")), language)
    if find_discount_mentions(benefit):
        # The offer line states the brief's offer; a benefit that states one too repeats or bends it.
        benefit = ""
    proof = find_proof(str(getattr(slots, "proof", "")), quotes, index, language,
                       praised=[*segment_words])
    rules = channel.copy_rules
    plain = rules.unit == "sms_segments" and language == "en"
    sentences = {"benefit": benefit, "proof": _proof_sentence(proof, language, plain_quotes=plain),
                 "offer": offer_line(briefing)}
    if not sentences["offer"] and angle in ("offer", "urgency"):
        # Without an offer there is nothing to claim now: the variant tests what its words say.
        angle = "benefit" if benefit else "social_proof"
    if angle == "social_proof" and not sentences["proof"]:
        # No customer's words to lead with: the variant tests what it does say.
        angle = "benefit" if benefit else "offer"
    order = _ORDER.get(angle, _ORDER["benefit"])
    # The hashtags the rules add later take their room in the platform's unit too.
    tag_room = " " + "#" * HASHTAG_ROOM if rules.hashtags else ""
    body = fit_sentences(sentences, order, body_room, language,
                         fits_platform=lambda text: fits(text + tag_room, rules.body_max, rules.unit))
    first_clause = re.split(r"[,，.。!！?？;；:：]", benefit)[0]
    written = str(getattr(slots, "headline", ""))
    product = product_in_language(briefing.brief, language)
    product_title = product[:1].upper() + product[1:]
    headline = _headline([written, *_leading_phrases(written, language), first_clause,
                          *_leading_phrases(first_clause, language), product_title],
                         channel.copy_rules.characters("headline", language), language)
    cta = re.sub(r"\s+", " ", str(getattr(slots, "cta", ""))).strip().rstrip("。.!！")
    if not cta or len(cta) > CTA_MAX_CHARS[language] or incomplete_ending(cta, language):
        cta = DEFAULT_CTA[language]
    used = [proof.review_id] if proof is not None and sentences["proof"] in body else []
    return CopyVariant(headline=headline, body=body, cta=cta, angle=angle if angle in ANGLES else "",
                       inspired_by=used)

"""Craft checks for copy a marketer would send, each with a deterministic repair.

The channel rules (:mod:`campaign_planner.tools.copy_rules`) judge form and the offer's percentage; these
judge whether a shopper could be sent the text. Rule names are stable (plans, evals and renderers key on
them):

- ``no_brief_internals``: none of the brief's planning facts — the budget figure, the campaign's duration,
  audience specs ("women 25-40", "35 岁"), channel names and lists, segment labels, internal words
  ("segment", "budget", "目标人群");
- ``offer_terms_given``: no offer condition, amount or code the brief does not give ("first order" where
  the brief says only "15% off", "use code SAVE20", "满300减50");
- ``complete_phrases``: headline, body and CTA end as finished phrases: no trailing conjunction,
  preposition, article, colon or comma, no word cut off; the body (before its hashtags) ends a sentence;
- ``no_repetition``: no word stem twice in one sentence ("a flattering fit that flatters"), no phrase twice;
- ``quotes_verbatim``: what the copy puts in quotation marks is a customer's words, verbatim from the
  segment's reviews, and the copy speaks in no customer's voice of its own ("I'm so happy with my purchase"
  is an invented testimonial); Chinese copy quotes Chinese wording of English reviews, so only its voice is
  checked;
- ``chinese_only``: Chinese copy carries Latin letters only for what the brief or brand gives (brand
  names, codes, hashtags) and Chinese words such as T恤 (passes for English copy);
- ``on_product``: the copy sells the campaign's garments in the campaign's season: no garment of another
  department ("这款毛衣" in a dress campaign) and, where the brief names a season, no other season
  ("autumn/winter" in a summer launch); vocabularies in :mod:`campaign_planner.tools.copy_lexicon`;
- ``no_complaints``: the copy states no flaw customers complain of ("runs small", "see-through", "偏小").

A cell's variants are checked together by :func:`check_distinct` (``distinct_angle``): each states its
hypothesis (:data:`ANGLES`) and differs from the earlier variants in angle and in wording — word-set
similarity below :data:`NEAR_IDENTICAL_SIMILARITY`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from campaign_planner.data.catalog import ChannelCatalog
from campaign_planner.domain import Brief, CopyVariant, RuleCheck
from campaign_planner.intake.departments import find_departments
from campaign_planner.tools.copy_lexicon import COMPLAINTS, concepts, find_garments, find_seasons
from campaign_planner.tools.copy_patterns import chinese_number, hashtags_in
from campaign_planner.tools.copy_rules import BrandVoice, Language, tidy_text

CRAFT_RULES: tuple[str, ...] = (
    "no_brief_internals",
    "offer_terms_given",
    "complete_phrases",
    "no_repetition",
    "quotes_verbatim",
    "chinese_only",
    "on_product",
    "no_complaints",
)
DISTINCT_RULE = "distinct_angle"

# The hypothesis an A/B variant tests. A variant that names none tests nothing the team can learn from.
ANGLES: tuple[str, ...] = ("benefit", "social_proof", "offer", "urgency", "novelty")

# Two variants whose word sets overlap this much (Jaccard, headline + body without hashtags) say the same
# thing: a variant that differs from another only by a hashtag, a CTA or one adjective scores ≥ 0.7 on
# the copy measured in docs/benchmarks.md, and variants written from different angles score ≤ 0.35.
# 0.6 sits between, leaving room for the offer line both variants may share on a short channel.
NEAR_IDENTICAL_SIMILARITY = 0.6

_EN_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                    "nine": 9, "ten": 10, "twelve": 12}
# Channel names that are also everyday words in copy ("floral print", "search no more", "ooh").
_GENERIC_CHANNEL_WORDS = frozenset(
    "search display print push ooh red pins texts outdoor banner banners magazine magazines newspaper "
    "newspapers creators newsletter programmatic audio 户外 平面 报纸 杂志 搜索 推送 达人 网红 公众号".split()
)
_INTERNAL_WORDS = re.compile(
    r"\b(?:(?:this|the|our|target|customer|audience)\s+segments?|segments?\b(?=\s+(?:of|who|that))|"
    r"target(?:ed)?\s+(?:audience|group|customers)|budget|kpis?|roi|cohorts?|personas?|demographics?|"
    r"retailer-heavy|[a-z]+-heavy|multichannel|history_segment|[a-z]+_[a-z_]+|"
    r"(?:all-category|dresses|tops|bottoms|jackets|intimates?|trend)\s+(?:fans|shoppers))\b"
    r"|预算|目标人群|目标客群|人群画像|细分人群|投放|渠道|转化率|"
    r"(?:连衣裙|上衣|下装|外套|内衣|潮流单品)(?:粉丝|买家)",
    re.IGNORECASE,
)
_AGE_SPEC = re.compile(
    r"(?:\b(?:for\s+)?(?:women|men|ladies|girls|customers|shoppers|people|those)\s+)?"
    r"(?:\b(?:aged|ages?)\s+)?\b[1-9]\d\s*(?:[-–—~]|to)\s*[1-9]\d\b(?:\s*(?:years?\s*old|yo)\b)?"
    r"|\b(?:women|men|ladies|customers|shoppers)\s+(?:over|under|aged|above)\s+[1-9]\d\b"
    r"|\b(?:over|under|aged|above)\s+[1-9]\d\b(?!\s*%)"
    r"|\b(?:for|at)\s+(?:ages?\s+)?[1-9]\d\b(?![\s-]*(?:%|percent|days?|hours?|minutes?|nights?|weeks?|months?"
    r"|years?|items?|pieces?|styles?|looks?|colou?rs?|[$€£¥]))"
    r"|\b[1-9]\d\+"
    r"|[1-9]\d\s*(?:到|至|-|–|~)\s*[1-9]\d\s*岁|[1-9]\d\s*岁(?:以上|以下|左右)?"
    r"|[十二三四五六七八九][十]?[一二三四五六七八九]?岁",
    re.IGNORECASE,
)
_WEEKS = re.compile(
    r"(?:\b(?:over|for|in|across|within)\s+(?:the\s+next\s+)?)?"
    r"\b(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|twelve)[\s-]+weeks?\b"
    r"|(?:为期|连续|持续)?(?P<zh>\d{1,2}|[一二两三四五六七八九十]{1,2})\s*(?:个)?(?:周|星期)",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"(?P<cur>[$€£¥￥])\s?(?P<num>\d[\d,]*(?:\.\d+)?)\s*(?P<mult>[kKmM]\b|万|千)?"
    r"|(?P<num2>\d[\d,]*(?:\.\d+)?)\s*(?P<mult2>[kK]\b|万|千)?\s*(?:元|块|USD|EUR|dollars|euros|人民币)",
)

# Offer conditions: (what, pattern in copy, pattern in the brief that licenses it).
_CONDITIONS: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...] = tuple(
    (what, re.compile(copy, re.IGNORECASE), re.compile(brief, re.IGNORECASE))
    for what, copy, brief in (
        ("first order", r"(?:\b(?:on|for|with)\s+)?(?:\byour\s+|\bthe\s+)?\bfirst[- ](?:order|purchase|buy)s?\b"
         r"|(?:\bfor\s+)?\bfirst[- ]time\s+(?:buyers?|customers?|shoppers?)\b",
         r"first[- ](?:order|purchase|buy|time)|new customers?|首单|新客"),
        ("new customers only", r"\bnew\s+customers?(?:\s+only)?\b|\bnewcomers?\b|新客(?:专享)?|新人(?:专享)?",
         r"new customers?|first[- ](?:order|time)|新客|新人|首单"),
        ("members only", r"\bmembers?\s+only\b|\bfor\s+members\b|会员专享|仅限会员", r"members?|会员"),
        ("first order", r"首单", r"首单|first[- ]order"),
        ("sitewide", r"\b(?:site|store)[- ]?wide\b|\bon\s+everything\b|\bentire\s+(?:order|store|site)\b|全场",
         r"(?:site|store)[- ]?wide|everything|entire|全场"),
        ("minimum spend", r"\b(?:orders?|spend)\s+(?:over|above|of)\s+[$€£¥]?\d+|\bminimum\s+(?:spend|order)\b"
         r"|满\s*\d+", r"minimum|orders? over|spend over|满\s*\d+|满减"),
        ("time limit", r"\b(?:today|tonight|this\s+weekend|this\s+week|\d+\s+hours?)\s+only\b|\bends\s+"
         r"(?:today|tonight|soon|sunday|midnight|friday)\b|\blimited[- ]time\b|\blast\s+chance\b|\bfinal\s+hours?\b"
         r"|\bwhile\s+(?:stocks?|supplies)\s+last\b|限时|仅限今[天日]|今[天日]截止|仅此一天|倒计时|最后\s*\d+\s*天",
         r"flash|weekend|today|limited|ends|deadline|限时|大促|618|双十一|双11|秒杀|周末"),
        ("stock limit", r"\bonly\s+\d+\s+left\b|\blimited\s+stock\b|\bselling\s+fast\b|限量|前\s*\d+\s*名|售完即止",
         r"limited stock|限量"),
        ("selected items", r"\bselected\s+(?:items|styles|lines)\b|\bexclusions\s+apply\b|部分商品|指定商品",
         r"selected|指定|部分"),
        ("next order", r"\b(?:on|for)\s+your\s+next\s+(?:order|purchase|visit)\b|\bnext\s+(?:order|purchase)\b"
         r"|下次(?:购买|下单|购物)", r"next (?:order|purchase)|下次"),
        # "Get your top for free today!": nothing is free unless the brief gives it (free shipping, a gift).
        ("free", r"(?<![\w-])(?:for\s+)?free\b(?!\s*(?:-|\s)(?:spirit|flowing|shipping|returns?|delivery|gift))"
         r"(?<!wrinkle-free)|免费(?!退换|包邮|配送|送货)|白送|零元|0元",
         r"\bfree\b(?!\s+(?:shipping|returns?|delivery|gift))|免费|白送|0元"),
        # "原价，现只需" with no price: a price claim the brief does not make.
        ("price claim", r"原价|现价|现只需|只需\s*\d|仅需|低至|特价|\bnow\s+only\b|\bwas\s+[$€£¥]|\bjust\s+[$€£¥]\d",
         r"原价|现价|特价|低至|\bwas\b|\bnow only\b"),
    )
)
_CODE = re.compile(
    r"(?:\b(?i:use|with|enter|apply)\s+(?:the\s+)?)?\b(?i:promo\s+|discount\s+|apology\s+)?(?i:code)\s*:?\s*"
    r"(?P<code>[A-Z0-9][A-Z0-9-]{2,})\b|(?:优惠码|折扣码|券码)\s*[:：]?\s*(?P<zhcode>[A-Za-z0-9-]{3,})"
    r"|\b(?P<bare>(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z][A-Z0-9]{3,})\b"
)

# Words whose position at the end shows a phrase was cut: conjunctions, prepositions, articles, possessives.
# Prepositions that often end a finished English phrase ("the dress everyone asks about", "sign up") are
# left out.
_DANGLING_EN = (
    "and or but nor so yet to of for with without at by from into onto under as than "
    "the a an our your my their its this these that those which whose while because if when plus "
    "via per is are was were be will can just &"
).split()
_DANGLING_EN_RE = re.compile(r"(?:^|\s)(?:" + "|".join(re.escape(w) for w in _DANGLING_EN) + r")$", re.IGNORECASE)
# Words no finished English sentence ends on: articles, possessives, conjunctions, a subject and its verb
# ("Check out what they're."), and an attribution cut after its first word ("“Soft,” one.").
_SENTENCE_LAST_EN = re.compile(
    r"(?:^|[\s(])(the|a|an|our|your|my|their|and|or|but|nor|because|if|whose|of|than|via|per|&|"
    r"they['’]re|we['’]re|you['’]re|i['’]m|it['’]s|there['’]s|what['’]s)[.!?](?=\s|$)"
    r"|[”\"],?\s+(one|a)[.!?](?=\s|$)",
    re.IGNORECASE,
)
# An attributive word left without its noun after a determiner ("with Our New", "Experience the True").
_ORPHAN_ADJECTIVE = re.compile(
    r"\b(?:the|a|an|our|your|this|these|its|my|their)\s+(?:new|true|perfect|ultimate|latest|next|own|"
    r"best|favou?rite|go-to|most|very|truly|summer|spring|winter|autumn|fall|holiday|must-have|signature|"
    r"unique|great|stylish|classic|timeless|gorgeous|beautiful|soft|cosy|cozy|flattering)$"
    # ... or adjectives by their ending, possibly joined ("with Our Soft and Comfortable").
    r"|\b(?:the|a|an|our|your|this|these|its|my|their)\s+(?:[a-z]+\s+(?:and|&)\s+)?"
    r"[a-z]+(?:able|ible|ful|ous|ive|ish|est)$",
    re.IGNORECASE,
)
_DANGLING_ZH = re.compile(r"(?:和|与|及|或|并且|而且|以及|还有|的|地|得|在|把|让|给|为|从|对|跟|同|但|而|又|更)$")
_TRAILING_MARKS = ",，:：;；、-–—/|&+("
_SENTENCE_FINAL = re.compile(r"[.!?…。！？~～」』”\")）)]$|[\U0001F300-\U0001FAFF\u2600-\u27BF]$")

_STOP_EN = frozenset(
    "the a an and or but to of for with in on at by from your our you we it its this that is are was be "
    "will can all new more just so as into over up out now here there they them their my me what how "
    "get".split()
)
_ALLOWED_LATIN_ZH = frozenset("cm mm kg xs s m l xl xxl xxxl".split())
# Latin words Chinese copy tends to borrow, and their Chinese: the repair rewrites rather than deletes.
ZH_FOR_LATIN = {
    "tops": "上衣", "top": "上衣", "dress": "连衣裙", "dresses": "连衣裙", "jeans": "牛仔裤", "jacket": "外套",
    "jackets": "外套", "coat": "大衣", "sizing": "尺码", "size": "尺码", "fit": "版型", "style": "风格",
    "look": "造型", "outfit": "穿搭", "ootd": "今日穿搭", "new": "新品", "sale": "优惠", "shop": "选购",
    "soft": "柔软", "comfy": "舒适", "comfortable": "舒适", "fabric": "面料", "knit": "针织", "cotton": "棉",
    "vibe": "氛围", "chic": "时髦", "basic": "基础款", "bottoms": "下装", "intimates": "内衣", "summer": "夏季",
}


@dataclass(frozen=True)
class CraftContext:
    """What the craft checks compare copy against: the brief, the copy language, and the planning words
    (channel names, segment labels) a shopper must never read."""

    brief: Brief
    language: Language
    channel_terms: tuple[str, ...] = ()
    segment_labels: tuple[str, ...] = ()
    brand: BrandVoice | None = None
    allowed_latin: frozenset[str] = field(default_factory=frozenset)
    quotes: tuple[str, ...] = ()
    # The catalogue departments the campaign sells (empty: any) and the seasons the brief names (empty: any).
    departments: frozenset[str] = field(default_factory=frozenset)
    seasons: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        brief: Brief,
        language: Language,
        catalog: ChannelCatalog | None = None,
        segment_labels: Iterable[str] = (),
        brand: BrandVoice | None = None,
        quotes: Iterable[str] = (),
        segment_departments: Iterable[str] = (),
    ) -> CraftContext:
        """Return the context for ``brief``: channel names and aliases from ``catalog`` (everyday words
        such as "print" left out), the segment labels, the Latin words Chinese copy may carry (those
        in the brief, the brand's name and words), the departments the campaign sells (the brief's
        audience and product, and ``segment_departments``) and the seasons the brief names."""
        terms: list[str] = []
        if catalog is not None:
            for channel_id in catalog.ids():
                spec = catalog[channel_id]
                for term in (spec.name, channel_id, *spec.aliases):
                    term = term.strip()
                    if len(term) >= 2 and term.lower() not in _GENERIC_CHANNEL_WORDS:
                        terms.append(term)
        latin_sources = [brief.text, brief.offer.text]
        if brand is not None:
            latin_sources += [brand.name, *brand.words_to_use]
        allowed = {w.lower() for text in latin_sources for w in re.findall(r"[A-Za-z][A-Za-z0-9&'-]*", text)}
        return cls(
            brief=brief,
            language=language,
            channel_terms=tuple(sorted(set(terms), key=len, reverse=True)),
            segment_labels=tuple(label for label in segment_labels if label.strip()),
            brand=brand,
            allowed_latin=frozenset(allowed),
            quotes=tuple(quotes),
            departments=frozenset([*brief.audience.departments, *find_departments(brief.product),
                                   *segment_departments]),
            seasons=frozenset(season for _, season, _, _ in find_seasons(f"{brief.text} {brief.product}")),
        )


# --- finding -------------------------------------------------------------------------------------------

def _without_hashtags(text: str) -> str:
    for tag in hashtags_in(text):
        text = text.replace(tag, " " * len(tag))
    return text


def _number(token: str) -> float | None:
    token = token.strip().lower()
    if token in _EN_NUMBER_WORDS:
        return float(_EN_NUMBER_WORDS[token])
    if re.fullmatch(r"\d+", token):
        return float(token)
    value = chinese_number(token.replace("两", "二"))
    return float(value) if value is not None else None


def _money_value(match: re.Match[str]) -> float | None:
    number = match.group("num") or match.group("num2")
    multiplier = match.group("mult") or match.group("mult2") or ""
    try:
        value = float(number.replace(",", ""))
    except (TypeError, ValueError):
        return None
    return value * {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6, "万": 1e4, "千": 1e3}.get(multiplier, 1.0)


def _channel_pattern(term: str) -> str:
    escaped = re.escape(term)
    if re.match(r"[A-Za-z0-9]", term):
        escaped = r"\b" + escaped
    if re.search(r"[A-Za-z0-9]$", term):
        escaped += r"\b"
    return escaped


def find_brief_internals(text: str, ctx: CraftContext) -> list[tuple[str, int, int]]:
    """Return ``(what, start, end)`` for every planning fact of the brief that ``text`` repeats to shoppers:
    the budget figure, the duration as planned, audience specs, channel names (a list of them as one
    span), segment labels and internal words. Hashtags are not read."""
    scan = _without_hashtags(text)
    found: list[tuple[str, int, int]] = []
    budget = ctx.brief.budget.amount if ctx.brief.budget else None
    for match in _MONEY.finditer(scan):
        value = _money_value(match)
        if budget and value and abs(value - budget) <= 0.01 * budget:
            found.append(("budget figure", match.start(), match.end()))
    if ctx.brief.weeks:
        for match in _WEEKS.finditer(scan):
            value = _number(match.group("n") or match.group("zh") or "")
            if value == ctx.brief.weeks:
                found.append(("campaign duration", match.start(), match.end()))
    found += [("audience spec", m.start(), m.end()) for m in _AGE_SPEC.finditer(scan)]
    found += [("internal word", m.start(), m.end()) for m in _INTERNAL_WORDS.finditer(scan)]
    for label in ctx.segment_labels:
        for match in re.finditer(re.escape(label), scan, re.IGNORECASE):
            found.append(("segment label", match.start(), match.end()))
    if ctx.channel_terms:
        name = "(?:" + "|".join(_channel_pattern(t) for t in ctx.channel_terms) + ")"
        # "email + Instagram + search": the list is one span, with the joiners and a leading "on"/"via".
        listing = re.compile(
            rf"(?:\b(?:on|via|across|through|in)\s+)?{name}(?:\s*(?:[,+&/、和及与]|\band\b|\bor\b)\s*"
            rf"(?:{name}|\bsearch\b|\bdisplay\b|\bprint\b|\bpush\b))*",
            re.IGNORECASE,
        )
        found += [("channel name", m.start(), m.end()) for m in listing.finditer(scan)]
    return _merge(found)


def _merge(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    merged: list[tuple[str, int, int]] = []
    for what, start, end in sorted(spans, key=lambda s: (s[1], -s[2])):
        if merged and start < merged[-1][2]:
            last = merged[-1]
            merged[-1] = (last[0], last[1], max(last[2], end))
        else:
            merged.append((what, start, end))
    return merged


def find_unoffered_terms(text: str, ctx: CraftContext) -> list[tuple[str, int, int]]:
    """Return ``(what, start, end)`` for each offer condition, code or amount in ``text`` that the brief does
    not give: a condition the brief's wording does not license, a code not written in the brief, a money
    amount that is neither in the brief nor its budget (the budget is an internal, see
    :func:`find_brief_internals`)."""
    brief_text = f"{ctx.brief.text}\n{ctx.brief.offer.text}"
    scan = _without_hashtags(text)
    found: list[tuple[str, int, int]] = []
    for what, pattern, licence in _CONDITIONS:
        if licence.search(brief_text):
            continue
        found += [(what, m.start(), m.end()) for m in pattern.finditer(scan)]
    for match in _CODE.finditer(scan):
        code = match.group("code") or match.group("zhcode") or match.group("bare") or ""
        if code and code.lower() not in brief_text.lower():
            found.append(("offer code", match.start(), match.end()))
    brief_numbers = {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", brief_text)}
    budget = ctx.brief.budget.amount if ctx.brief.budget else None
    for match in _MONEY.finditer(scan):
        value = _money_value(match)
        number = (match.group("num") or match.group("num2") or "").replace(",", "")
        if budget and value and abs(value - budget) <= 0.01 * budget:
            continue
        if number not in brief_numbers:
            found.append(("amount", match.start(), match.end()))
    return _merge(found)


def incomplete_ending(text: str, language: Language, *, sentence: bool = False) -> str | None:
    """Return what makes ``text`` end unfinished ("ends with 'our new'"), or None where it ends cleanly.

    ``sentence`` (a body) also requires the end of a sentence (full stop, !, ?, 。, an emoji) before any
    trailing hashtags, since a body that stops mid-sentence before its tags reads cut off.
    """
    core = re.sub(r"(?:\s*#[^\s#]+#?)+\s*$", "", text.strip()).strip()
    if not core:
        return None
    if core[-1] in _TRAILING_MARKS:
        return f"ends with {core[-1]!r}"
    if language == "zh" or re.search(r"[\u4e00-\u9fff]$", core):
        if _DANGLING_ZH.search(core):
            return f"ends with {core[-1]!r}"
    else:
        orphan = _ORPHAN_ADJECTIVE.search(core)
        if orphan:
            return f"ends with {orphan.group(0)!r}, a word without its noun"
        dangling = _DANGLING_EN_RE.search(core)
        if dangling:
            return f"ends with {dangling.group(0).strip()!r}"
        cut_sentence = _SENTENCE_LAST_EN.search(core)
        if cut_sentence:
            word = cut_sentence.group(1) or cut_sentence.group(2)
            return f"a sentence ends with {word!r}"
        last = re.findall(r"[A-Za-z']+$", core)
        if last and len(last[0]) >= 2 and not re.search(r"[aeiouyAEIOUY]", last[0]) and last[0].lower() not in {
            "tv", "sms", "ps", "ok"
        }:
            return f"ends with {last[0]!r}, a word cut off"
    if sentence and not _SENTENCE_FINAL.search(core):
        return "the body stops mid-sentence"
    return None


def _stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ingly", "edly", "ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _sentences(text: str) -> list[tuple[int, str]]:
    spans, start = [], 0
    for match in re.finditer(r"[.!?。！？\n]+", text):
        spans.append((start, text[start : match.end()]))
        start = match.end()
    if start < len(text):
        spans.append((start, text[start:]))
    return spans


def _repeated_pairs(scan: str, body_start: int) -> list[tuple[str, int, int]]:
    """Two words said twice in the body ("15% off. ... is 15% off all dresses"); numbers count as words."""
    found: list[tuple[str, int, int]] = []
    tokens = [(m.start(), m.end(), m.group(0).lower()) for m in re.finditer(r"[A-Za-z0-9][A-Za-z0-9%'-]*", scan)
              if m.start() >= body_start]
    bigrams: dict[tuple[str, str], int] = {}
    for index in range(len(tokens) - 1):
        gram = (tokens[index][2], tokens[index + 1][2])
        if (gram[0] in _STOP_EN or gram[1] in _STOP_EN) and not re.search(r"\d", " ".join(gram)):
            continue
        if gram in bigrams and bigrams[gram] + 2 <= index:
            found.append((" ".join(gram), tokens[index][0], tokens[index + 1][1]))
        bigrams.setdefault(gram, index)
    return found


def find_repetitions(text: str, language: Language, body_start: int = 0) -> list[tuple[str, int, int]]:
    """Return ``(repeated, start, end)`` for each second use of a word stem within one sentence, a word
    doubled ("the the"), a three-word phrase (four Chinese characters) used twice, or, from ``body_start``
    on, a two-word phrase said again ("15% off" twice; the headline may announce what the body repeats);
    the span is the repeat."""
    scan = _without_hashtags(text)
    found: list[tuple[str, int, int]] = []
    if language == "zh":
        chinese = [(m.start(), m.group(0)) for m in re.finditer(r"[\u4e00-\u9fff]{4,}", scan)]
        seen: dict[str, int] = {}
        for offset, run in chinese:
            for i in range(len(run) - 3):
                gram = run[i : i + 4]
                if gram in seen and seen[gram] + 4 <= offset + i:
                    found.append((gram, offset + i, offset + i + 4))
                seen.setdefault(gram, offset + i)
        for match in re.finditer(r"([\u4e00-\u9fff]{2,})\1", scan):
            found.append((match.group(1), match.start() + len(match.group(1)), match.end()))
        return _merge(found)
    words = [(m.start(), m.end(), m.group(0)) for m in re.finditer(r"[A-Za-z][A-Za-z'-]*", scan)]
    for (_s1, _e1, w1), (s2, e2, w2) in itertools.pairwise(words):
        if w1.lower() == w2.lower() and scan[_e1:s2].strip() == "":
            found.append((w2, s2, e2))
    for start, sentence in _sentences(scan):
        stems: dict[str, int] = {}
        for match in re.finditer(r"[A-Za-z][A-Za-z'-]*", sentence):
            word = match.group(0)
            if len(word) < 4 or word.lower() in _STOP_EN:
                continue
            stem = _stem(word)
            if stem in stems:
                found.append((word, start + match.start(), start + match.end()))
            stems.setdefault(stem, match.start())
    found += _repeated_pairs(scan, body_start)
    trigrams: dict[tuple[str, ...], int] = {}
    for index in range(len(words) - 2):
        gram = tuple(w.lower() for _, _, w in words[index : index + 3])
        if gram in trigrams and trigrams[gram] + 3 <= index:
            found.append((" ".join(gram), words[index][0], words[index + 2][1]))
        trigrams.setdefault(gram, index)
    return _merge(found)


def find_latin_in_chinese(text: str, ctx: CraftContext) -> list[tuple[str, int, int]]:
    """Return ``(word, start, end)`` for each Latin word in Chinese copy that the brief or brand does not
    give; hashtags count too unless the brief or brand gives them. A capital letter fused to Chinese (T恤,
    V领, A字裙) and size or unit abbreviations are Chinese usage and pass."""
    found: list[tuple[str, int, int]] = []
    for match in re.finditer(r"[A-Za-z][A-Za-z'-]*", text):
        word = match.group(0)
        lower = word.lower()
        if lower in ctx.allowed_latin or lower in _ALLOWED_LATIN_ZH:
            continue
        after = text[match.end() : match.end() + 1]
        if len(word) == 1 and re.match(r"[\u4e00-\u9fff]", after or ""):
            continue
        found.append((word, match.start(), match.end()))
    return found


# A season copy may name next to the brief's: "spring and summer" sells a summer launch, "autumn" does not.
NEIGHBOUR_SEASONS = {"summer": ("summer", "spring"), "spring": ("spring", "summer"),
                     "autumn": ("autumn", "winter"), "winter": ("winter", "autumn")}


def find_off_product(text: str, ctx: CraftContext) -> list[tuple[str, int, int]]:
    """Return ``(what, start, end)`` for each garment of a department the campaign does not sell and each
    season far from the brief's (:data:`NEIGHBOUR_SEASONS`). Where the campaign's departments are unknown
    (or include the catalogue's "Trend"), garments are not judged; where the brief names no season, seasons
    are not."""
    found: list[tuple[str, int, int]] = []
    if ctx.departments and "Trend" not in ctx.departments:
        found += [(f"{word!r} ({'/'.join(departments)})", start, end)
                  for word, departments, start, end in find_garments(text)
                  if not ctx.departments.intersection(departments)]
    if ctx.seasons:
        allowed = {near for season in ctx.seasons for near in NEIGHBOUR_SEASONS[season]}
        found += [(f"{word!r} ({season})", start, end) for word, season, start, end in find_seasons(text)
                  if season not in allowed]
    return sorted(found, key=lambda item: item[1])


def find_complaints(text: str) -> list[tuple[str, int, int]]:
    """Return ``(phrase, start, end)`` for each flaw the copy states ("runs small", "偏小"); a flaw denied
    ("不起球", "never pills", "not see-through") is a benefit, not a complaint."""
    return [(m.group(0), m.start(), m.end()) for m in COMPLAINTS.finditer(text)
            if not _DENIED.search(text[max(0, m.start() - 12) : m.start()])]


_DENIED = re.compile(
    r"(?:\b(?:not|no|never|won't|doesn't|don't|isn't|without)\s+(?:\w+\s+)?|不会?|没有?|无|不易|不再)$", re.IGNORECASE
)


_QUOTED = re.compile(
    r"(?:“([^”]{3,})”|\"([^\"]{3,})\")(?:,?\s*(?:one|a)\s+(?:customer|reviewer|shopper)\s+(?:wrote|says|said)[.!]?)?"
)
_EMPTY_QUOTE = re.compile(r"“[\W_]{0,2}”|\"[\W_]{0,2}\"(?=,?\s*(?:one|a)\s+customer)")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|my|me|mine)\b|我(?!们)")


def said_in_a_review(text: str, quotes: Sequence[str]) -> bool:
    """Whether what Chinese copy presents as a customer's words names only qualities one review names
    (the review is English: the wording is a translation, the qualities must be hers), and names one."""
    named = concepts(text)
    return bool(named) and any(named <= concepts(quote) for quote in quotes)


def _normal_words(text: str) -> str:
    return re.sub(r"[^\w\u4e00-\u9fff]+", " ", text.lower()).strip()


def find_invented_quotes(text: str, ctx: CraftContext) -> list[tuple[str, int, int]]:
    """Return ``(what, start, end)`` for each quoted span that is no customer's words (English copy: not
    verbatim in the segment's quotes) and each sentence speaking in a customer's voice outside quotation
    marks. Without quotes in the context, quoted spans are not judged."""
    found: list[tuple[str, int, int]] = []
    quoted_spans = []
    for match in _QUOTED.finditer(text):
        quoted_spans.append((match.start(), match.end()))
        raw = match.group(1) or match.group(2) or ""
        inner = _normal_words(raw)
        if ctx.language == "en" and ctx.quotes and not any(inner in _normal_words(q) for q in ctx.quotes):
            found.append(("quote not from a review", match.start(), match.end()))
        elif ctx.language != "en" and ctx.quotes and not said_in_a_review(raw, ctx.quotes):
            found.append(("words no review says", match.start(), match.end()))
    for match in _EMPTY_QUOTE.finditer(text):
        found.append(("empty quotation", match.start(), match.end()))
    for start, sentence in _sentences(text):
        for voice in _FIRST_PERSON.finditer(sentence):
            at = start + voice.start()
            if not any(s <= at < e for s, e in quoted_spans):
                stripped = sentence.strip()
                offset = start + sentence.index(stripped) if stripped else start
                found.append(("a customer's voice", offset, offset + len(stripped)))
                break
    return _merge(found)


# --- checking ------------------------------------------------------------------------------------------

def _quoted(spans: Sequence[tuple[str, int, int]], text: str, limit: int = 4) -> str:
    return ", ".join(f"{what} {text[s:e]!r}" for what, s, e in spans[:limit])


def check_craft(variant: CopyVariant, ctx: CraftContext) -> list[RuleCheck]:
    """Return one :class:`RuleCheck` per rule in :data:`CRAFT_RULES`, in that order, for ``variant``."""
    text = f"{variant.headline}\n{variant.body}\n{variant.cta}"
    internals = find_brief_internals(text, ctx)
    terms = find_unoffered_terms(text, ctx)
    endings = [
        f"{part}: {problem}"
        for part, value, sentence in (("headline", variant.headline, False), ("body", variant.body, True),
                                      ("cta", variant.cta, False))
        if (problem := incomplete_ending(value, ctx.language, sentence=sentence))
    ]
    repeats = find_repetitions(f"{variant.headline}.\n{variant.body}", ctx.language,
                               body_start=len(variant.headline) + 2)
    latin = find_latin_in_chinese(text, ctx) if ctx.language == "zh" else []
    invented = find_invented_quotes(f"{variant.headline}\n{variant.body}", ctx)
    off_product = find_off_product(_without_hashtags(text), ctx)
    complaints = find_complaints(f"{variant.headline}\n{_unquoted(variant.body)}")
    return [
        RuleCheck(rule="no_brief_internals", passed=not internals,
                  detail=f"tells shoppers {_quoted(internals, text)}" if internals else "no planning facts"),
        RuleCheck(rule="offer_terms_given", passed=not terms,
                  detail=f"offer terms the brief does not give: {_quoted(terms, text)}" if terms
                  else "only the brief's offer terms"),
        RuleCheck(rule="complete_phrases", passed=not endings,
                  detail="; ".join(endings) if endings else "every part ends as a finished phrase"),
        RuleCheck(rule="no_repetition", passed=not repeats,
                  detail="repeats " + ", ".join(repr(r) for r, _, _ in repeats[:4]) if repeats else "no repeats"),
        RuleCheck(rule="quotes_verbatim", passed=not invented,
                  detail=(f"invented testimonial: {_quoted(invented, variant.headline + chr(10) + variant.body)}"
                          if invented else "quotes only customers' words")),
        RuleCheck(rule="chinese_only", passed=not latin,
                  detail=(f"Latin words in Chinese copy: {', '.join(w for w, _, _ in latin[:6])}" if latin
                          else ("Chinese throughout" if ctx.language == "zh" else "English copy"))),
        RuleCheck(rule="on_product", passed=not off_product,
                  detail=(f"sells what the campaign does not: {', '.join(w for w, _, _ in off_product[:4])}"
                          if off_product else "the campaign's product and season")),
        RuleCheck(rule="no_complaints", passed=not complaints,
                  detail=(f"states a flaw: {', '.join(repr(w) for w, _, _ in complaints[:4])}" if complaints
                          else "no flaws stated")),
    ]


def _unquoted(text: str) -> str:
    """``text`` without its quotations: a customer's verbatim words are judged by ``quotes_verbatim``."""
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def _words(text: str, language: Language) -> set[str]:
    text = _without_hashtags(text)
    if language == "zh":
        chinese = re.sub(r"[^\u4e00-\u9fff]+", " ", text)
        return {run[i : i + 2] for run in chinese.split() for i in range(max(1, len(run) - 1))}
    return {_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z'-]*", text)}


def similarity(first: CopyVariant, second: CopyVariant, language: Language) -> float:
    """Return the Jaccard similarity of two variants' words (headline + body, hashtags left out; Chinese
    by two-character words): 1.0 for the same text, 0.0 for no shared word."""
    a = _words(f"{first.headline} {first.body}", language)
    b = _words(f"{second.headline} {second.body}", language)
    return len(a & b) / len(a | b) if a | b else 1.0


def distinct_problem(variant: CopyVariant, earlier: Sequence[CopyVariant], language: Language) -> str | None:
    """Return why ``variant`` tests nothing new next to ``earlier`` variants of its cell, or None."""
    if variant.angle not in ANGLES:
        return f"states no hypothesis (angle {variant.angle!r}; one of {', '.join(ANGLES)})"
    for index, other in enumerate(earlier):
        if other.angle == variant.angle:
            return f"tests the same angle as v{index + 1} ({variant.angle})"
        if _normal(other.headline) == _normal(variant.headline):
            return f"has the same headline as v{index + 1}"
        score = similarity(variant, other, language)
        if score >= NEAR_IDENTICAL_SIMILARITY:
            return f"{score:.2f} similar to v{index + 1} (limit {NEAR_IDENTICAL_SIMILARITY})"
    return None


def _normal(text: str) -> str:
    return re.sub(r"\W+", " ", _without_hashtags(text)).strip().lower()


def check_distinct(variants: Sequence[CopyVariant], language: Language) -> list[RuleCheck]:
    """Return one ``distinct_angle`` check per variant: it names its hypothesis, and differs from every
    earlier variant of the cell in angle, headline and wording (similarity below the threshold)."""
    checks = []
    for index, variant in enumerate(variants):
        problem = distinct_problem(variant, variants[:index], language)
        detail = problem or (f"tests {variant.angle}" + (
            f"; ≤ {max(similarity(variant, o, language) for o in variants[:index]):.2f} similar" if index else ""))
        checks.append(RuleCheck(rule=DISTINCT_RULE, passed=problem is None, detail=detail))
    return checks


_ANGLE_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("offer", re.compile(r"\d+\s*%|\d(?:\.\d)?\s*折|\boff\b|save|立减|优惠|包邮|free\s+(?:shipping|returns)", re.I)),
    ("social_proof",
     re.compile(r"reviewers?|customers?\s+(?:say|love|rave)|[“\"'].{6,}[”\"']|好评|顾客|买家|大家都", re.I)),
    ("urgency", re.compile(r"\b(?:now|today|hurry|don't miss|before)\b|赶紧|快来|马上|抢", re.I)),
    ("novelty", re.compile(r"\bnew\b|\bmeet\b|\bintroducing\b|just in|新款|上新|新品|首发", re.I)),
)


def infer_angle(variant: CopyVariant) -> str:
    """Return the angle a variant without a declared one reads as (offer, social proof, urgency, novelty;
    else benefit), so copy from a method that names none still gets its A/B hypothesis checked."""
    text = f"{variant.headline} {variant.body}"
    for angle, cue in _ANGLE_CUES:
        if cue.search(text):
            return angle
    return "benefit"


# --- repairing -----------------------------------------------------------------------------------------

_CONNECTIVE = re.compile(
    r"(?:\s+(?:and|plus|with|or|at|on|via|for|in|over|across|to|that|which|who)|[,，、]|和|及|在|为)\s*$",
    re.IGNORECASE,
)


def _delete(text: str, spans: Sequence[tuple[str, int, int]]) -> str:
    for _, start, end in sorted(spans, key=lambda s: s[1], reverse=True):
        prefix = text[:start]
        connective = _CONNECTIVE.search(prefix)
        if connective and connective.start() > len(prefix) - 12:
            prefix = prefix[: connective.start()]
        text = prefix + text[end:]
    return _one_stop(tidy_text(text))


def _one_stop(text: str) -> str:
    # Deleting "Use code X today only" from "... shape. Use code X today only!" leaves ". !".
    return re.sub(r"([.!?。！？])(?:\s*[.!?。！？])+", r"\1", text)


def _delete_clause(text: str, spans: Sequence[tuple[str, int, int]]) -> str:
    """Delete each span with the rest of its clause (to the next comma or sentence end): "a fit that
    flatters your shape" → "a fit"."""
    for _, start, _end in sorted(spans, key=lambda s: s[1], reverse=True):
        boundary = re.search(r"[,，;；.!?。！？\n]|$", text[start:])
        stop = start + (boundary.start() if boundary else len(text) - start)
        prefix = re.sub(r"(?:\s+(?:that|which|who|and|with|to|so)\s*|，|、)$", "", text[:start].rstrip(), flags=re.I)
        text = prefix + text[stop:]
    return _one_stop(tidy_text(text))


def _delete_whole_clause(text: str, spans: Sequence[tuple[str, int, int]]) -> str:
    """Delete the whole clause around each span, from the previous comma or sentence end to the next:
    "这款毛衣非常适合你！柔软舒适。" → "柔软舒适。", "Soft, and it runs small." → "Soft."."""
    for _, start, end in sorted(spans, key=lambda s: s[1], reverse=True):
        before = [m.end() for m in re.finditer(r"[,，;；.!?。！？\n]", text[:start])]
        begin = before[-1] if before else 0
        boundary = re.search(r"[,，;；.!?。！？\n]|$", text[end:])
        stop = end + (boundary.end() if boundary else 0)
        if begin and text[begin - 1] in ",，;；" and stop and text[stop - 1] in ".!?。！？":
            begin -= 1  # "Soft, and it runs small." keeps the sentence's end, not the comma
            stop -= 1
        text = text[:begin] + text[stop:]
    return _one_stop(tidy_text(text)).strip(" ,，;；")


def _without_cut_sentences(text: str) -> str:
    """Return English ``text`` without the sentences that end unfinished ("Check out what they're.")."""
    while (match := _SENTENCE_LAST_EN.search(text)) is not None:
        starts = [m.end() for m in re.finditer(r"[.!?](?=\s)", text[: match.start() + 1])]
        start = starts[-1] if starts else 0
        text = (text[:start] + text[match.end():]).strip()
    return text


def complete_ending(text: str, language: Language, *, sentence: bool = False) -> str:
    """Return ``text`` ended as a finished phrase: trailing joiners, dangling function words and orphaned
    adjectives dropped (back to the last sentence end where that keeps more than half), and, for a body
    (``sentence``), a full stop added before any trailing hashtags."""
    tags_match = re.search(r"(?:\s*#[^\s#]+#?)+\s*$", text)
    tags = tags_match.group(0).strip() if tags_match else ""
    core = text[: tags_match.start()] if tags_match else text
    if language == "en":
        core = _without_cut_sentences(core)
    for _ in range(6):
        core = core.strip().rstrip(_TRAILING_MARKS).strip()
        problem = incomplete_ending(core, language)
        if not problem or not core:
            break
        ends = [m.end() for m in re.finditer(r"[.!?。！？](?=\s|$)", core)]
        if ends and ends[-1] < len(core) and ends[-1] >= len(core) * 0.5:
            core = core[: ends[-1]]
            continue
        if language == "zh" or re.search(r"[\u4e00-\u9fff]$", core):
            core = core[:-1]
        else:
            core = core.rsplit(" ", 1)[0] if " " in core else ""
    if sentence and core and not _SENTENCE_FINAL.search(core):
        core += "。" if language == "zh" else "."
    return f"{core} {tags}".strip() if tags else core


def _latin_to_chinese(text: str, ctx: CraftContext) -> str:
    for word, start, end in sorted(find_latin_in_chinese(text, ctx), key=lambda s: s[1], reverse=True):
        replacement = ZH_FOR_LATIN.get(word.lower(), "")
        text = text[:start].rstrip(" ") + replacement + text[end:].lstrip(" ")
    text = re.sub(r"#(?=\s|$)", "", text)
    return tidy_text(text)


# What a deletion can leave at the start: "的必备单品" once "小红书：35 岁上衣粉丝" is gone, ", and more".
_LEADING_JOINER = re.compile(r"^(?:[\s,，、:：;；\-–—]|的|和|与|及|(?i:and|with|for|of|to)\b)+")


def repair_craft(variant: CopyVariant, ctx: CraftContext) -> CopyVariant:
    """Return ``variant`` with every craft problem repaired by rule: planning facts and unoffered terms
    deleted (with their connective: "for Women 25-40"), the second use of a repeated word removed with its
    clause, the clause naming another department's garment, another season or a flaw removed, Latin words
    in Chinese copy translated from a small glossary (:data:`ZH_FOR_LATIN`) or deleted,
    and every part ended as a finished phrase. A part it empties stays empty: re-check the result (the
    copywriter then takes another candidate or template copy)."""
    parts = {"headline": variant.headline, "body": variant.body, "cta": variant.cta}
    for name, value in parts.items():
        value = _delete(value, find_brief_internals(value, ctx))
        value = _delete(value, find_unoffered_terms(value, ctx))
        if name != "cta":
            value = _delete(value, find_invented_quotes(value, ctx))
        repeats = find_repetitions(value, ctx.language)
        if repeats:
            value = _delete_clause(value, repeats)
        flawed = [*find_off_product(value, ctx), *(find_complaints(_unquoted(value)) if name != "cta" else [])]
        if flawed:
            value = _delete_whole_clause(value, sorted(flawed, key=lambda span: span[1]))
        if ctx.language == "zh":
            value = _latin_to_chinese(value, ctx)
        value = _LEADING_JOINER.sub("", value)
        parts[name] = complete_ending(value, ctx.language, sentence=name == "body")
    return variant.model_copy(update=parts)


def craft_failed(checks: Sequence[RuleCheck]) -> list[str]:
    """Return the names of the craft rules among ``checks`` that did not pass."""
    return [c.rule for c in checks if not c.passed and c.rule in (*CRAFT_RULES, DISTINCT_RULE)]

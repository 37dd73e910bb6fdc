"""Channel mentions in a brief: channels named as nouns, "only" forms, and channels the catalog lacks.

"push on Instagram" names Instagram, not App push: a word that is also a verb ("push", "display",
"search", "text", "print") names its channel only where it is used as a noun. "email only", "only
email", "email-only", "exclusively via email", "just email", "只用邮件", "仅限微信" restrict the mix.
A channel-like phrase that is not in the catalog ("carrier pigeons and skywriting only") is reported with
the closest catalog channels, so the brief reader flags it instead of spending on something else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from campaign_planner.data.catalog import ChannelCatalog

CJK = re.compile(r"[\u4e00-\u9fff]")

# Platforms people name in briefs that the default catalog does not carry: named, so that a brief
# asking for them gets an `unknown_channel` flag instead of silently losing the request.
KNOWN_UNSUPPORTED_PLATFORMS = (
    "snapchat", "linkedin", "twitter", "reddit", "spotify", "twitch", "bilibili", "kuaishou",
    "whatsapp", "telegram", "threads", "radio", "direct mail", "line", "kakao", "naver", "x.com",
    "快手", "哔哩哔哩", "b站", "知乎", "广播", "电台",
)

# Aliases that are also verbs or adjectives; the words after them say which.
_VERB_AFTER = {
    "push": r"\s+(?:it|them|this|that|these|those|our|the|a|an|hard|harder|sales|traffic|people|customers|"
            r"buyers|shoppers|on|via|through|across|in|into|to|with|for|out|more|new|up|back|forward|ahead)\b",
    "display": r"\s+(?:it|them|this|that|our|the|a|an|new|how|what|prices?)\b|ed\b|ing\b",
    "search": r"\s+(?:for|it|them|our|the)\b|ed\b|ing\b|es\b",
    "print": r"\s*(?:s?\s*(?:dress|dresses|top|tops|pattern|patterns|skirt|skirts|fabric|shirt|shirts|blouse)\b|"
             r"ed\b|ing\b|\s+(?:it|them|the|our|coupons?|flyers?|labels?))",
    "outdoor": r"\s+(?:jackets?|gear|wear|clothing|collection|line|apparel|coats?|range|activities|adventures?)\b",
    "texts": r"\s+(?:them|us|you)\b",
    "banner": r"\s+(?:year|season|day|month)\b",
}
# Words before an "only" list that start the list but name no channel ("use", "run it on", "we want").
_LEAD_WORDS = re.compile(
    r"^(?:(?:we|i|you|they|let's|lets|please|want|wants|would|like|to|use|using|used|run|running|it|on|via|"
    r"through|with|over|across|in|the|our|and|advertise|advertising|promote|promoting|campaign|spend|spending|"
    r"channels?|ads?|paid|be|is|are|should|must|will|can|go|goes|do|plan|a|an|this|just|only)\s+)+",
    re.IGNORECASE,
)
_ONLY_BEFORE = re.compile(
    r"(?<!not )\b(?:only|exclusively|solely|just|nothing but|purely|strictly)\s+(?:(?:on|via|through|in|by|use|using|"
    r"with|the|our|paid)\s+)*$|(?:只用|只在|只投|只做|只走|只通过|仅用|仅在|仅限|仅投|仅通过|仅|只)\s*$",
    re.IGNORECASE,
)
_ONLY_AFTER = re.compile(r"^\s*(?:-\s*only\b|only\b|alone\b|exclusively\b|and nothing else\b)|^(?:就行|就好|即可)?\s*$",
                         re.IGNORECASE)
_LIST_GLUE = re.compile(r"^(?:\s*(?:,|、|&|\+|/|\band\b|\bor\b|和|及|与|以及|或)\s*|\s+)(?:the\s+|our\s+|paid\s+)?$",
                        re.IGNORECASE)
_ITEM_SPLIT = re.compile(r",|、|&|\+|/|\band\b|\bor\b|和|及|与|以及|或", re.IGNORECASE)


@dataclass(frozen=True)
class ChannelMention:
    """A catalog channel named in the text at ``start``..``end`` (the reading form)."""

    channel: str
    start: int
    end: int


@dataclass(frozen=True)
class UnknownChannel:
    """A channel-like phrase the catalog lacks, with the closest catalog channel ids."""

    name: str
    suggestions: tuple[str, ...]
    in_only_list: bool = False


def channel_mentions(text: str, catalog: ChannelCatalog) -> list[ChannelMention]:
    """Return the catalog channels ``text`` names as nouns, in order of appearance.

    Longer aliases win over shorter ones inside them ("paid search" over "search"). Verb and adjective
    uses of aliases are left out: "push on Instagram" names Instagram only, "print dresses" no channel,
    "customers who search for jeans" no channel. "red" counts as Xiaohongshu only beside "little red book".
    """
    lowered = text.lower()
    mentions: list[ChannelMention] = []
    taken: list[tuple[int, int]] = []
    for alias, channel_id in sorted(catalog.aliases().items(), key=lambda item: -len(item[0])):
        pattern = re.escape(alias) if CJK.search(alias) else rf"(?<![a-z]){re.escape(alias)}(?![a-z])"
        pattern = pattern.replace(r"\ ", r"[\s\-_]*")
        for match in re.finditer(pattern, lowered):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            if alias == "red" and not re.search(r"little red book|小红书", lowered):
                continue  # "red" is a colour far more often than it is Xiaohongshu
            verb = _VERB_AFTER.get(alias)
            verb_use = verb and re.match(verb, lowered[match.end():])
            if verb_use and not _noun_context(lowered, match.start(), match.end()):
                continue
            campaign_noun = _CAMPAIGN_NOUN_BEFORE.get(alias)
            if campaign_noun and campaign_noun.search(lowered[max(0, match.start() - 24):match.start()]):
                continue
            taken.append((match.start(), match.end()))
            mentions.append(ChannelMention(channel_id, match.start(), match.end()))
    return sorted(mentions, key=lambda m: m.start)


# "a two-week Instagram push", "the final push": "push" as the campaign itself, not App push.
_CAMPAIGN_NOUN_BEFORE = {
    "push": re.compile(r"(?:\b(?:a|an|the|big|final|last|major|awareness|sales|seasonal|holiday|brand|marketing|"
                       r"launch|promo|summer|spring|autumn|fall|winter|new|week|month|day|instagram|facebook|tiktok|"
                       r"youtube|social|search|influencer)|\d)\s+$"),
}


def _noun_context(lowered: str, start: int, end: int) -> bool:
    # "via push", "by push", "app push", "email, push and SMS" use the word as a channel name.
    before = lowered[max(0, start - 12):start]
    return bool(re.search(r"(?:\bvia|\bby|\bapp|\bmobile|\bweb|\bon|,|\band)\s*$", before)) and bool(
        re.match(r"\s*(?:,|\band\b|\bor\b|\.|;|$|\bonly\b|notifications?\b)", lowered[end:])
    )


def only_channels(text: str, mentions: list[ChannelMention]) -> list[list[ChannelMention]]:
    """Return each "only" list the text states, as the catalog mentions in it.

    "email and SMS only" → one list of two; "只用邮件和微信" → one list of two; "only women 30-45" → none
    (no channel follows "only"); "not only email" → none.
    """
    lowered = text.lower()
    lists: list[list[ChannelMention]] = []
    groups = _adjacent_groups(lowered, mentions)
    for group in groups:
        first, last = group[0], group[-1]
        before = lowered[max(0, first.start - 40):first.start]
        after = lowered[last.end:last.end + 24]
        clause_end = re.match(r"^[^.;!?。；！？\n,，]*", after)
        tail = after[: clause_end.end()] if clause_end else after
        if _ONLY_BEFORE.search(before) or re.match(r"^\s*(?:-\s*only\b|only\b|alone\b|exclusively\b)", tail):
            lists.append(group)
    return lists


def _adjacent_groups(lowered: str, mentions: list[ChannelMention]) -> list[list[ChannelMention]]:
    groups: list[list[ChannelMention]] = []
    for mention in mentions:
        if groups and _LIST_GLUE.match(lowered[groups[-1][-1].end:mention.start]):
            groups[-1].append(mention)
        else:
            groups.append([mention])
    return groups


def only_phrases(text: str) -> list[tuple[str, int, int]]:
    """Return the phrases an "only" form restricts to, whatever they name: ``(phrase, start, end)``.

    "Use carrier pigeons and skywriting only" → ("carrier pigeons and skywriting", ...); used to find
    channels the catalog lacks. The phrase stops at clause punctuation and at lead words ("use", "via").
    """
    found = []
    for match in re.finditer(r"(?P<list>[^.;!?。；！？\n,:：]{2,60}?)\s*(?:-\s*)?\bonly\b"
                             r"(?!\s+(?:for|to|if|when|with))", text, re.IGNORECASE):
        phrase = _LEAD_WORDS.sub("", match.group("list").strip())
        if phrase:
            found.append((phrase, match.start("list"), match.end("list")))
    for match in re.finditer(r"\b(?:only|exclusively|solely|just)\s+(?:(?:on|via|through|use|using|with)\s+)?"
                             r"(?P<list>[a-z][a-z \-&/+]{1,50}?)"
                             r"(?=\s*(?:[.;!?,\n]|$|\bfor\b|\bto\b|\bover\b|\bwith\b))", text, re.IGNORECASE):
        found.append((match.group("list").strip(), match.start("list"), match.end("list")))
    for match in re.finditer(r"(?:只用|只在|只投|只做|只通过|仅用|仅在|仅限|仅投|仅通过)"
                             r"(?P<list>[^,，。；;.!?、]{1,20}?)(?=[,，。；;.!?]|$|上|投放|推广|做|的|进行)", text):
        found.append((match.group("list").strip(), match.start("list"), match.end("list")))
    return found


def _similarity(name: str, alias: str) -> float:
    return SequenceMatcher(None, name.lower(), alias.lower()).ratio()


def closest_channels(name: str, catalog: ChannelCatalog, *, count: int = 3) -> tuple[str, ...]:
    """Return up to ``count`` catalog channel ids whose names or aliases are most like ``name``."""
    best: dict[str, float] = {}
    for alias, channel_id in catalog.aliases().items():
        score = _similarity(name, alias)
        best[channel_id] = max(best.get(channel_id, 0.0), score)
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return tuple(channel for channel, _ in ranked[:count])


def _named_platforms(lowered: str, catalog: ChannelCatalog) -> list[str]:
    names = []
    for name in KNOWN_UNSUPPORTED_PLATFORMS:
        pattern = re.escape(name) if CJK.search(name) else rf"(?<![a-z]){re.escape(name)}(?![a-z])"
        if name == "line" and not re.search(r"\bline\s+(?:app|ads|messenger|official)", lowered):
            continue  # "line" is a product line far more often than the messenger
        if name == "threads" and not re.search(r"\b(?:on|via|and|,)\s+threads\b", lowered):
            continue
        if re.search(pattern, lowered) and catalog.resolve(name) is None:
            names.append(name)
    return names


def _listed_phrases(text: str, catalog: ChannelCatalog) -> list[tuple[str, bool]]:
    """Return (phrase, is an "only" list) for every list in ``text`` that may name channels."""
    candidates: list[tuple[str, bool]] = [(phrase, True) for phrase, _, _ in only_phrases(text)]
    listing = re.search(r"(?:\bchannels?\b|渠道|\buse\b|\busing\b|\bvia\b)\s*[:：]?\s*([^.;\n。]+)", text,
                        re.IGNORECASE)
    if listing:
        candidates.append((listing.group(1), False))
    # A list that names a catalog channel ("Bluesky, Mastodon and email") names channels in its other items too.
    for clause in re.split(r"[.;:!?\n。；：！？]", text):
        items = _ITEM_SPLIT.split(clause)
        if len(items) > 1 and any(catalog.resolve(_LEAD_WORDS.sub("", i.strip()).strip()) for i in items):
            candidates.append((clause, False))
    return candidates


def _unknown_item(item: str, catalog: ChannelCatalog, in_only_list: bool) -> str | None:
    # "promote the jeans with fax": the channel is what follows the last preposition.
    item = re.split(r"\b(?:with|via|through|using|use|on)\s+", item, flags=re.IGNORECASE)[-1]
    name = re.sub(r"\b(?:paid|only|ads?|advertising|campaigns?|the|our|organic|marketing|channels?)\b", "",
                  item, flags=re.IGNORECASE).strip(" :：-")
    name = _LEAD_WORDS.sub("", name).strip()
    if not name or len(name) > 30 or len(name.split()) > 3:
        return None
    if catalog.resolve(name) or catalog.resolve(item.strip()) or channel_mentions(item, catalog):
        return None
    return name.lower() if _looks_like_channel(name, in_only_list) else None


def unknown_channels(text: str, catalog: ChannelCatalog) -> list[UnknownChannel]:
    """Return the channel-like phrases of ``text`` that are not catalog channels, each with suggestions.

    Looks at named platforms the catalog lacks (Snapchat, LinkedIn, 快手…), the items of "only" lists, of
    "channels: …" / "via …" listings and of lists that name a catalog channel. An item counts when no
    catalog alias resolves it; "only" list items are checked whatever their case, other items when
    capitalised (a platform name).
    """
    names = _named_platforms(text.lower(), catalog)
    only_names: set[str] = set()
    for phrase, in_only_list in _listed_phrases(text, catalog):
        for item in _ITEM_SPLIT.split(phrase):
            name = _unknown_item(item, catalog, in_only_list)
            if name is None:
                continue
            if name not in names:
                names.append(name)
            if in_only_list:
                only_names.add(name)
    for phrase, _, _ in only_phrases(text):
        only_names.update(name for name in names if name in phrase.lower())
    return [UnknownChannel(name, closest_channels(name, catalog), name in only_names) for name in names]


# Words after "only"/"just" that are audiences, products or timing, not channels.
_NOT_CHANNELS = re.compile(
    r"\b(?:women|men|customers?|buyers|shoppers|people|members|subscribers|vips?|new|existing|loyal|lapsed|"
    r"ages?|aged|dress(?:es)?|tops?|jackets?|jeans|coats?|knitwear|intimates?|bottoms|collection|line|range|"
    r"products?|items?|weekends?|weeks?|days?|months?|once|one|two|three|\d+|percent|discount|launch|sale|"
    r"sales|offer|copy|message|messages|tone|budget|spend|in|at|a|an|the|for|to|if|when|after|before|once|"
    r"us|uk|eu|china|us-based|online|store|stores|english|chinese|digital|social|mobile|launched|this|that|"
    r"revenue|conversions?|orders?|signups?|traffic|awareness|plain|short|warm|playful|friendly|not|but|also|summer|spring|autumn|fall|winter|holiday|christmas|easter|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|budget|total)\b",
    re.IGNORECASE,
)


def _looks_like_channel(name: str, in_only_list: bool) -> bool:
    if CJK.search(name):
        return in_only_list and 1 < len(name) <= 8 and not re.search(r"[人群客户用户女男岁款裙衣裤周天月]", name)
    if _NOT_CHANNELS.search(name):
        return False
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 .\-]*", name):
        return False
    return in_only_list or name[0].isupper()

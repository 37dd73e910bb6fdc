"""What copy talks about, in English and Chinese: garments, seasons, complaints, and the qualities
customers praise.

The craft checks use these to judge copy against the campaign rather than against form: a dress e-mail
that sells "这款毛衣" (a sweater) or "autumn/winter" in a summer launch, a benefit that repeats a complaint
("runs small"), a Chinese "顾客说：“…”" that puts words in a customer's mouth which her review does not
carry. The vocabularies are the clothing catalogue's (the public dataset's departments) and are small on
purpose: a word missing here lets copy pass, it never fails good copy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Garment words by catalogue department. Fabrics ("knit", "denim", "针织") and ranks ("top quality") are
# left out: they appear in copy for any garment. A word shared by two departments ("裙": a dress or a
# skirt) lists both.
GARMENTS: dict[str, tuple[str, ...]] = {
    "Dresses": ("dress", "dresses", "gown", "gowns", "sundress", "sundresses", "frock", "连衣裙", "裙装", "礼服"),
    "Tops": (
        "tops", "blouse", "blouses", "sweater", "sweaters", "jumper", "jumpers", "pullover", "cardigan",
        "cardigans", "tee", "tees", "t-shirt", "t-shirts", "shirt", "shirts", "tunic", "tunics", "tank",
        "tanks", "cami", "henley", "hoodie", "上衣", "毛衣", "针织衫", "羊毛衫", "开衫", "衬衫", "T恤", "t恤",
        "卫衣", "背心",
    ),
    "Bottoms": (
        "jeans", "pants", "trousers", "skirt", "skirts", "shorts", "leggings", "culottes", "裤子", "牛仔裤",
        "长裤", "短裤", "阔腿裤", "打底裤", "半身裙", "休闲裤", "西裤",
    ),
    "Jackets": (
        "jacket", "jackets", "coat", "coats", "blazer", "blazers", "parka", "parkas", "outerwear", "trench",
        "外套", "夹克", "大衣", "风衣", "羽绒服", "西装外套",
    ),
    "Intimate": (
        "bra", "bras", "lingerie", "chemise", "loungewear", "sleepwear", "pajamas", "pyjamas", "robe",
        "swimsuit", "swimwear", "bikini", "underwear", "intimates", "内衣", "睡衣", "家居服", "文胸", "泳衣",
        "睡裙",
    ),
}
# Chinese words that name a garment of either of two departments.
_SHARED_ZH = {"裙子": ("Dresses", "Bottoms"), "长裙": ("Dresses", "Bottoms"), "短裙": ("Dresses", "Bottoms")}

SEASONS: dict[str, str] = {
    "summer": "summer", "summery": "summer", "spring": "spring", "autumn": "autumn", "winter": "winter",
    "wintry": "winter", "夏": "summer", "春": "spring", "秋": "autumn", "冬": "winter",
}
_SEASON_EN = re.compile(r"\b(summer|summery|spring|autumn|winter|wintry)\b|\bfall(?=[\s/-]+(?:winter|collection|"
                        r"season|styles?|looks?|wardrobe|line|edit|favou?rites?)\b)", re.IGNORECASE)
# 夏季, 夏天, 夏日, 春夏, 秋冬, 初秋, 冬装 … not 春节 (a holiday) or 秋千.
_SEASON_ZH = re.compile(r"([春夏秋冬])(?=[季天日装款]|[春夏秋冬])|(?<=[春夏秋冬初盛深晚])([春夏秋冬])")

# What a low-rated review says and copy must not: the shopper reads it as a flaw of the product.
COMPLAINTS = re.compile(
    r"\bruns?\s+(?:small|large|big|short|long)\b|\btoo\s+(?:small|big|large|tight|loose|short|long|thin|sheer|"
    r"low|high|wide|boxy)\b|\bsee[- ]through\b|\bitchy\b|\bscratchy\b|\bflims(?:y|ier)\b|\bcheap(?:ly)?\b|"
    r"\bdisappoint\w*|\bunflattering\b|\breturn(?:ed|ing)?\s+(?:it|them|this)\b|\bpill(?:s|ed|ing)\b|"
    r"\bshr[ua]nk\b|\bfell\s+apart\b|\bripped\b|\bsize\s+up\b|\bsize\s+down\b|"
    r"偏小|偏大|偏短|起球|掉色|缩水|透视|扎人|失望|退货|廉价|做工差|显胖",
    re.IGNORECASE,
)

# The qualities customers praise, as concepts both languages can name. A Chinese sentence presented as
# what a customer said may name only concepts her (English) review names.
CONCEPTS: dict[str, tuple[str, str]] = {
    "soft": (r"\bsoft(?:er|est|ness)?\b|\bsilky\b|\bbutter(?:y)?\b", r"柔软|软糯|柔滑|丝滑|亲肤|软"),
    "comfort": (r"\bcomfort\w*|\bcomfy\b|\bcozy\b|\bcosy\b|\beasy to wear\b", r"舒适|舒服|自在|惬意"),
    "flattering": (r"\bflatter\w*|\bslimming\b|\bfigure\b|\bshape\b|\bcurves\b", r"显瘦|修身|显身材|衬身材|曲线|身材"),
    "fit": (r"\bfit(?:s|ted|ting)?\b|\btrue to size\b|\bsizing\b|\bsize\b", r"合身|版型|尺码|贴合|大小|码"),
    "quality": (r"\bquality\b|\bwell[- ]made\b|\bmaterial\b|\bfabric\b|\bconstruction\b|\bsturdy\b|\bjacquard\b",
                r"品质|质量|做工|面料|质地|质感|材质|料子"),
    "warm": (r"\bwarm\w*\b|\bcold\b|\bchilly\b", r"保暖|暖和|温暖|不冷|御寒"),
    "light": (r"\blight(?:weight)?\b|\bairy\b|\bbreez\w*|\bthin layer\b", r"轻盈|轻薄|轻便|很轻|轻巧|清爽"),
    "breathable": (r"\bbreathabl\w*|\bcool\b", r"透气|凉爽|凉快"),
    "colour": (r"\bcolou?r\w*|\bbright\b|\bvibrant\b|\bprint\b|\bpattern\b|\bhue\b",
               r"颜色|色彩|配色|颜色|显白|印花|图案"),
    "compliments": (r"\bcompliment\w*|\beveryone\b|\bpeople ask\b", r"夸|赞|好评|回头率"),
    "versatile": (r"\bversatil\w*|\bdress (?:it )?(?:up|down)\b|\bwith (?:jeans|heels|leggings)\b|\bwork\b",
                  r"百搭|好搭|搭配|通勤|场合"),
    "beautiful": (r"\bbeautiful\w*|\bgorgeous\b|\bpretty\b|\bcute\b|\blovely\b|\bstunning\b|\belegant\b|\bchic\b",
                  r"好看|漂亮|美丽|很美|好美|可爱|优雅|精致|时髦|惊艳"),
    "flowy": (r"\bflow\w*|\bdrap\w*|\bswing\w*", r"飘逸|垂坠|垂感|灵动"),
    "stretch": (r"\bstretch\w*", r"弹力|弹性|有弹"),
    "length": (r"\blength\b|\blong enough\b|\bhits? (?:at|just)\b", r"长度|长短"),
    "price": (r"\bprice\w*|\bvalue\b|\bworth\b|\bdeal\b|\bsale\b|\bbargain\b",
              r"实惠|价格|划算|性价比|便宜|超值|物超所值"),
    "details": (r"\bdetail\w*|\bembroider\w*|\bbuttons?\b|\blace\b|\bpockets?\b", r"细节|刺绣|纽扣|蕾丝|口袋"),
}
_CONCEPT_RES = {key: (re.compile(en, re.IGNORECASE), re.compile(zh)) for key, (en, zh) in CONCEPTS.items()}


def _term_pattern(term: str) -> re.Pattern[str]:
    if re.search(r"[\u4e00-\u9fff]", term):
        return re.compile(re.escape(term), re.IGNORECASE)
    return re.compile(rf"(?<![\w-]){re.escape(term)}(?![\w-])", re.IGNORECASE)


_GARMENT_TERMS: list[tuple[re.Pattern[str], str, tuple[str, ...]]] = sorted(
    [(_term_pattern(term), term, (department,)) for department, terms in GARMENTS.items() for term in terms]
    + [(_term_pattern(term), term, departments) for term, departments in _SHARED_ZH.items()],
    key=lambda item: -len(item[1]),
)


def find_garments(text: str) -> list[tuple[str, tuple[str, ...], int, int]]:
    """Return ``(word, departments, start, end)`` for each garment ``text`` names, longest words first and
    never two overlapping ("牛仔裤" once, not also "裤"); hashtags count (they are copy too)."""
    found: list[tuple[str, tuple[str, ...], int, int]] = []
    taken: list[tuple[int, int]] = []
    for pattern, _term, departments in _GARMENT_TERMS:
        for match in pattern.finditer(text):
            if any(s < match.end() and match.start() < e for s, e in taken):
                continue
            taken.append((match.start(), match.end()))
            found.append((match.group(0), departments, match.start(), match.end()))
    return sorted(found, key=lambda item: item[2])


def departments_named(texts: Iterable[str]) -> set[str]:
    """Return the catalogue departments whose garments ``texts`` name."""
    return {department for text in texts for _, departments, _, _ in find_garments(text)
            for department in departments}


def find_seasons(text: str) -> list[tuple[str, str, int, int]]:
    """Return ``(word, season, start, end)`` for each season ``text`` names ("summer", "秋冬" as two)."""
    found = [(m.group(0), SEASONS[m.group(0).lower()] if m.group(0).lower() in SEASONS else "autumn",
              m.start(), m.end()) for m in _SEASON_EN.finditer(text)]
    for match in _SEASON_ZH.finditer(text):
        char = match.group(1) or match.group(2)
        found.append((char, SEASONS[char], match.start(), match.end()))
    return sorted(found, key=lambda item: item[2])


def concepts(text: str) -> set[str]:
    """Return the praised qualities (:data:`CONCEPTS` keys) ``text`` names, in either language."""
    return {key for key, (en, zh) in _CONCEPT_RES.items() if en.search(text) or zh.search(text)}

"""The clothing catalogue's departments as briefs name them ("dresses", "outerwear", "连衣裙", "外套")."""

from __future__ import annotations

import re

CJK = re.compile(r"[\u4e00-\u9fff]")

# Department vocabulary of the clothing catalogue (the public dataset's "Department Name" values).
DEPARTMENT_TERMS: dict[str, tuple[str, ...]] = {
    "Dresses": ("dress", "dresses", "gown", "sundress", "连衣裙", "裙装", "礼服"),
    "Tops": (
        "top", "tops", "blouse", "blouses", "knit", "knits", "knitwear", "sweater", "sweaters", "shirt",
        "shirts", "tee", "tees", "t-shirt", "cardigan", "上衣", "针织", "毛衣", "衬衫", "t恤",
    ),
    "Bottoms": (
        "jeans", "denim", "pants", "trousers", "skirt", "skirts", "shorts", "leggings", "bottoms",
        "裤", "牛仔裤", "半身裙", "短裤",
    ),
    "Jackets": ("jacket", "jackets", "coat", "coats", "outerwear", "parka", "blazer", "外套", "夹克", "大衣"),
    "Intimate": (
        "intimates", "intimate", "lingerie", "bra", "bras", "sleepwear", "loungewear", "underwear",
        "pajamas", "内衣", "睡衣", "家居服",
    ),
}


def find_departments(text: str) -> list[str]:
    """Return the catalogue departments ``text`` talks about, in catalogue order ("top customers" and
    "top 10%" name no department)."""
    lowered = text.lower()
    found = []
    for department, terms in DEPARTMENT_TERMS.items():
        for term in terms:
            pattern = re.escape(term) if CJK.search(term) else rf"\b{re.escape(term)}\b"
            for match in re.finditer(pattern, lowered):
                if term == "top" and re.match(r"\s+(?:\d|customers|clients|buyers|spenders|priority|tier|of)",
                                              lowered[match.end():]):
                    continue  # "our top customers", "top 10%": a rank, not a department
                found.append(department)
                break
            if found and found[-1] == department:
                break
    return found

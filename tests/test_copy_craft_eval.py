"""The copy-craft eval's figures, on cells like the ones issue 13 found."""

from __future__ import annotations

from evals.copy_craft import score_cells

BRIEF = {"text": "Summer dress launch for women 25-40, $50k over 4 weeks, email + Instagram + search, 15% off",
         "budget": {"amount": 50000, "currency": "USD"}, "weeks": 4,
         "offer": {"discount_percent": 15, "text": "15% off"}}
ZH_BRIEF = {"text": "为新款针织上衣做618活动。", "language": "zh"}
SEGMENT = {"id": "s1", "name": "Dresses fans, 25–40", "size": {"customers": 1, "share": 0.1},
           "evidence": [{"review_id": "7", "quote": "I got so many compliments at the wedding."}]}


def cell(brief: dict, language: str, channel: str, variants: list[tuple[str, str, str]]) -> dict:
    cta = "立即选购" if language == "zh" else "Shop now"
    return {"brief_id": "b", "brief": brief, "segment": SEGMENT, "channel": channel, "language": language,
            "variants": [{"headline": h, "body": b, "cta": cta, "angle": a} for h, b, a in variants],
            "checks": [], "counts": {}, "seconds": 4.0}


def test_figures_count_internals_latin_and_near_identical_cells() -> None:
    leaky = cell(BRIEF, "en", "email", [
        ("Summer Dress Launch for Women 25-40, $50k over 4 Weeks", "Soft fabric for warm days.", "benefit"),
        ("Compliments at every wedding", "“I got so many compliments at the wedding,” one customer wrote. 15% off.",
         "social_proof"),
    ])
    twins = cell(ZH_BRIEF, "zh", "xiaohongshu", [
        ("上衣新宠", "这款 tops 超柔软，穿着舒适。#上衣", "benefit"),
        ("上衣新宠", "这款 tops 超柔软，穿着舒适。#新品", "novelty"),
    ])
    figures = score_cells([leaky, twins])
    assert figures["copy_variants"] == 4
    assert figures["copy_brief_internals"] == 1
    assert figures["copy_zh_latin_words"] == 2
    assert figures["copy_variants_near_identical"] == 1
    assert figures["copy_craft_pass_final"] == 0.25  # only the verbatim social-proof variant passes
    assert figures["copy_customer_words_share"] == 0.5
    assert "copy_craft_pass_first_try" not in figures  # these cells carry no copywriter craft checks

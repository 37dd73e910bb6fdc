"""Copy lengths as the platform counts them: display width, GSM-7/UCS-2 SMS segments."""

from __future__ import annotations

from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import CopyVariant
from campaign_planner.tools.copy_length import fits, measure, sms_segments
from campaign_planner.tools.copy_rules import check_variant

CATALOG = default_catalog()


def _checks(channel: str, headline: str, body: str) -> dict[str, object]:
    variant = CopyVariant(headline=headline, body=body, cta="立即购买")
    checks = check_variant(variant, channel=CATALOG[channel], language="zh", offer_percent=None)
    return {c.rule: c for c in checks}


def test_a_16_character_chinese_headline_fails_a_30_unit_search_limit() -> None:
    headline = "春季新品连衣裙限时优惠快来抢购吧"
    assert len(headline) == 16 and measure(headline, "display_width") == 32
    assert not fits(headline, 30, "display_width")
    check = _checks("search", headline, "轻盈面料，舒适好穿。")["headline_length"]
    assert not check.passed and "32/30 display width" in check.detail


def test_a_71_character_chinese_sms_is_2_segments_and_says_so() -> None:
    body = "春" * 71
    count = sms_segments(body)
    assert (count.encoding, count.segments) == ("UCS-2", 2)
    check = _checks("sms", "新品", body)["body_length"]
    assert not check.passed and "SMS: 2 segments, UCS-2" in check.detail
    assert _checks("sms", "新品", "春" * 70)["body_length"].passed


def test_a_curly_apostrophe_or_emoji_makes_an_sms_ucs2() -> None:
    assert sms_segments("It's here").encoding == "GSM-7"
    assert sms_segments("It’s here").encoding == "UCS-2"
    assert sms_segments("New in 😀").encoding == "UCS-2"
    assert sms_segments("x" * 69 + "’").segments == 1 and sms_segments("x" * 70 + "’").segments == 2


def test_gsm7_segment_sizes_and_extension_characters() -> None:
    assert sms_segments("a" * 160).segments == 1
    assert sms_segments("a" * 161).segments == 2
    assert sms_segments("a" * 306).segments == 2 and sms_segments("a" * 307).segments == 3
    assert sms_segments("€").units == 2 and sms_segments("^").units == 2
    assert sms_segments("a" * 159 + "€").segments == 2  # 161 septets

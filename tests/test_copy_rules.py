"""Channel rule checks and the deterministic repair: each rule fails where it should and passes otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import CopyVariant
from campaign_planner.tools.copy_patterns import find_discount_mentions, find_placeholders, zhe_to_percent_off
from campaign_planner.tools.copy_rules import (
    RULES,
    BrandVoice,
    BrandVoiceError,
    check_variant,
    failed,
    finish_variant,
    load_brand_voice,
    repair_variant_deterministically,
    trim_to_limit,
)

CATALOG = default_catalog()
EMAIL = CATALOG["email"]
INSTAGRAM = CATALOG["instagram"]
XIAOHONGSHU = CATALOG["xiaohongshu"]

GOOD_EN = CopyVariant(
    headline="Summer dresses that flatter",
    body="A cut made for real curves, in fabric reviewers call buttery soft. 15% off your first order.",
    cta="Shop dresses",
)
GOOD_ZH = CopyVariant(
    headline="针织上衣上新", body="面料柔软亲肤，上身舒适，立减15%！#针织上衣", cta="立即选购"
)


def rules_failed(variant: CopyVariant, **kwargs: object) -> set[str]:
    options: dict[str, object] = {"channel": EMAIL, "language": "en", "offer_percent": 15.0}
    options.update(kwargs)
    return {check.rule for check in failed(check_variant(variant, **options))}  # type: ignore[arg-type]


def test_good_copy_passes_every_rule_in_stable_order() -> None:
    checks = check_variant(GOOD_EN, channel=EMAIL, language="en", offer_percent=15.0)
    assert [check.rule for check in checks] == list(RULES)
    assert all(check.passed for check in checks), failed(checks)
    assert not rules_failed(GOOD_ZH, channel=XIAOHONGSHU, language="zh")


def test_lengths_count_characters_including_chinese() -> None:
    long_headline = GOOD_EN.model_copy(update={"headline": "a" * 61})
    assert rules_failed(long_headline) == {"headline_length"}
    assert not rules_failed(GOOD_EN.model_copy(update={"headline": "a" * 60}))
    # Xiaohongshu titles allow 20 characters: 21 Chinese characters fail, 20 pass.
    assert "headline_length" in rules_failed(
        GOOD_ZH.model_copy(update={"headline": "舒" * 21}), channel=XIAOHONGSHU, language="zh"
    )
    assert not rules_failed(
        GOOD_ZH.model_copy(update={"headline": "舒" * 20}), channel=XIAOHONGSHU, language="zh"
    )
    assert rules_failed(GOOD_EN.model_copy(update={"body": "  "})) == {"body_length"}


def test_cta_required_and_short() -> None:
    assert rules_failed(GOOD_EN.model_copy(update={"cta": ""})) == {"cta_present"}
    assert rules_failed(
        GOOD_EN.model_copy(update={"cta": "Click here to discover every single new dress"})
    ) == {"cta_present"}


def test_hashtags_required_only_where_the_channel_uses_them() -> None:
    assert rules_failed(GOOD_EN, channel=INSTAGRAM) == {"hashtags"}
    tagged = GOOD_EN.model_copy(update={"body": GOOD_EN.body + " #SummerDress"})
    assert not rules_failed(tagged, channel=INSTAGRAM)
    # "#1" is a claim, not a hashtag.
    assert "hashtags" in rules_failed(GOOD_EN.model_copy(update={"body": "Our #1 dress"}), channel=INSTAGRAM)


@pytest.mark.parametrize(
    ("body", "language", "passes"),
    [
        ("Now 15% off.", "en", True),
        ("Now 15 % off.", "en", True),
        ("Save 15 percent today.", "en", True),
        ("Now 20% off.", "en", False),
        ("15% off, and an extra 5% for members.", "en", False),
        ("Free shipping on every order.", "en", False),
        ("Made of 100% cotton. 15% off.", "en", True),
        ("全场85折，快来！", "zh", True),
        ("限时八五折优惠", "zh", True),
        ("限时8.5折", "zh", True),
        ("立减15%", "zh", True),
        ("全场8折", "zh", False),
        ("立减15%，还包邮", "zh", False),
        ("第二件半价", "zh", False),
    ],
)
def test_offer_consistency_against_a_15_percent_offer(body: str, language: str, passes: bool) -> None:
    variant = CopyVariant(headline="新品" if language == "zh" else "New in", body=body, cta="Go")
    checks = check_variant(variant, channel=EMAIL, language=language, offer_percent=15.0)  # type: ignore[arg-type]
    offer = next(check for check in checks if check.rule == "offer_consistent")
    assert offer.passed is passes, offer.detail


def test_offer_text_licenses_perks_and_no_offer_refuses_any_percentage() -> None:
    shipping = GOOD_EN.model_copy(update={"body": "15% off and free shipping this week."})
    assert "offer_consistent" in rules_failed(shipping)
    assert not rules_failed(shipping, offer_text="15% off plus free shipping")
    assert "offer_consistent" in rules_failed(GOOD_EN, offer_percent=None)
    sale = CopyVariant(headline="New season", body="Our summer sale starts now.", cta="Shop now")
    # A sale the brief never announced is a promise the shop did not make; one the brief names is fine.
    assert "offer_consistent" in rules_failed(sale, offer_percent=None)
    assert not rules_failed(sale, offer_percent=None, offer_text="summer sale on everything")
    assert rules_failed(sale, offer_percent=None, no_discount=True) == {"offer_consistent"}
    with pytest.raises(ValueError, match="contradict"):
        check_variant(GOOD_EN, channel=EMAIL, language="en", offer_percent=15.0, no_discount=True)


def test_zhe_means_percentage_paid() -> None:
    assert zhe_to_percent_off("85") == 15.0
    assert zhe_to_percent_off("8.5") == 15.0
    assert zhe_to_percent_off("八五") == 15.0
    assert zhe_to_percent_off("8") == 20.0
    assert zhe_to_percent_off("九") == 10.0
    assert [m.percent_off for m in find_discount_mentions("百分之十五的优惠")] == [15.0]


@pytest.mark.parametrize(
    "body",
    [
        "Shop at https://example.com/dresses today.",
        "Visit www.example.com now.",
        "Write to hello@example.com.",
        "Click [link] to shop.",
        "Hi {{first_name}}, new dresses!",
        "Hi <name>, new dresses!",
        "Use code XXX at checkout.",
    ],
)
def test_links_and_placeholders_fail(body: str) -> None:
    assert "no_links_or_placeholders" in rules_failed(GOOD_EN.model_copy(update={"body": body}))


def test_size_names_are_not_placeholders() -> None:
    assert not rules_failed(GOOD_EN.model_copy(update={"body": "Now in XXL and XS. 15% off."}))


def test_language_rule() -> None:
    assert rules_failed(GOOD_EN, channel=XIAOHONGSHU, language="zh") >= {"language"}
    assert "language" in rules_failed(GOOD_ZH, channel=XIAOHONGSHU, language="en")
    # A brand name or "T恤" in Chinese copy is fine.
    mixed = GOOD_ZH.model_copy(update={"body": "ZARA 风格 T恤，柔软亲肤，立减15%！#新品"})
    assert not rules_failed(mixed, channel=XIAOHONGSHU, language="zh")


def test_banned_claims_and_brand_words() -> None:
    for claim in [
        "The best in the world dress",
        "Guaranteed to flatter",
        "It cures back pain",
        "Our #1 dress",
    ]:
        assert "banned_claims" in rules_failed(GOOD_EN.model_copy(update={"body": claim})), claim
    assert "banned_claims" in rules_failed(
        GOOD_ZH.model_copy(update={"body": "全网最低价，品质保证 #新品"}), channel=XIAOHONGSHU, language="zh"
    )
    # "第一次" (first time) is not the superlative "第一".
    assert not rules_failed(
        GOOD_ZH.model_copy(update={"body": "第一次穿就爱上，立减15%！#新品"}),
        channel=XIAOHONGSHU,
        language="zh",
    )
    brand = BrandVoice(words_to_avoid=["cheap"], banned_claims=["sustainable"])
    assert "banned_claims" in rules_failed(
        GOOD_EN.model_copy(update={"body": "Cheap and cheerful."}), brand=brand
    )
    assert "banned_claims" in rules_failed(
        GOOD_EN.model_copy(update={"body": "Sustainable linen."}), brand=brand
    )
    assert not rules_failed(GOOD_EN.model_copy(update={"body": "Cheapest? No: well made."}), brand=brand)


def test_repair_fixes_everything_mechanical() -> None:
    broken = CopyVariant(
        headline="The best in the world summer dress you will ever wear, guaranteed to flatter you",
        body="Get 20% off and free shipping at www.shop.com [link]. Our #1 dress.",
        cta="",
    )
    repaired = repair_variant_deterministically(
        broken, INSTAGRAM, language="en", offer_percent=15.0, hashtag_words=["summer dresses"]
    )
    assert not failed(check_variant(repaired, channel=INSTAGRAM, language="en", offer_percent=15.0))
    assert "15% off" in repaired.body and "20%" not in repaired.body
    assert repaired.body.endswith("#SummerDresses")
    assert repaired.cta == "Shop now"
    assert len(repaired.headline) <= INSTAGRAM.copy_rules.headline_max
    assert not repaired.headline.endswith((" to", ","))


def test_repair_without_an_offer_removes_the_discount_and_keeps_chinese() -> None:
    broken = CopyVariant(
        headline="夏日新品连衣裙，全网最低价，穿上就很美", body="限时8折，包邮！点击链接 www.x.cn", cta=""
    )
    repaired = repair_variant_deterministically(
        broken, XIAOHONGSHU, language="zh", offer_percent=None, hashtag_words=["连衣裙"]
    )
    # Removing the discount, the perk and the link leaves only the hashtag: the checks must say the body has
    # no words left, so the copywriter replaces the variant with template copy instead of shipping it.
    checks = failed(check_variant(repaired, channel=XIAOHONGSHU, language="zh", offer_percent=None))
    assert [c.rule for c in checks] == ["body_length"] and "no words" in checks[0].detail
    assert "折" not in repaired.body and "包邮" not in repaired.body
    assert repaired.cta == "立即选购"
    assert "#连衣裙" in repaired.body


def test_repair_trims_long_body_keeping_hashtags() -> None:
    tiktok = CATALOG["tiktok"]
    body = " ".join(["Soft, flattering and made for summer days."] * 8) + " #SummerDress"
    repaired = repair_variant_deterministically(
        GOOD_EN.model_copy(update={"body": body}), tiktok, language="en", offer_percent=15.0
    )
    assert len(repaired.body) <= tiktok.copy_rules.body_max
    assert repaired.body.endswith("#SummerDress")


def test_trim_prefers_boundaries() -> None:
    assert trim_to_limit("Soft fabric. Flattering cut for every body", 20, "en") == "Soft fabric."
    assert trim_to_limit("Flattering cut for every single body", 20, "en") == "Flattering cut"
    assert trim_to_limit("A cut perfect for your curves, while the fabric stays soft", 40, "en") == (
        "A cut perfect for your curves"
    )
    assert trim_to_limit("面料柔软亲肤，上身舒适显瘦，夏天必备", 12, "zh") == "面料柔软亲肤"
    assert len(trim_to_limit("a" * 50, 10, "en")) == 10


def test_load_brand_voice(tmp_path: Path) -> None:
    assert load_brand_voice(tmp_path) is None
    (tmp_path / "brand.yaml").write_text(
        "tone: warm, confident\nwords_to_use: [flattering]\nwords_to_avoid: [cheap]\n"
        "legal_footer: T&Cs apply\n",
        encoding="utf-8",
    )
    brand = load_brand_voice(tmp_path)
    assert brand is not None
    assert brand.tone == ["warm", "confident"]
    assert brand.avoided_phrases() == ["cheap"]
    (tmp_path / "brand.yaml").write_text("tone: warm\nword_to_avoid: [cheap]\n", encoding="utf-8")
    with pytest.raises(BrandVoiceError, match=r"(?s)brand\.yaml.*word_to_avoid"):
        load_brand_voice(tmp_path)
    (tmp_path / "brand.yaml").write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(BrandVoiceError, match="mapping"):
        load_brand_voice(tmp_path)


def test_finish_variant_adds_only_what_fits_and_says_so() -> None:
    bare = CopyVariant(headline="New in", body="Soft knits.", cta="")
    finished, added = finish_variant(bare, INSTAGRAM, language="en", hashtag_words=["knitwear"])
    assert added == ["cta_present", "hashtags"]
    assert finished.body == "Soft knits. #Knitwear" and finished.cta == "Shop now"
    full_body = CopyVariant(headline="New in", body="a" * 150, cta="Go")
    unchanged, added = finish_variant(full_body, CATALOG["tiktok"], language="en", hashtag_words=["knitwear"])
    assert added == [] and unchanged == full_body  # no room: left for the rule check to report


def test_copy_that_repeats_our_instructions_fails() -> None:
    leaked = GOOD_EN.model_copy(update={"body": "Get 15% off. This is the only offer the copy may mention."})
    assert "no_prompt_echo" in rules_failed(leaked)
    assert "no_prompt_echo" not in rules_failed(GOOD_EN)


def test_fields_without_words_fail() -> None:
    dots = GOOD_EN.model_copy(update={"headline": "...", "body": "... #NewIn", "cta": "…"})
    failed_rules = rules_failed(dots)
    assert {"headline_length", "body_length", "cta_present"} <= set(failed_rules)


FOOTED = BrandVoice(
    legal_footer="Offer ends 30 June. Demo Boutique Ltd.",
    legal_footer_zh="活动截至6月30日。",
    footer_channels=["email", "wechat"],
)


def test_legal_footer_is_required_verbatim_only_where_the_brand_puts_one() -> None:
    assert "legal_footer" in rules_failed(GOOD_EN, brand=FOOTED)
    footed = GOOD_EN.model_copy(update={"footer": FOOTED.legal_footer})
    assert rules_failed(footed, brand=FOOTED) == set()
    altered = GOOD_EN.model_copy(update={"footer": "Offer ends 31 June."})
    assert "legal_footer" in rules_failed(altered, brand=FOOTED)
    # Instagram is not a footer channel: no footer needed, and one there is a mistake.
    assert "legal_footer" not in rules_failed(GOOD_EN, channel=INSTAGRAM, brand=FOOTED)
    assert "legal_footer" in rules_failed(footed, channel=INSTAGRAM, brand=FOOTED)
    # Without a brand footer nothing is required.
    assert "legal_footer" not in rules_failed(GOOD_EN, brand=BrandVoice())


def test_the_copywriter_attaches_the_footer_in_the_copy_language() -> None:
    finished, added = finish_variant(GOOD_EN, EMAIL, language="en", brand=FOOTED)
    assert finished.footer == FOOTED.legal_footer and "legal_footer" in added
    finished_zh, _ = finish_variant(GOOD_ZH, CATALOG["wechat"], language="zh", brand=FOOTED)
    assert finished_zh.footer == "活动截至6月30日。"
    # The deterministic repair rebuilds a variant and keeps the footer.
    repaired = repair_variant_deterministically(
        GOOD_EN.model_copy(update={"body": "Visit www.example.com for 40% off"}),
        EMAIL, language="en", offer_percent=15.0, brand=FOOTED,
    )
    assert repaired.footer == FOOTED.legal_footer
    assert not failed(check_variant(repaired, channel=EMAIL, language="en", offer_percent=15.0, brand=FOOTED))


def test_brand_yaml_reads_footer_settings(tmp_path: Path) -> None:
    (tmp_path / "brand.yaml").write_text(
        "legal_footer: Terms apply.\nfooter_channels: email, sms\n", encoding="utf-8"
    )
    brand = load_brand_voice(tmp_path)
    assert brand is not None and brand.footer_channels == ["email", "sms"]
    assert brand.legal_footer == "Terms apply."


def test_a_link_does_not_take_the_sentences_closing_punctuation() -> None:
    found = [matched for _, matched, _, _ in find_placeholders("Visit www.example.com. See https://a.io/sale, now.")]
    assert found == ["www.example.com", "https://a.io/sale"]

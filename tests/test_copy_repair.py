"""Issue 6's repair paths with a scripted model: token caps that fit the schema, repair requests that name
what to delete and the only offer allowed, and deterministic fixes that say so in the variant's checks."""

from __future__ import annotations

import json

from campaign_planner.agents.copy_prompts import CopyBriefing, repair_prompt
from campaign_planner.agents.copywriter import (
    BODY_SCHEMA_MAX,
    MECHANICAL_NOTE,
    TEMPLATE_NOTE,
    VariantCounts,
    channel_draft_schema,
    max_tokens_for,
    variant_sources,
)
from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import Brief, CopyVariant, FlagCode, Money, Offer
from campaign_planner.testing import ScriptedChatModel
from campaign_planner.tools.copy_rules import (
    BrandVoice,
    check_variant,
    failed,
    offending_phrases,
    repair_variant_deterministically,
)
from tests.test_copywriter import BRIEF_EN, FIT_SEEKERS, human_text, reply, write_copy

CATALOG = default_catalog()
BRAND = BrandVoice(words_to_avoid=["cheap", "slimming"], banned_claims=["guaranteed fit"])
# A brief with no offer at all (not "no discounts": sale words are allowed, numbers are not).
BRIEF_NO_OFFER = Brief(
    text="Clear out winter jackets before spring. Keep the copy short and practical.",
    product="winter jackets",
    budget=Money(amount=20000, currency="EUR"),
    weeks=3,
)
BRIEF_TEXT_OFFER = Brief(
    text="Win back customers. Offer free returns and a 10% apology code.",
    product="jeans",
    offer=Offer(discount_percent=10, text="Offer free returns and a 10% apology code"),
)


def test_the_token_cap_fits_the_longest_answer_each_schema_allows() -> None:
    for channel in CATALOG.channels.values():
        for language in ("en", "zh"):
            schema = channel_draft_schema(2, channel, language).model_json_schema()
            variant = next(iter(schema["$defs"].values()))["properties"]
            body_max = variant["body"]["maxLength"]
            assert body_max <= min(channel.copy_rules.characters("body", language), BODY_SCHEMA_MAX[language])
            longest = variant["headline"]["maxLength"] + body_max + variant["cta"]["maxLength"]
            # At least one token per 3 English characters or per Chinese character, plus the JSON.
            per_char = 3 if language == "en" else 1
            assert max_tokens_for(channel, language, 2) >= 2 * (longest / per_char + 30)


def test_the_pretty_printed_instagram_draft_that_was_cut_at_160_tokens_now_fits() -> None:
    # The dev-02 Instagram draft that hit the old cap (160 tokens) mid-JSON and became template copy.
    draft = json.dumps({"variants": [
        {"headline": "Get Your Warmest Jacket for Less",
         "body": "Discover our premium quilted jacket that's perfect for autumn and beyond! It's made to last and "
                 "comes at a great price, ensuring you'll enjoy warm weather all year round. Don't miss out.",
         "cta": "Shop Now"},
        {"headline": "Sizing Up Your Perfect Jacket",
         "body": "Looking for the perfect jacket? Our quilted jacket is designed to fit perfectly and provide "
                 "warmth in all seasons. Check out our sizing chart to find the right size for you. #Jackets",
         "cta": "Shop Now"},
    ]}, indent=2)
    # Generous: English prose runs about 4 characters per token, JSON indentation fewer.
    assert len(draft) / 3 < max_tokens_for(CATALOG["instagram"], "en", 2)
    assert max_tokens_for(CATALOG["instagram"], "en", 2) > 160


def test_a_long_body_cut_by_the_grammar_at_the_schema_cap_ends_at_a_sentence_and_is_kept() -> None:
    sentences = ["Our quilted jacket keeps you warm on cold mornings. ", "The lining is soft against the skin. ",
                 "Deep pockets hold your phone and keys. ", "It packs small for travel days. ",
                 "The hood stays up in the wind. ", "Wear it over a sweater or a shirt on chilly evenings. "]
    body = "".join(sentences)[: BODY_SCHEMA_MAX["en"]]  # where the grammar stopped the string
    assert len(body) == BODY_SCHEMA_MAX["en"]
    draft = reply(("Warm jackets, made to last", body, "Shop now"),
                  ("New layers for spring", "Meet light layers for cool days. #WinterJackets", "Shop now"))
    model = ScriptedChatModel(script=[draft])
    result = write_copy(model, brief=BRIEF_NO_OFFER, segments=[FIT_SEEKERS], channels=["instagram"],
                        catalog=CATALOG, language="en")
    [messaging] = result.messaging
    assert not messaging.degraded and result.variant_checks.first_try == 2
    assert messaging.variants[0].body.split(" #")[0].endswith("in the wind.")
    assert len(model.calls) == 1


def test_repair_request_names_the_wrong_offer_and_says_there_is_none() -> None:
    wrong = reply(
        ("Warmest quilted jacket", "Save up to 30% on this jacket! It is the warmest one you will own.", "Shop now"),
        ("Loved by reviewers", "Reviewers say it is made to last, in every size.", "Shop now"),
    )
    fixed = reply(("Warmest quilted jacket", "It is the warmest jacket you will own.", "Shop now"))
    model = ScriptedChatModel(script=[wrong, fixed])
    result = write_copy(model, brief=BRIEF_NO_OFFER, segments=[FIT_SEEKERS], channels=["sms"], catalog=CATALOG,
                        language="en")
    # A content rule broke: new variants from the cell prompt, without the old draft to copy.
    assert [type(m).__name__ for m in model.calls[1]] == ["SystemMessage", "HumanMessage"]
    request = human_text(model.calls[1])
    assert request.startswith(human_text(model.calls[0]))
    assert "Save up to 30% on this jacket" not in request
    assert "- the offer is wrong (states 'Save up to 30%'" in request
    assert "do not write 'Save up to 30%'" in request
    assert "This campaign has no offer" in request
    assert "Write 1 new variants" in request and "exactly 1 items" in request
    assert result.variant_checks == VariantCounts(variants=2, first_try=1, after_model_repair=2, after_repair=2,
                                                  final=2)
    assert not result.messaging[0].degraded and result.flags == []


def test_repair_request_restates_the_briefs_offer_verbatim_and_the_banned_words() -> None:
    briefing = CopyBriefing.from_brief(BRIEF_TEXT_OFFER, "en", BRAND, 1)
    variant = CopyVariant(headline="Jeans that fit", body="Get 20% off these cheap jeans.", cta="Shop now")
    checks = check_variant(variant, channel=CATALOG["sms"], language="en", offer_percent=10,
                           offer_text=BRIEF_TEXT_OFFER.offer.text, brand=BRAND)
    assert {c.rule for c in failed(checks)} == {"offer_consistent", "banned_claims"}
    request = repair_prompt(briefing, CATALOG["sms"], [checks], [variant])
    assert "Variant 1: the offer is wrong" in request and "do not write 'Get 20% off'" in request
    assert "Offer: Offer free returns and a 10% apology code." in request
    assert "do not write 'cheap'" in request and "Never use: guaranteed fit, cheap, slimming." in request
    # Chinese requests name the phrase too.
    briefing_zh = CopyBriefing.from_brief(
        Brief(text="针织上衣立减15%", product="针织上衣", offer=Offer(discount_percent=15, text="立减15%"),
              language="zh"), "zh", None, 1)
    variant_zh = CopyVariant(headline="针织上衣上新", body="全场立减30%，快来选购！", cta="立即选购")
    checks_zh = check_variant(variant_zh, channel=CATALOG["xiaohongshu"], language="zh", offer_percent=15,
                              offer_text="立减15%")
    request_zh = repair_prompt(briefing_zh, CATALOG["xiaohongshu"], [checks_zh], [variant_zh])
    assert "不要写“立减30%”" in request_zh and "立减15%" in request_zh


def test_offending_phrases_per_rule() -> None:
    variant = CopyVariant(
        headline="Cheap jeans, guaranteed fit",
        body="Get 20% off and free shipping at www.example.com. This copy is great.",
        cta="Shop now",
    )
    common = {"offer_percent": 10.0, "offer_text": "10% off", "brand": BRAND}
    assert offending_phrases(variant, "offer_consistent", **common) == ["Get 20% off", "free shipping"]
    assert offending_phrases(variant, "banned_claims", **common) == ["Cheap", "guaranteed fit"]
    [link] = offending_phrases(variant, "no_links_or_placeholders", **common)
    assert link.startswith("www.example.com")
    assert offending_phrases(variant, "no_prompt_echo", **common) == ["This copy"]
    assert offending_phrases(variant, "body_length", **common) == []


def test_deterministic_repair_drops_the_whole_sentence_of_an_unoffered_discount() -> None:
    variant = CopyVariant(headline="Warm jackets",
                          body="Save up to 30% on this jacket! It is the warmest one you will own.", cta="Shop now")
    repaired = repair_variant_deterministically(variant, CATALOG["sms"], language="en", offer_percent=None)
    # Not "on this jacket! It is ..." (the fragment a phrase deletion leaves).
    assert repaired.body == "It is the warmest one you will own."
    # A wrong percentage with an offer in the brief is corrected in place, not deleted.
    corrected = repair_variant_deterministically(variant, CATALOG["sms"], language="en", offer_percent=15,
                                                 offer_text="15% off")
    assert corrected.body == "Save up to 15% on this jacket! It is the warmest one you will own."
    # The only sentence: the phrase goes, the rest stays.
    single = variant.model_copy(update={"body": "Cheap and warm, our quilted jacket."})
    assert repair_variant_deterministically(single, CATALOG["sms"], language="en", offer_percent=None,
                                            brand=BRAND).body == "and warm, our quilted jacket."
    # A banned word in a body of several sentences takes its sentence with it.
    several = variant.model_copy(update={"body": "Warm and light. Comes with guaranteed fit. Made to last."})
    assert repair_variant_deterministically(several, CATALOG["sms"], language="en", offer_percent=None,
                                            brand=BRAND).body == "Warm and light. Made to last."


def test_a_mechanical_fix_is_labelled_in_the_variant_checks_counts_and_flag() -> None:
    wrong = reply(
        ("Warmest quilted jacket", "Save up to 30% on this jacket! It is the warmest one you will own.", "Shop now"),
        ("Quality that lasts", "Quilted jackets made to last, in every size.", "Shop now"),
    )
    still_wrong = reply(("Warmest quilted jacket", "Save up to 30% on this jacket! It is warm.", "Shop now"))
    model = ScriptedChatModel(script=[wrong, still_wrong])
    result = write_copy(model, brief=BRIEF_NO_OFFER, segments=[FIT_SEEKERS], channels=["sms"], catalog=CATALOG,
                        language="en")
    [messaging] = result.messaging
    assert messaging.degraded
    assert result.variant_checks == VariantCounts(variants=2, first_try=1, after_model_repair=1, after_repair=2,
                                                  final=2, mechanical=1)
    assert messaging.variants[0].body == "It is warm."
    [offer_check] = [c for c in messaging.checks if c.rule == "v1:offer_consistent"]
    assert offer_check.passed and MECHANICAL_NOTE in offer_check.detail
    assert not any(MECHANICAL_NOTE in c.detail for c in messaging.checks if c.rule.startswith("v2:"))
    [flag] = result.flags
    assert flag.code is FlagCode.DEGRADED_OUTPUT and "v1:offer_consistent" in flag.message
    assert "repaired mechanically" in flag.message


def test_template_copy_says_so_in_every_check() -> None:
    model = ScriptedChatModel(script=["not json", "still not json"])
    result = write_copy(model, brief=BRIEF_EN, segments=[FIT_SEEKERS], channels=["sms"], catalog=CATALOG,
                        language="en")
    [messaging] = result.messaging
    assert messaging.degraded and all(c.passed for c in messaging.checks)
    assert all(TEMPLATE_NOTE in c.detail for c in messaging.checks)
    assert result.variant_checks == VariantCounts(variants=2, final=2, templated=2)


def test_inspired_by_is_worked_out_per_variant_and_the_cell_keeps_their_union() -> None:
    quotes = [("1043", "This dress is so flattering, the cut is perfect for my curves."),
              ("2210", "Soft fabric, washes well.")]
    curves = CopyVariant(headline="Dresses that flatter", body="A cut made for real curves.", cta="Shop")
    fabric = CopyVariant(headline="Made for summer", body="Reviewers love the soft fabrics.", cta="Shop")
    unrelated = CopyVariant(headline="New in", body="Light layers for warm days.", cta="Shop")
    assert variant_sources(curves, quotes, "en") == ["1043"]
    assert variant_sources(fabric, quotes, "en") == ["2210"]
    # Nothing recognisably borrowed: the model still wrote it from the quotes its prompt showed.
    assert variant_sources(unrelated, quotes, "en") == ["1043", "2210"]
    assert variant_sources(CopyVariant(headline="针织上衣", body="面料柔软亲肤", cta="选购"),
                           [("7", "版型好看"), ("8", "面料很柔软")], "zh") == ["8"]
    model = ScriptedChatModel(script=[reply(
        ("Dresses that flatter", "A cut made for real curves. 15% off your first order.", "Shop dresses"),
        ("Flattering cut", "A flattering cut for every day. #SummerDress", "Shop now"),
    )])
    result = write_copy(model, brief=BRIEF_EN, segments=[FIT_SEEKERS], channels=["email"], catalog=CATALOG,
                        language="en")
    # Both variants borrow from review 1043 only; the cell's list is the union, no longer every quote shown.
    assert result.messaging[0].inspired_by == ["1043"]
    # Template copy is inspired by no review.
    templated = write_copy(ScriptedChatModel(script=["x", "y"]), brief=BRIEF_EN, segments=[FIT_SEEKERS],
                           channels=["email"], catalog=CATALOG, language="en")
    assert templated.messaging[0].inspired_by == []


def test_a_headline_emptied_by_the_repair_takes_the_template_headline_and_keeps_the_models_body() -> None:
    wrong = reply(
        ("Save 30% today!", "Our quilted jackets keep you warm all winter long.", "Shop now"),
        ("Quality that lasts", "Quilted jackets made to last, in every size.", "Shop now"),
    )
    still_wrong = reply(("Save 30% now", "Our quilted jackets keep you warm all winter long.", "Shop now"))
    model = ScriptedChatModel(script=[wrong, still_wrong])
    result = write_copy(model, brief=BRIEF_NO_OFFER, segments=[FIT_SEEKERS], channels=["sms"], catalog=CATALOG,
                        language="en")
    [messaging] = result.messaging
    first = messaging.variants[0]
    assert first.body == "Our quilted jackets keep you warm all winter long."  # the model's words stay
    assert first.headline and "30%" not in first.headline
    assert result.variant_checks.templated == 0 and result.variant_checks.mechanical == 1
    [headline_check] = [c for c in messaging.checks if c.rule == "v1:headline_length"]
    assert headline_check.passed and MECHANICAL_NOTE in headline_check.detail

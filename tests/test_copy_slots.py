"""The slot method: the model fills short slots, the copywriter composes, fits and picks the variants."""

from __future__ import annotations

import json

from langchain_core.messages import SystemMessage

from campaign_planner.agents.copy_prompts import CopyBriefing
from campaign_planner.agents.copy_slots import (
    compose,
    find_proof,
    fit_sentences,
    offer_line,
    slot_schema,
)
from campaign_planner.agents.copywriter import write_copy
from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import Audience, Brief, Evidence, Money, Offer, Segment, SegmentProfile, SegmentSize
from campaign_planner.testing import ScriptedChatModel
from campaign_planner.tools.copy_length import fits, is_gsm7

CATALOG = default_catalog()
README = Brief(
    text="Summer dress launch for women 25-40, $50k over 4 weeks, email + Instagram + search, 15% off",
    product="summer dresses", budget=Money(amount=50000, currency="USD"), weeks=4,
    offer=Offer(discount_percent=15, text="15% off"), channels_allowed=["email", "instagram", "search"],
)
ZH = Brief(text="为新款针织上衣做618活动，立减15%，文案要活泼。", product="针织上衣",
           offer=Offer(discount_percent=15, text="立减15%"), tone="活泼", language="zh")
DRESS_FANS = Segment(
    id="dress-fans", name="Dresses fans, 25–40, who love the flattering fit",
    size=SegmentSize(customers=900, share=0.1),
    profile=SegmentProfile(needs=["flattering fit"], praised_attributes=["soft fabric", "flattering cut"]),
    evidence=[
        Evidence(review_id="101", quote="This dress is so flattering, the fabric is soft and light. It runs small."),
        Evidence(review_id="202", quote="I got so many compliments at the wedding, true to size."),
    ],
)
QUOTES = [("101", DRESS_FANS.evidence[0].quote), ("202", DRESS_FANS.evidence[1].quote)]


def candidate(angle: str, headline: str, benefit: str, proof: str, cta: str = "Shop dresses") -> dict[str, str]:
    return {"angle": angle, "headline": headline, "benefit": benefit, "proof": proof, "cta": cta}


BENEFIT = candidate("benefit", "Summer dresses that flatter", "A cut that moves with you on warm days",
                    "fabric is soft and light")
PROOF = candidate("social_proof", "Loved at every party", "Light fabric you can wear all day.",
                  "so many compliments", "See why")
OFFER = candidate("offer", "15% off summer dresses", "Find the dress you will wear all summer.", "true to size")


def slots(**fields: str) -> object:
    return slot_schema(1, 60, "en").model_validate({"candidates": [fields]}).candidates[0]  # type: ignore[attr-defined]


def briefing(brief: Brief = README) -> CopyBriefing:
    return CopyBriefing.from_brief(brief, brief.language, None, 2)


def test_offer_line_comes_from_the_brief_never_the_model() -> None:
    assert offer_line(briefing()) == "15% off."
    assert offer_line(briefing(ZH)) == "立减15%。"
    returns = README.model_copy(update={"offer": Offer(discount_percent=10, text="free returns and a 10% code")})
    assert offer_line(briefing(returns)) == "10% off. Free returns."
    # The model wrote "first order"; the composed body states only the brief's offer.
    variant = compose(slots(**{**OFFER, "benefit": "15% off your first order."}), briefing=briefing(),
                      channel=CATALOG["email"], quotes=QUOTES, index=0, body_room=220)
    assert variant.body.startswith("15% off.")


def test_proof_is_the_customers_verbatim_words_with_their_review_id() -> None:
    variant = compose(slots(**PROOF), briefing=briefing(), channel=CATALOG["email"], quotes=QUOTES, index=1,
                      body_room=220)
    assert variant.body.startswith("“I got so many compliments at the wedding,” one customer wrote.")
    assert variant.inspired_by == ["202"] and variant.angle == "social_proof"
    # A complaint is never proof: "It runs small" is skipped, the praise of the same review is used.
    proof = find_proof("runs small", QUOTES, 0, "en")
    assert proof is not None and "small" not in proof.text and proof.review_id == "101"


def test_body_fits_by_dropping_whole_sentences_never_cutting_one() -> None:
    sentences = {"benefit": "A cut that moves with you on warm days.", "proof": "“So light,” one customer wrote.",
                 "offer": "15% off."}
    assert fit_sentences(sentences, ("benefit", "proof", "offer"), 200, "en") == (
        "A cut that moves with you on warm days. “So light,” one customer wrote. 15% off.")
    # 50 characters: the proof no longer fits, the offer still does.
    assert fit_sentences(sentences, ("benefit", "proof", "offer"), 50, "en") == (
        "A cut that moves with you on warm days. 15% off.")
    assert fit_sentences(sentences, ("benefit",), 10, "en") == ""


def test_an_english_sms_counts_in_segments_and_quotes_in_gsm_7() -> None:
    # Curly quotes would make the message UCS-2 (70 characters a segment), so the composer keeps to straight
    # quotes and fits whole sentences to one GSM-7 segment: the proof stays whole, never "“Soft,” one."
    sms = CATALOG["sms"]
    variant = compose(slots(**PROOF), briefing=briefing(), channel=sms, quotes=QUOTES, index=1,
                      body_room=sms.copy_rules.characters("body", "en"))
    assert variant.body.startswith('"I got so many compliments at the wedding," one customer wrote.')
    assert fits(variant.body, sms.copy_rules.body_max, sms.copy_rules.unit)
    # Where the sentences do not all fit the segment, the ones that do are kept whole.
    sentences = {"benefit": "A cut that moves with you on warm days.", "proof": "“So light,” one customer wrote."}
    tight = fit_sentences(sentences, ("benefit", "proof"), 200, "en", fits_platform=is_gsm7)
    assert tight == "A cut that moves with you on warm days."


def test_headline_too_long_for_the_channel_gives_way_to_a_whole_phrase() -> None:
    long_headline = slots(**{**BENEFIT, "headline": "Discover summer dresses that flatter every single shape"})
    variant = compose(long_headline, briefing=briefing(), channel=CATALOG["search"], quotes=QUOTES, index=0,
                      body_room=90)
    assert variant.headline == "Discover summer dresses"


def test_write_copy_picks_distinct_passing_candidates_in_one_call() -> None:
    near_copy = {**BENEFIT, "angle": "novelty"}  # the same words as BENEFIT under another label
    answer = json.dumps({"candidates": [BENEFIT, near_copy, PROOF]})
    model = ScriptedChatModel(script=[answer])
    result = write_copy(model, brief=README, segments=[DRESS_FANS], channels=["email"], catalog=CATALOG,
                        language="en")
    [messaging] = result.messaging
    assert [v.angle for v in messaging.variants] == ["benefit", "social_proof"]
    assert result.variant_checks.first_try == 2 and result.variant_checks.templated == 0
    assert all(c.passed for c in messaging.checks)
    assert {"v1:distinct_angle", "v2:distinct_angle", "v1:no_brief_internals"} <= {c.rule for c in messaging.checks}
    assert len(model.calls) == 1
    system = str(model.calls[0][0].content)
    assert isinstance(model.calls[0][0], SystemMessage)
    # No few-shot examples for the model to copy; the offer is stated in the stable prefix; the segment's
    # label is nowhere, the garment the cell sells is named.
    assert "format (" not in system and "15% off" in system
    assert "Write about: summer dresses" in str(model.calls[0][1].content)
    assert DRESS_FANS.name not in str(model.calls[0][1].content)


def test_a_cell_short_of_distinct_candidates_recombines_their_phrases_before_another_call() -> None:
    # Three candidates with one body under three headlines: one passes, the others repeat it. Instead of a
    # second call or template copy, the second variant leads with another customer's words (a social-proof
    # test) under the model's own headline.
    same = [BENEFIT, {**BENEFIT, "angle": "novelty", "headline": "Loved at every party"},
            {**BENEFIT, "angle": "urgency", "headline": "Dresses for warm days"}]
    model = ScriptedChatModel(script=[json.dumps({"candidates": same})])
    result = write_copy(model, brief=README, segments=[DRESS_FANS], channels=["email"], catalog=CATALOG,
                        language="en")
    [messaging] = result.messaging
    assert len(model.calls) == 1 and result.variant_checks.templated == 0 and not messaging.degraded
    first, second = messaging.variants
    assert (first.angle, second.angle) == ("benefit", "social_proof")
    assert second.body.startswith("“") and second.inspired_by != first.inspired_by
    assert all(c.passed for c in messaging.checks), [c for c in messaging.checks if not c.passed]


def test_candidates_leaking_the_brief_get_one_rewrite_then_pass() -> None:
    leaky = json.dumps({"candidates": [
        candidate("benefit", "Dresses for women 25-40", "Our $50k launch runs over 4 weeks.", "soft and light"),
        candidate("benefit", "Dresses for women 25-40", "On email + Instagram + search.", "soft and light"),
        candidate("benefit", "Dresses for women 25-40", "A launch for Dresses fans.", "soft and light"),
    ]})
    # The rewrite asks for as many candidates as variants still fail: two.
    model = ScriptedChatModel(script=[leaky, json.dumps({"candidates": [BENEFIT, PROOF]})])
    result = write_copy(model, brief=README, segments=[DRESS_FANS], channels=["instagram"], catalog=CATALOG,
                        language="en")
    [messaging] = result.messaging
    assert result.variant_checks.first_try == 0 and result.variant_checks.after_model_repair == 2
    assert not messaging.degraded and all(c.passed for c in messaging.checks)
    assert "no_brief_internals" in str(model.calls[1][-1].content)
    assert "Write 2 new candidates" in str(model.calls[1][-1].content)
    assert all("#" in v.body for v in messaging.variants)  # the copywriter added the hashtag


def test_chinese_slots_compose_chinese_copy() -> None:
    answer = json.dumps({"candidates": [
        candidate("benefit", "针织上衣上新", "面料柔软亲肤，上身舒适", "面料很柔软", "立即选购"),
        candidate("social_proof", "顾客都说好穿", "版型利落，通勤周末都能穿。", "收到好多夸奖", "看看同款"),
        candidate("novelty", "这款 tops 上新", "轻薄透气。", "颜色好看", "马上查看"),
    ]}, ensure_ascii=False)
    model = ScriptedChatModel(script=[answer])
    result = write_copy(model, brief=ZH, segments=[DRESS_FANS], channels=["xiaohongshu"], catalog=CATALOG,
                        language="zh")
    [messaging] = result.messaging
    assert all(c.passed for c in messaging.checks), [c for c in messaging.checks if not c.passed]
    first, second = messaging.variants
    assert first.body.startswith("面料柔软亲肤，上身舒适。") and "立减15%。" in first.body
    assert second.body.startswith("顾客说：“收到好多夸奖”。") and second.inspired_by[0] == "202"
    assert "tops" not in " ".join(v.headline for v in messaging.variants)


def test_a_headline_off_the_product_gives_way_to_another_candidates_whole_headline() -> None:
    sweater = candidate("benefit", "Your cosiest sweater yet", "A cut that moves with you on warm days",
                        "fabric is soft and light")
    model = ScriptedChatModel(script=[json.dumps({"candidates": [sweater, PROOF, OFFER]})])
    result = write_copy(model, brief=README, segments=[DRESS_FANS], channels=["email"], catalog=CATALOG,
                        language="en")
    [messaging] = result.messaging
    assert len(model.calls) == 1 and result.variant_checks.first_try == 2  # no rewrite, no fallback
    assert all("sweater" not in v.headline for v in messaging.variants)
    first = messaging.variants[0]
    assert first.angle == "benefit" and first.body.startswith("A cut that moves with you on warm days.")
    assert first.headline in {PROOF["headline"], OFFER["headline"]}


def test_a_benefit_that_strays_is_dropped_and_the_variant_tests_the_customers_words() -> None:
    stray = candidate("benefit", "Summer dresses that flatter", "Our coats keep out the cold.",
                      "fabric is soft and light")
    model = ScriptedChatModel(script=[json.dumps({"candidates": [stray, OFFER, OFFER]})])
    result = write_copy(model, brief=README, segments=[DRESS_FANS], channels=["email"], catalog=CATALOG,
                        language="en")
    first = result.messaging[0].variants[0]
    assert "coat" not in first.body and first.angle == "social_proof"
    assert first.body.startswith("“") and first.inspired_by[0] == "101"


def test_a_proof_never_comes_from_a_review_that_complains_or_only_hoped() -> None:
    quotes = [("1", "The dress is beautiful but runs small so i have to return it."),
              ("2", "I thought this sweater would be amazing."),
              ("3", "Love it, so soft and comfortable.")]
    proof = find_proof("dress is beautiful", quotes, 0, "en", praised=["beautiful"])
    assert proof is not None and proof.review_id == "3"
    zh = find_proof("颜色很漂亮", quotes, 0, "zh")
    assert zh is None  # no praising review names the colour
    assert find_proof("柔软舒适", quotes, 0, "zh") == type(proof)("柔软舒适", "3")


def test_chinese_copy_is_told_the_product_in_chinese_never_the_readers_english_word() -> None:
    from campaign_planner.agents.copy_prompts import product_in_language
    from campaign_planner.agents.copy_slots import slot_system_prompt

    # A Chinese brief's product read from its departments is the English department word ("tops"); the
    # model copied it into the copy ("这款 tops…"), so the prompt names it in Chinese.
    brief = Brief(text="针织上衣推广", product="tops", language="zh", audience=Audience(departments=["Tops"]))
    assert product_in_language(brief, "zh") == "上衣"
    prompt = slot_system_prompt(CopyBriefing.from_brief(brief, "zh", None, 2))
    assert "活动：上衣" in prompt and "tops" not in prompt
    assert CopyBriefing.from_brief(brief, "zh", None, 2).hashtag_words == ("上衣", "上衣")  # → "#上衣", not "#新品"
    assert product_in_language(brief.model_copy(update={"product": "summer capsule"}), "zh") == ""
    assert product_in_language(brief.model_copy(update={"product": "连衣裙"}), "en") == ""
    assert product_in_language(brief.model_copy(update={"product": "连衣裙"}), "zh") == "连衣裙"

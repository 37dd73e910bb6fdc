"""Channel limits travel in the copy schema, so a grammar-constrained model cannot overrun them."""

from __future__ import annotations

import json
from functools import partial

from campaign_planner.agents.copywriter import BODY_SCHEMA_MAX, channel_draft_schema
from campaign_planner.agents.copywriter import write_copy as write_copy_any_method
from campaign_planner.data.catalog import default_catalog
from campaign_planner.structured import constrain
from campaign_planner.testing import ScriptedChatModel
from campaign_planner.tools.copy_rules import end_cut_text, trim_to_limit
from tests.test_copywriter import BRIEF_EN, FIT_SEEKERS

CATALOG = default_catalog()

# These tests script whole-variant drafts: the "draft" method (the slot method has tests/test_copy_slots.py).
write_copy = partial(write_copy_any_method, method="draft")


def test_schema_carries_the_channel_limits_without_enforcing_them() -> None:
    schema = channel_draft_schema(2, CATALOG["search"]).model_json_schema()
    variant = next(iter(schema["$defs"].values()))
    assert variant["properties"]["headline"]["maxLength"] == 30
    assert variant["properties"]["body"]["maxLength"] == 90
    # TikTok keeps room for the hashtags the copywriter may append.
    tiktok = next(iter(channel_draft_schema(2, CATALOG["tiktok"]).model_json_schema()["$defs"].values()))
    assert tiktok["properties"]["body"]["maxLength"] == CATALOG["tiktok"].copy_rules.body_max - 30
    # Long-body channels (Instagram: 2,200 characters) are capped near what the prompt asks for, so the
    # grammar closes the body before the token cap could cut the JSON.
    instagram = next(iter(channel_draft_schema(2, CATALOG["instagram"]).model_json_schema()["$defs"].values()))
    assert instagram["properties"]["body"]["maxLength"] == BODY_SCHEMA_MAX["en"]
    xiaohongshu = channel_draft_schema(2, CATALOG["xiaohongshu"], "zh").model_json_schema()["$defs"]
    assert next(iter(xiaohongshu.values()))["properties"]["body"]["maxLength"] == BODY_SCHEMA_MAX["zh"]
    model = ScriptedChatModel(supports_json_schema=True)
    bound = constrain(model, channel_draft_schema(1, CATALOG["search"]), max_tokens=50)
    assert "maxLength" in json.dumps(bound.kwargs["response_format"])


def test_text_cut_by_the_grammar_ends_on_a_word_boundary() -> None:
    cut = "Discover the Perfect Fit with "  # exactly 30 characters: where the grammar stopped
    assert len(cut) == 30
    reply = json.dumps({"variants": [
        {"headline": cut, "body": "A cut made for real curves, in soft fabric.", "cta": "Shop now"},
        {"headline": "Dresses that flatter", "body": "Reviewers love the soft fabric.", "cta": "Shop now"},
    ]})
    model = ScriptedChatModel(script=[reply])
    result = write_copy(model, brief=BRIEF_EN, segments=[FIT_SEEKERS], channels=["search"], catalog=CATALOG,
                        language="en")
    headline = result.messaging[0].variants[0].headline
    assert headline == "Discover the Perfect Fit"
    assert result.first_try_pass == 1 and not result.messaging[0].degraded


def test_text_cut_by_the_grammar_ends_at_its_last_sentence_where_that_keeps_most_of_it() -> None:
    # The local model's search body, cut at 90 characters by the grammar mid-phrase.
    cut = "Experience the ultimate summer dress with our new wrap dress. It features a flattering sil"
    assert len(cut) == 90
    assert end_cut_text(cut, "en") == "Experience the ultimate summer dress with our new wrap dress."
    # A sentence end early on would throw most of the text away: the word boundary wins then.
    early = "Wow. A cut made for real curves in fabric reviewers love for its soft drape and colo"
    assert end_cut_text(early, "en") == "Wow. A cut made for real curves in fabric reviewers love for its soft drape"
    sentence = "面料柔软亲肤，上身显瘦，通勤约会都能穿。"
    assert end_cut_text(sentence + "搭配凉鞋", "zh") == sentence


def test_a_price_or_a_percentage_is_never_cut_at_its_decimal_point() -> None:
    cut = "Our linen dress is now only $49.99 for members, with free retur"
    assert "$49.99" in end_cut_text(cut, "en") and not end_cut_text(cut, "en").endswith("$49.")
    assert trim_to_limit("Save 12.5% on linen dresses this week only, while stocks last.", 40, "en") == (
        "Save 12.5% on linen dresses this week"
    )
    # A window ending right after "$49." must not read as a sentence end.
    assert trim_to_limit("Members pay only $49.99 for the linen dress", 20, "en") == "Members pay only"

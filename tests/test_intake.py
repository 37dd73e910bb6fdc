"""The intake readers: normalisation, Chinese numerals, amounts, durations, channels, behavioural audiences."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from campaign_planner.agents.brief_parser import parse_brief
from campaign_planner.data.catalog import default_catalog
from campaign_planner.domain import BehaviourFilter
from campaign_planner.intake.amounts import find_money
from campaign_planner.intake.audience import behaviour_mask, find_behaviour
from campaign_planner.intake.channels import channel_mentions, only_channels, unknown_channels
from campaign_planner.intake.durations import find_duration
from campaign_planner.intake.normalise import normalise, to_traditional
from campaign_planner.intake.numerals import chinese_number, replace_chinese_numerals

CATALOG = default_catalog()


@pytest.mark.parametrize(("numerals", "value"), [
    ("两千五百", 2500), ("两千五", 2500), ("三十万", 300_000), ("三万五", 35_000), ("一百五", 150),
    ("两千零五", 2005), ("十", 10), ("十五", 15), ("九十九", 99), ("八五", 85), ("一亿二千万", 120_000_000),
    ("五十万零三百", 500_300), ("壹万", 10_000),
])
def test_chinese_numerals_of_any_size(numerals: str, value: int) -> None:
    assert chinese_number(numerals) == value


@pytest.mark.parametrize("numerals", ["", "万五", "三五十", "abc"])
def test_what_is_no_chinese_numeral_is_refused(numerals: str) -> None:
    assert chinese_number(numerals) is None


def test_numeral_replacement_leaves_words_and_magnitudes_alone() -> None:
    assert replace_chinese_numerals("预算两千五百元，两周") == "预算2500元，2周"
    assert replace_chinese_numerals("30万元，1.5万") == "30万元，1.5万"  # magnitudes of Arabic numbers
    assert replace_chinese_numerals("短一点，千万不要用电视，统一") == "短一点，千万不要用电视，统一"
    assert replace_chinese_numerals("双十一前两周") == "双11前2周"


def test_normalisation_keeps_the_original_and_maps_spans_back() -> None:
    norm = normalise("預算30萬元，為期兩週，語氣：活潑可愛")
    assert norm.script == "traditional"
    assert norm.text == "预算30万元,为期2周,语气:活泼可爱"
    start = norm.text.index(":") + 1
    assert norm.original_of(start, len(norm.text)) == "活潑可愛"
    english = normalise("Spring launch over two weeks, fifty thousand dollars")
    assert english.script is None and english.text == "Spring launch over 2 weeks, 50000 dollars"
    assert english.original_of(english.text.index("2 weeks"), english.text.index("2 weeks") + 7) == "two weeks"


def test_simplified_is_not_mistaken_for_traditional() -> None:
    assert normalise("预算三十万元，为期两周，连衣裙").script == "simplified"
    assert to_traditional("为期两周") == "爲期兩週"


@pytest.mark.parametrize(("written", "amount", "currency"), [
    ("€6.000", 6000, "EUR"), ("6.000 €", 6000, "EUR"), ("1.234,56 EUR", 1234.56, "EUR"), ("EUR 6,000", 6000, "EUR"),
    ("CN¥3万", 30_000, "CNY"), ("JP¥500,000", 500_000, "JPY"), ("$1.2m", 1_200_000, "USD"),
    ("HK$80k", 80_000, "HKD"), ("1,5 Mio. €", 1_500_000, "EUR"), ("預算30萬元", 300_000, "CNY"),
    ("两千五百元", 2500, "CNY"), ("6 000 €", 6000, "EUR"), ("$5,000 USD", 5000, "USD"),
    ("1.5 million dollars", 1_500_000, "USD"), ("RMB 200,000", 200_000, "CNY"), ("£1.5m", 1_500_000, "GBP"),
])
def test_amounts_in_locale_formats(written: str, amount: float, currency: str) -> None:
    mentions = find_money(normalise(written).text)
    assert [(m.amount, m.currency, m.ambiguous) for m in mentions] == [(amount, currency, False)]


@pytest.mark.parametrize("written", ["Budget 6.000 for two weeks", "$6.000 budget"])
def test_an_amount_with_two_readings_is_ambiguous(written: str) -> None:
    (mention,) = find_money(normalise(written).text)
    assert mention.ambiguous and mention.readings == (6000.0, 6.0)


def test_separators_follow_the_other_numbers_of_the_text() -> None:
    # A writer who wrote 1.234,56 elsewhere groups thousands with dots: "6.000" is six thousand.
    mentions = find_money(normalise("Budget 6.000 total, of which 1.234,56 for tests").text)
    assert (mentions[0].amount, mentions[0].ambiguous) == (6000.0, False)


@pytest.mark.parametrize(("written", "days", "weeks"), [
    ("10 days", 10, 2), ("this weekend", 2, 1), ("over 4 weeks", 28, 4), ("a month", 30.44, 4),
    ("1.5 months", 45.66, 7), ("a fortnight", 14, 2), ("over two weeks", 14, 2), ("1–14 March", 14, 2),
    ("March 1 to 14", 14, 2), ("两周", 14, 2), ("十天", 10, 2), ("一个半月", 45.66, 7), ("双十一前两周", 14, 2),
    ("3月1日至14日", 14, 2), ("a month and a half", 45.66, 7), ("為期兩週", 14, 2),
])
def test_durations(written: str, days: float, weeks: int) -> None:
    duration = find_duration(normalise(written).text)
    assert duration is not None
    assert duration.days == pytest.approx(days, abs=0.01)
    assert duration.weeks == weeks


def test_customer_periods_are_not_the_campaign_length() -> None:
    duration = find_duration(normalise("Lapsed customers, no purchase in 9+ months; run it for 3 weeks").text)
    assert duration is not None and duration.weeks == 3
    assert find_duration("customers who bought in the last 6 months") is None


@pytest.mark.parametrize(("text", "channels"), [
    ("push on Instagram and email", ["instagram", "email"]),
    ("boost via email", ["email"]),
    ("drive traffic through search", ["search"]),
    ("print dresses on Instagram", ["instagram"]),
    ("email, push and SMS", ["email", "push", "sms"]),
    ("use push notifications and email", ["push", "email"]),
])
def test_channels_are_nouns_not_verbs(text: str, channels: list[str]) -> None:
    assert [m.channel for m in channel_mentions(text, CATALOG)] == channels


@pytest.mark.parametrize(("text", "only"), [
    ("with an email-only campaign", ["email"]), ("email and SMS only", ["email", "sms"]), ("only email", ["email"]),
    ("exclusively via email", ["email"]), ("just email and push", ["email", "push"]),
    ("只用邮件和微信", ["email", "wechat"]), ("僅用微信", ["wechat"]), ("仅限小红书投放", ["xiaohongshu"]),
    ("only women 30-45, email and sms", []), ("not only email but also SMS", []),
])
def test_only_forms(text: str, only: list[str]) -> None:
    reading = normalise(text).text
    lists = only_channels(reading, channel_mentions(reading, CATALOG))
    assert [m.channel for group in lists for m in group] == only


def test_unknown_channels_are_flagged_with_suggestions() -> None:
    found = unknown_channels("Use carrier pigeons and skywriting only", CATALOG)
    assert [u.name for u in found] == ["carrier pigeons", "skywriting"]
    assert all(u.in_only_list and len(u.suggestions) == 3 for u in found)
    assert [u.name for u in unknown_channels("Channels: email, Snapchat", CATALOG)] == ["snapchat"]
    assert unknown_channels("not only email but also SMS", CATALOG) == []


def test_an_only_list_of_unknown_channels_allows_nothing() -> None:
    parsed = parse_brief("Use carrier pigeons and skywriting only, $10k over 2 weeks", CATALOG)
    assert parsed.brief.channels_only and parsed.brief.channels_allowed == []
    assert {f.code.value for f in parsed.flags} == {"unknown_channel"}
    assert any("nothing is spent" in q for q in parsed.open_questions)


def test_behavioural_audiences_are_read() -> None:
    kinds = {(f.kind, f.value) for f in find_behaviour(normalise(
        "Lapsed customers, no purchase in 9+ months, and our top customers who bought outerwear").text)}
    assert kinds == {("recency_min_months", 9.0), ("top_customers", 0.2), ("past_department", "Jackets")}
    assert [f.kind for f in find_behaviour("new customers only")] == ["new_customers"]
    assert find_behaviour("acquire new customers") == []
    assert [f.kind for f in find_behaviour(normalise("超过九个月没有购买的老客户").text)] == [
        "recency_min_months", "existing_customers"]


def test_behaviour_mask_uses_the_features_the_shop_has() -> None:
    history = pd.DataFrame({"recency": [1, 10, 12, 3], "history": [50.0, 500.0, 80.0, 900.0],
                            "mens": [1, 0, 1, 0], "newbie": [0, 1, 0, 1]})
    features = ["recency", "history", "mens", "newbie"]
    lapsed = behaviour_mask(history, [BehaviourFilter(kind="recency_min_months", value=9.0)], features)
    assert lapsed.mask.tolist() == [False, True, True, False] and not lapsed.unsupported
    top = behaviour_mask(history, [BehaviourFilter(kind="top_customers", value=0.5)], features)
    assert top.mask.tolist() == [False, True, False, True]
    mens = behaviour_mask(history, [BehaviourFilter(kind="past_department", value="Men")], features)
    assert mens.mask.tolist() == [True, False, True, False]
    jackets = BehaviourFilter(kind="past_department", value="Jackets")
    missing = behaviour_mask(history, [jackets], features)
    assert missing.unsupported == [jackets] and np.all(missing.mask)


def test_a_list_naming_a_catalog_channel_names_channels_in_its_other_items() -> None:
    assert [u.name for u in unknown_channels("Bluesky, Mastodon and email, $3k", CATALOG)] == ["bluesky", "mastodon"]
    assert unknown_channels("Summer, Instagram and email", CATALOG) == []
    assert [u.name for u in unknown_channels("Promote the jeans with fax and telegrams only", CATALOG)] == [
        "fax", "telegrams"]


def test_the_plan_shows_days_as_the_brief_said_them() -> None:
    from campaign_planner.render.formatting import brief_fields

    fields = dict(brief_fields(parse_brief("Email, $2k, 10 days", CATALOG).brief))
    assert fields["Duration"] == "10 days (planned as 2 weeks)"
    only_unknown = dict(brief_fields(parse_brief("Skywriting only, $2k, 2 weeks", CATALOG).brief))
    assert only_unknown["Channels allowed"].startswith("none")


@pytest.mark.parametrize(("text", "allowed", "excluded"), [
    ("Do not use TikTok; email and search, $5k", ["email", "search"], ["tiktok"]),
    ("No TV, print or radio. Email, $5k", ["email"], ["print", "tv"]),
    ("no TV, no print, email and search", ["email", "search"], ["print", "tv"]),
    ("without TV or print ads, email $2k", ["email"], ["print", "tv"]),
    ("不要投电视和户外，微信，预算1万", ["wechat"], ["ooh", "tv"]),
    ("Lapsed customers, no purchase in 9+ months: win them back with email", ["email"], []),
    ("Not only email but also SMS", ["email", "sms"], []),
])
def test_a_negation_excludes_only_the_channels_it_governs(text: str, allowed: list[str], excluded: list[str]) -> None:
    brief = parse_brief(text, CATALOG).brief
    assert (brief.channels_allowed, brief.channels_excluded) == (allowed, excluded)


def test_chinese_shorthand_ranges_and_quarters() -> None:
    assert parse_brief("预算3w，两周，小红书", CATALOG).brief.budget.amount == 30_000  # type: ignore[union-attr]
    assert parse_brief("a 3w sprint, $5k", CATALOG).brief.budget.amount == 5_000  # type: ignore[union-attr]
    ranged = parse_brief("Budget: $50K, 6-8 weeks, email", CATALOG)
    assert ranged.brief.weeks == 8 and any("6-8 weeks" in q for q in ranged.open_questions)
    assert parse_brief("USD 50k for Q4 on search", CATALOG).brief.weeks == 13


def test_questions_in_a_brief_are_found_and_classified() -> None:
    from campaign_planner.intake.questions import find_questions

    found = find_questions("Email, $5k. Which segments should we prioritise, and what lift should we expect "
                           "versus not emailing? How much should go to TikTok? 哪些人群应该优先？Can we book a "
                           "celebrity?", CATALOG)
    assert [(q.kind, q.channel) for q in found] == [("which_customers", None), ("what_lift", "email"),
                                                    ("how_much_channel", "tiktok"), ("which_customers", None),
                                                    ("other", None)]


def test_a_question_no_tool_answers_is_listed_open() -> None:
    from campaign_planner.domain import BriefQuestion
    from campaign_planner.intake.questions import answer_questions
    from tests.test_render import full_plan

    plan = full_plan()
    plan.brief.questions = [BriefQuestion(text="What lift should we expect?", kind="what_lift"),
                            BriefQuestion(text="Should we rebrand?", kind="other")]
    answers, _ = answer_questions(plan)
    assert [a.kind for a in answers] == ["what_lift"] and answers[0].numbers
    plan.forecast = []
    answers, unanswered = answer_questions(plan)
    assert answers == [] and len(unanswered) == 2 and all("no tool" in q for q in unanswered)


def test_answers_follow_the_plans_language() -> None:
    from campaign_planner.domain import BriefQuestion
    from campaign_planner.intake.questions import answer_questions
    from tests.test_render import full_plan

    plan = full_plan()
    plan.brief.language = "zh"
    plan.brief.questions = [BriefQuestion(text="提升多少？", kind="what_lift"),
                            BriefQuestion(text="要换品牌吗", kind="other")]
    answers, unanswered = answer_questions(plan)
    assert "增量收入" in answers[0].text and "没有工具" in unanswered[0]


def test_a_traditional_brief_is_searched_with_the_same_english_terms() -> None:
    from campaign_planner.tools.registry import english_query

    traditional = parse_brief("預算30萬元，為期兩週，連衣裙，重視面料和舒適度，小紅書", CATALOG).brief
    simplified = parse_brief("预算30万元，为期两周，连衣裙，重视面料和舒适度，小红书", CATALOG).brief
    assert english_query(traditional) == english_query(simplified) == "women's dresses fabric comfortable review"

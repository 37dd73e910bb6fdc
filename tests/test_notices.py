"""The tools' notices (flags, assumptions, measurement notes, profile lines) restated in a plan's language."""

from __future__ import annotations

import re
import string

import pandas as pd

from campaign_planner.data.channel_checks import channel_history_warnings
from campaign_planner.domain import Allocation, Budget, FlagCode, ForecastLine, SegmentProfile
from campaign_planner.graphs.figures import negative_roi_flags, recommendation_text
from campaign_planner.render.formatting import definition_text, demographics_text
from campaign_planner.render.messages import (
    MESSAGES,
    NEEDS_ZH,
    KeyedText,
    keyed_assumption,
    keyed_flag,
    profile_in_language,
    restated,
)
from campaign_planner.render.notice_messages import NOTICES
from campaign_planner.tools.measurement import design_measurement
from campaign_planner.tools.segmentation import ATTRIBUTES

LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
ZH_ONLY_VALUES = {"measure_zh", "source_zh", "still_failing_zh", "templated_zh", "reasons_zh", "readings_zh"}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_notice_takes_the_same_values_in_both_languages() -> None:
    assert set(NOTICES) <= set(MESSAGES)
    for key, entry in NOTICES.items():
        english, chinese = _fields(entry["en"]), _fields(entry["zh"])
        # Chinese uses the values English does; or one worded for it (…_zh); or the channel's id, shown by its
        # Chinese name, where English names it by the catalog's name (channel_name).
        assert chinese - ZH_ONLY_VALUES - english <= ({"channel"} if "channel_name" in english else set()), key


def test_a_keyed_flag_keeps_its_english_wording_and_is_restated_in_chinese() -> None:
    flag = keyed_flag(FlagCode.WEAK_EVIDENCE, "flag_prior_curve", channel="wechat", objective="revenue")
    assert flag.message == ("wechat: no channel history, so its revenue forecast uses the catalog prior curve "
                            "(wide intervals)")
    chinese = restated(flag, "zh")
    assert chinese.message == "微信：没有该渠道的投放历史，其收入预测使用渠道目录的先验曲线（区间很宽）"
    assert chinese.key == flag.key and chinese.params == flag.params  # the values stay for API clients
    assert restated(flag, "en") is flag
    free = keyed_flag(FlagCode.WEAK_EVIDENCE, "flag_prior_curve", channel="x", objective="y").model_copy(
        update={"key": None})
    assert restated(free, "zh") is free  # free text (no key) is never guessed at


def test_a_negative_roi_flag_says_why_and_what_to_do_in_chinese() -> None:
    budget = Budget(total=80_000, currency="CNY", allocations=[
        Allocation(channel="weibo", spend=4_000, expected_outcome=2_470, marginal_roi=0.2, binding=["min_share"]),
        Allocation(channel="wechat", spend=76_000, expected_outcome=132_975, marginal_roi=1.2),
    ])
    line = ForecastLine(segment_id="seg-1", channel="weibo", metric="incremental_revenue", expected=2_470,
                        interval_80=(1_000, 4_000), interval_95=(500, 5_000), spend=4_000, roi=-0.38,
                        incremental_revenue=2_470, source="response_curve")
    [flag] = negative_roi_flags(budget, [line], {})
    # Amounts are kept as numbers and shown as each reader knows the currency: CN¥ in English, ¥ in Chinese.
    assert flag.message.startswith("weibo: forecast ROI down to -0.38 (seg-1) on CN¥4,000; it is funded because")
    assert flag.params["spend"] == 4_000
    assert "every channel of the brief gets at least a minimum share" in flag.message
    chinese = restated(flag, "zh").message
    assert chinese.startswith("微博：投入 ¥4,000 的预测 ROI 低至 -0.38（seg-1）")
    assert "最低占比" in chinese and "从简报中去掉该渠道" in chinese
    assert not LATIN_WORD.search(chinese.replace("ROI", "").replace("seg", ""))


def test_the_shops_data_warnings_keep_their_key_through_the_load_report() -> None:
    from campaign_planner.data.shop import FileReport

    weeks = pd.date_range("2024-01-01", periods=30, freq="7D")
    history = pd.DataFrame({"period": weeks, "spend_display": [0.5] * 30, "spend_search": [1_000.0] * 30,
                            "revenue": [50_000.0] * 30})
    warnings = channel_history_warnings(history)
    scaled = next(w for w in warnings if w.startswith("spend_display never exceeds 1"))
    assert isinstance(scaled, KeyedText) and scaled.key == "warn_scaled_spend"
    report = FileReport(file="channel_history.csv", rows_read=30, rows_loaded=30, warnings=warnings)
    assert isinstance(report.warnings[0], KeyedText)  # not turned into a plain str by validation
    flag = keyed_flag(FlagCode.DATA_QUALITY, "flag_data_quality", file="channel_history.csv",
                      warning_key=scaled.key, **scaled.params)
    assert flag.message == f"channel_history.csv: {scaled}"
    assert restated(flag, "zh").message.startswith("channel_history.csv：展示广告的投入从未超过 1")


def test_an_assumption_and_the_recommendation_are_worded_in_the_plans_language() -> None:
    assumption = keyed_assumption("assume_fx", 0.5, shop_currency="USD", currency="CNY", rate="0.1400",
                                  source="approximate rates", source_zh_key="fx_source_reference")
    assert assumption.text.startswith("The shop's history is in USD and the brief in CNY")
    assert restated(assumption, "zh").text.startswith("店铺的历史数据以 USD 计，简报以 CNY 计")
    budget = Budget(total=30_000, currency="CNY", allocations=[], recommended_total=30_000)
    note = {"recommendation_note": "the marginal ROI stays at or above 1 up to the budget"}
    assert recommendation_text(budget, note) == ("Spend the whole budget of CN¥30,000: the marginal ROI stays at "
                                                 "or above 1 up to the budget.")
    assert recommendation_text(budget, note, "zh") == "花完全部预算 ¥30,000：直到预算上限，边际 ROI 都不低于 1。"
    unknown = {"recommendation_note": "a note no key words"}
    assert recommendation_text(budget, unknown, "zh") == "花完全部预算 ¥30,000：a note no key words。"


def test_the_measurement_design_is_worded_in_chinese_with_channel_names() -> None:
    line = ForecastLine(segment_id="seg-1", channel="wechat", metric="incremental_revenue", expected=100,
                        interval_80=(50, 150), interval_95=(20, 200), incremental_revenue=100, roi=-0.9,
                        spend=1_000, source="prior")
    design = design_measurement([line], 5_000, channel_kinds={"wechat": "paid"}, language="zh",
                                channel_name={"wechat": "微信"}.get)
    assert design.design.startswith("地区或时段留出") and "微信地区留出" in design.design
    assert design.channels[0].description.startswith("地区留出")
    assert not LATIN_WORD.search(design.design + design.channels[0].description)
    english = design_measurement([line], 5_000, channel_kinds={"wechat": "paid"})
    assert english.design.startswith("geo or time-based holdout") and "wechat geo holdout" in english.design


def test_a_chinese_profile_names_needs_praise_and_pains_in_chinese() -> None:
    assert {a.need for a in ATTRIBUTES} <= set(NEEDS_ZH)
    profile = SegmentProfile(
        needs=["a fit that flatters their shape (42% mention fit)", "fabric that is not see-through "
               "(20% mention sheerness)"],
        praised_attributes=["comfortable fit", "colour"],
        pain_points=["boxy, unflattering cuts (4 low-rated reviews)"],
        demographics={"department_mix": "Dresses 80%, Tops 20%", "age_median": 33.0, "recommend_rate": 0.819})
    chinese = profile_in_language(profile, "zh")
    assert chinese.needs == ["显身材的版型（42% 提到版型）", "不透光的面料（20% 提到透光）"]
    assert chinese.praised_attributes == ["舒适的版型", "颜色"]
    assert chinese.pain_points == ["版型宽松、不显身材（4 条低分评论）"]
    assert chinese.demographics["department_mix"] == "连衣裙 80%，上衣 20%"
    assert profile_in_language(profile, "en") is profile
    assert demographics_text(chinese.demographics, "zh") == (
        "品类构成：连衣裙 80%，上衣 20%；年龄中位数 33 岁；愿意推荐：82%")
    definition = {"age_min": 31, "age_max": 35, "departments": ["Dresses"], "rating_min": 2, "rating_max": 5}
    assert definition_text(definition, "zh") == "年龄 31–35 岁；品类：连衣裙；评分 2–5 星"
    assert definition_text(definition) == "age 31–35; departments: Dresses; rating 2–5 stars"
    assert definition_text({"recency_max": 90}) == "recency_max = 90"  # a filter it does not know is shown as is


def test_money_is_shown_with_the_symbol_its_reader_knows() -> None:
    from campaign_planner.render.formatting import format_money

    assert format_money(300_000, "CNY") == "CN¥300,000" and format_money(300_000, "CNY", "zh") == "¥300,000"
    assert format_money(500_000, "JPY") == "¥500,000" and format_money(500_000, "JPY", "zh") == "JP¥500,000"
    assert format_money(6_000, "USD", "zh") == "US$6,000" and format_money(80_000, "HKD") == "HK$80,000"
    assert format_money(20_000, "SEK") == "20,000 SEK" and format_money(-5, "EUR") == "-€5.00"


def test_a_chinese_brief_asks_its_questions_in_chinese_and_its_flags_restate() -> None:
    from campaign_planner.agents.brief_parser import parse_brief
    from campaign_planner.data.catalog import default_catalog

    parsed = parse_brief("连衣裙推广，渠道：微信和小红书", default_catalog())
    assert "这次活动的总预算是多少？用哪种货币？" in parsed.open_questions
    assert "活动要进行几周？" in parsed.open_questions
    missing = next(f for f in parsed.flags if f.code == FlagCode.MISSING_BUDGET)
    assert missing.message == "The brief gives no budget." and restated(missing, "zh").message == "简报没有给出预算。"
    [weeks] = [a for a in parsed.assumptions if a.key == "assume_four_weeks"]
    assert restated(weeks, "zh").text == "简报没有给出活动时长；按 4 周计划。"
    english = parse_brief("Dress launch on email", default_catalog())
    assert "What is the total budget for this campaign, and in which currency?" in english.open_questions


def test_every_currency_a_brief_is_read_in_has_a_conversion_rate() -> None:
    from campaign_planner.data.fx import USD_PER_UNIT
    from campaign_planner.intake.amounts import ISO_CODES, PREFIX_CURRENCIES, SUFFIX_CURRENCIES

    read = {*ISO_CODES.values(), *PREFIX_CURRENCIES.values(), *SUFFIX_CURRENCIES.values()}
    assert read <= set(USD_PER_UNIT), read - set(USD_PER_UNIT)


def test_the_summary_checker_reads_the_symbols_either_reader_sees() -> None:
    from campaign_planner.graphs.summary import written_numbers

    for text, value in (("CN¥80,000", 80_000), ("US$500", 500), ("JP¥1,580,081", 1_580_081), ("HK$48,986", 48_986)):
        [number] = written_numbers(f"邮件投入 {text}。")
        assert number.value == value and not number.is_count, text

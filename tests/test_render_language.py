"""The reports' Answers section, and a Chinese plan's headings, labels and segment names (render/messages.py)."""

from __future__ import annotations

import re

from campaign_planner.domain import BriefQuestion, CampaignPlan
from campaign_planner.intake.questions import answer_questions
from campaign_planner.render import escape_md, render_plan
from campaign_planner.render.messages import MESSAGES, segment_display_name
from tests.test_render import full_plan

LATIN = re.compile(r"[A-Za-z]")
OPEN_QUESTION = "Can we book a celebrity?"


def _asking_plan(language: str = "en") -> CampaignPlan:
    plan = full_plan()
    plan.brief.language = language  # type: ignore[assignment]
    plan.brief.questions = [
        BriefQuestion(text="Which segments should we prioritise?", kind="which_customers"),
        BriefQuestion(text="How much goes to Instagram?", kind="how_much_channel", channel="instagram"),
        BriefQuestion(text=OPEN_QUESTION, kind="other"),
    ]
    plan.answers, unanswered = answer_questions(plan)
    plan.open_questions = [*plan.open_questions, *unanswered]
    return plan


def test_markdown_answers_the_briefs_questions_with_the_tool_numbers() -> None:
    plan = _asking_plan()
    markdown = render_plan(plan, "md")
    answers = markdown[markdown.index("## Answers to the brief's questions"):markdown.index("## Brief")]
    assert markdown.index("## Summary") < markdown.index("## Answers") < markdown.index("## Brief")
    which, how_much = plan.answers
    assert "**“Which segments should we prioritise?”**" in answers
    # The stored answer and the numbers behind it, named by where they come from.
    assert "Figures behind it (from the targeting table, the forecast)" in answers
    assert "`email.top_share` = 0.1" in answers and "`fit-seekers.incremental_revenue` = 18,020" in answers
    assert "Figures behind it (from the budget allocation): `instagram.spend` = 20,000" in answers
    # Each answer's text as stored (escaped for Markdown), under its question.
    assert answers.index(escape_md(which.text)) < answers.index("How much goes to Instagram?")
    assert answers.index("How much goes to Instagram?") < answers.index(escape_md(how_much.text))
    assert "On email: target the top 10%" in answers and r"instagram: \$20,000 of \$50,000" in answers


def test_an_open_question_is_shown_open_never_answered() -> None:
    plan = _asking_plan()
    markdown = render_plan(plan, "md")
    start = markdown.index(f"**“{OPEN_QUESTION}”**")
    block = markdown[start:markdown.index("## Brief")]
    assert "⚠ **open** — Open: no tool of this plan answers it" in block
    assert "Figures behind it" not in block  # no answer in prose, no numbers
    page = render_plan(plan, "html")
    section = page[page.index('id="answers"'):page.index('id="brief"')]
    assert section.count('class="cell answer open"') == 1 and section.count('class="cell answer"') == 2
    open_block = section[section.index(f"“{OPEN_QUESTION}”"):]
    assert "open</strong>" in open_block and "Figures behind it" not in open_block


def test_html_answers_carry_the_numbers_and_escape_the_question() -> None:
    plan = _asking_plan()
    plan.brief.questions[0] = plan.brief.questions[0].model_copy(update={"text": "Which <b>segments</b>?"})
    plan.answers, _ = answer_questions(plan)
    page = render_plan(plan, "html")
    assert page.index('id="summary"') < page.index('id="answers"') < page.index('id="brief"')
    assert "“Which &lt;b&gt;segments&lt;/b&gt;?”" in page and "<b>segments" not in page
    assert "<code>email.top_share</code> = 0.1" in page and "<code>instagram.spend</code> = 20,000" in page


def test_a_plan_without_questions_has_no_answers_section() -> None:
    plan = full_plan()
    assert "## Answers" not in render_plan(plan, "md") and 'id="answers"' not in render_plan(plan, "html")


def test_a_chinese_plan_has_no_english_heading_in_markdown_or_html() -> None:
    plan = _asking_plan("zh")
    markdown = render_plan(plan, "md")
    headings = [line for line in markdown.splitlines() if re.match(r"#{1,2} ", line)]
    assert len(headings) >= 14
    assert [h for h in headings if LATIN.search(h.replace(plan.brief.product or "", ""))] == []
    assert "## 摘要" in markdown and "## 简报问题的解答" in markdown and "## 预测" in markdown
    # Table column headers and labels too: the forecast's header row is all Chinese (ROI spelled out).
    forecast_header = next(line for line in markdown.splitlines() if line.startswith("| 细分人群 |"))
    assert not LATIN.search(forecast_header.replace("80%", "").replace("95%", ""))
    assert "**状态:** 草稿" in markdown and "⚠ **待定** — 待定：本方案没有工具能回答" in markdown
    page = render_plan(plan, "html")
    h2 = re.findall(r"<h2>(.*?)</h2>", page)
    assert len(h2) >= 13 and [h for h in h2 if LATIN.search(h)] == []
    assert [th for th in re.findall(r"<th>(.*?)</th>", page) if LATIN.search(th.replace("80%", ""))] == []
    # Review quotes stay verbatim.
    assert "This dress is so flattering, the cut is perfect for my curves." in markdown
    assert "This dress is so flattering, the cut is perfect for my curves." in page


def test_an_english_plan_keeps_its_english_headings() -> None:
    markdown = render_plan(full_plan(), "md")
    assert "## Summary" in markdown and "## Forecast" in markdown and "细分" not in markdown


def test_every_message_has_english_and_chinese() -> None:
    assert all(set(entry) == {"en", "zh"} and all(entry.values()) for entry in MESSAGES.values())


def test_a_chinese_segment_name_is_built_in_chinese_from_the_same_parts() -> None:
    name = "Tops fans, 31–35, who love the pretty comfort"
    shown = segment_display_name(name, "zh")
    assert shown == "上衣爱好者，31–35 岁，喜爱漂亮的舒适度" and not LATIN.search(shown)
    assert segment_display_name("Tops & Dresses shoppers, 35–42, frustrated by small sizing", "zh") == (
        "上衣和连衣裙顾客，35–42 岁，困扰于尺码偏小")
    assert segment_display_name("Jackets shoppers, who value the high quality", "zh") == "外套顾客，看重高品质"
    assert segment_display_name(name, "en") == name


def test_a_word_with_no_chinese_translation_stays_english_in_corner_brackets() -> None:
    assert segment_display_name("Dresses fans, 25–40, who love the dreamy colour", "zh") == (
        "连衣裙爱好者，25–40 岁，喜爱「dreamy」的颜色")
    assert segment_display_name("Capes fans, who love the sequins", "zh") == "「Capes」爱好者，喜爱「sequins」"
    assert segment_display_name("Value hunters", "zh") == "「Value hunters」"  # not the tool's form: kept whole


def test_the_segmentation_tools_words_all_have_a_chinese_word() -> None:
    from campaign_planner.intake.departments import DEPARTMENT_TERMS
    from campaign_planner.render.messages import ATTRIBUTES_ZH, DEPARTMENTS_ZH, MODIFIERS_ZH, PAIN_POINTS_ZH
    from campaign_planner.tools import segmentation
    from campaign_planner.tools.segmentation import ATTRIBUTES, PAIN_POINTS, AttributeSummary, segment_name

    assert {a.noun for a in ATTRIBUTES} <= set(ATTRIBUTES_ZH)
    assert {label for label, _ in PAIN_POINTS} <= set(PAIN_POINTS_ZH)
    assert set(segmentation._POSITIVE_MODIFIERS.split("|")) <= set(MODIFIERS_ZH)
    assert set(DEPARTMENT_TERMS) <= set(DEPARTMENTS_ZH)
    # Names the tool itself builds come out fully Chinese.
    for praised, pains, rating in ((["gorgeous colour"], [], 4.5), ([], ["thin, flimsy fabric"], 2.5),
                                   (["flattering cut"], [], 3.5)):
        summary = AttributeSummary(praised=praised, praised_keys=[], needs=[], pain_points=[], pain_labels=pains)
        name = segment_name({"age_min": 25, "age_max": 40}, summary, rating, leads=["Dresses", "Intimate"])
        assert not LATIN.search(segment_display_name(name, "zh")), name


def test_a_chinese_plans_tables_and_answers_show_the_chinese_segment_name() -> None:
    plan = _asking_plan("zh")
    plan.segments[0].name = "Dresses fans, 25–40, who love the flattering cut"
    plan.answers, _ = answer_questions(plan)
    markdown = render_plan(plan, "md")
    assert "### 连衣裙爱好者，25–40 岁，喜爱显身材的剪裁 (`fit-seekers`)" in markdown
    assert "| 连衣裙爱好者，25–40 岁，喜爱显身材的剪裁 | 邮件 | 增量转化 |" in markdown
    assert "连衣裙爱好者，25–40 岁，喜爱显身材的剪裁" in plan.answers[0].text
    assert plan.segments[0].name == "Dresses fans, 25–40, who love the flattering cut"  # the JSON keeps English

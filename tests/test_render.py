"""Renderers: every section present, untrusted text escaped, flags first, the HTML self-contained."""

from __future__ import annotations

import json
import re

import pytest

from campaign_planner.domain import (
    Allocation,
    Assumption,
    Audience,
    Brief,
    Budget,
    CampaignPlan,
    ChannelTest,
    CopyVariant,
    Evidence,
    Flag,
    FlagCode,
    ForecastLine,
    Measurement,
    Messaging,
    Money,
    Offer,
    Provenance,
    RationaleItem,
    ResponseCurvePoint,
    RuleCheck,
    Segment,
    SegmentProfile,
    SegmentSize,
    Targeting,
)
from campaign_planner.render import escape_md, render_plan

SCRIPT = "<script>alert(1)</script>"
BOLD = "**bold**"
RULES = ["headline_length", "body_length", "cta_present", "offer_consistent", "banned_claims"]


def _checks(failing: str | None = None) -> list[RuleCheck]:
    return [
        RuleCheck(
            rule=f"v{n}:{rule}", passed=rule != failing, detail="" if rule != failing else "72/60 characters"
        )
        for n in (1, 2)
        for rule in RULES
    ]


def _curve(beta: float, half: float) -> list[ResponseCurvePoint]:
    return [
        ResponseCurvePoint(spend=s, outcome=round(beta * s**1.2 / (s**1.2 + half**1.2), 1))
        for s in range(0, 40001, 4000)
    ]


def full_plan(flags: list[Flag] | None = None) -> CampaignPlan:
    """A realistic plan for the dev-01 brief, with a hostile review quote planted in it."""
    brief = Brief(
        text="Summer dress launch for women 25-40. $50,000 over 4 weeks. Email, Instagram, paid search. "
        "Offer: 15% off first order. Tone: warm and confident.",
        objective="revenue",
        product="Summer dresses",
        budget=Money(amount=50000, currency="USD"),
        weeks=4,
        channels_allowed=["email", "instagram", "search"],
        audience=Audience(
            age_min=25, age_max=40, departments=["Dresses"], description="women who care about fit"
        ),
        offer=Offer(discount_percent=15, text="15% off first order"),
        tone="warm and confident",
        kpis=["incremental revenue"],
    )
    fit = Segment(
        id="fit-seekers",
        name="Fit-focused women 25-40",
        definition={"age_min": 25, "age_max": 40, "department": "Dresses"},
        size=SegmentSize(customers=1840, share=0.078),
        profile=SegmentProfile(
            demographics={"median_age": 33},
            needs=["flattering fit"],
            praised_attributes=["flattering cut", "soft fabric"],
            pain_points=["runs small in the bust"],
            average_rating=4.3,
        ),
        evidence=[
            Evidence(
                review_id="1043", quote="This dress is so flattering, the cut is perfect for my curves."
            ),
            Evidence(review_id="666", quote=f"{SCRIPT} Love the {BOLD} colour | [click](javascript:evil)"),
        ],
    )
    value = Segment(
        id="value-hunters",
        name="Value hunters",
        size=SegmentSize(customers=920, share=0.039),
        profile=SegmentProfile(praised_attributes=["price"]),
        evidence=[Evidence(review_id="77", quote="Great price for the quality.")],
    )
    messaging = [
        Messaging(
            segment_id="fit-seekers",
            channel="email",
            language="en",
            variants=[
                CopyVariant(
                    headline="Summer dresses that flatter",
                    body="A cut made for real curves. 15% off your first order.",
                    cta="Shop dresses",
                ),
                CopyVariant(
                    headline="Soft, flattering, yours", body="Reviewers love the fabric.", cta="Shop now"
                ),
            ],
            checks=_checks(),
            inspired_by=["1043", "666"],
        ),
        Messaging(
            segment_id="value-hunters",
            channel="instagram",
            language="en",
            variants=[
                CopyVariant(headline="New in: summer dresses", body="Great quality. #NewIn", cta="Shop now"),
                CopyVariant(headline="Loved for its price", body="15% off. #NewIn", cta="Shop now"),
            ],
            checks=_checks(failing="headline_length"),
            degraded=True,
        ),
    ]
    forecast = [
        ForecastLine(
            segment_id="fit-seekers",
            channel="email",
            metric="incremental_conversions",
            expected=212.0,
            interval_80=(150.0, 270.0),
            interval_95=(118.0, 305.0),
            incremental_revenue=18020.0,
            roi=3.6,
            source="uplift_model",
            backtest_error=0.12,
            spend=5000.0,
        ),
        ForecastLine(
            segment_id="value-hunters",
            channel="instagram",
            metric="incremental_conversions",
            expected=95.0,
            interval_80=(40.0, 150.0),
            interval_95=(-5.0, 190.0),
            incremental_revenue=8075.0,
            roi=0.4,
            source="prior",
            spend=20000.0,
        ),
    ]
    budget = Budget(
        currency="USD",
        total=50000,
        allocations=[
            Allocation(
                channel="email", spend=5000, expected_outcome=18020, marginal_roi=1.9, binding=["max_spend"]
            ),
            Allocation(
                channel="instagram", spend=20000, expected_outcome=21500, marginal_roi=1.05, source="prior"
            ),
            Allocation(channel="search", spend=25000, expected_outcome=30100, marginal_roi=1.05),
        ],
        curves={"instagram": _curve(30000, 12000), "search": _curve(42000, 15000)},
    )
    return CampaignPlan(
        brief=brief,
        segments=[fit, value],
        messaging=messaging,
        forecast=forecast,
        targeting=[
            Targeting(
                treatment="Spring promo",
                channel="email",
                outcome="conversion",
                top_share=share,
                customers=customers,
                predicted_lift=lift,
                observed_lift=lift,
                observed_lift_interval_95=(lift - 0.01, lift + 0.01),
                overall_lift=0.012,
                model="x_learner",
                profile={"age": "mean 31 vs 42 overall", "department": f"Dresses {SCRIPT}"},
                recommendation=advice,
                reason="why",
            )
            for share, customers, lift, advice in ((0.1, 800, 0.041, "target_top"), (0.5, 4000, 0.018, "send_to_all"))
        ],
        budget=budget,
        measurement=Measurement(
            design="Randomised 10% holdout per segment",
            holdout_share=0.1,
            sample_size=3120,
            minimum_detectable_lift=0.02,
            channels=[
                ChannelTest(
                    channel="email",
                    design="customer_holdout",
                    description="randomised customer holdout",
                    audience=12_000,
                    baseline_rate=0.03,
                    expected_lift=0.01,
                    lift_source="forecast",
                    sample_size_per_arm=5298,
                    holdout_share=0.442,
                    minimum_detectable_lift=0.0098,
                    powered=True,
                    variant_test_mde=0.021,
                ),
                ChannelTest(
                    channel="instagram",
                    design="geo_holdout",
                    description="geo holdout: run in matched regions",
                    audience=12_000,
                    baseline_rate=0.02,
                    expected_lift=0.004,
                    lift_source="assumption",
                    sample_size_per_arm=None,
                    holdout_share=0.2,
                    minimum_detectable_lift=None,
                    powered=None,
                ),
            ],
        ),
        risks=["Instagram spend rests on a catalog prior, not shop history."],
        flags=flags or [],
        open_questions=["Does the 15% apply to sale items?"],
        assumptions=[Assumption(text="US customers only", confidence=0.7)],
        rationale=[
            RationaleItem(decision="Target fit-focused women first", evidence_ids=["1043", "666"]),
            RationaleItem(decision="Cap e-mail at $5,000", evidence_ids=["curve:email"]),
        ],
        summary="Launch summer dresses to fit-focused women with warm, confident copy.",
        provenance=Provenance(
            backend="local",
            model="qwen2.5-coder-1.5b-instruct-q4_k_m",
            run_id="run-2024-06-01-abc123",
            seconds=84.2,
            llm_calls=9,
            prompt_tokens=4210,
            completion_tokens=1380,
            llm_seconds=71.5,
            data={"reviews.csv": "9f2c1e0d4b5a69788a1b2c3d4e5f60718293a4b5c6d7e8f9"},
            tool_calls=["profile_lookup", "channel_optimizer", "forecaster", "copywriter"],
        ),
    )


FLAGS = [
    Flag(code=FlagCode.WEAK_EVIDENCE, message="Segment 'Value hunters' rests on 1 review."),
    Flag(code=FlagCode.DEGRADED_OUTPUT, message="Copy for 'Value hunters' on Instagram is a fallback."),
]
MD_SECTIONS = [
    "## Summary",
    "## Brief",
    "## Assumptions and open questions",
    "## Segments",
    "## Messaging",
    "## Forecast",
    "## Whom to target",
    "## Budget",
    "## Measurement",
    "## Risks",
    "## Rationale",
    "## Provenance",
]
HTML_SECTIONS = [
    "flags",
    "summary",
    "brief",
    "assumptions",
    "segments",
    "messaging",
    "forecast",
    "targeting",
    "budget",
    "measurement",
    "risks",
    "rationale",
    "provenance",
]


def test_escape_md_neutralises_markup() -> None:
    assert escape_md(SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape_md(BOLD) == r"\*\*bold\*\*"
    assert escape_md("# Heading\n- item") == r"\# Heading - item"
    assert escape_md("1. first") == r"1\. first"
    assert escape_md("a | b") == r"a \| b"


def test_markdown_has_every_section_in_order_and_escapes_reviews() -> None:
    markdown = render_plan(full_plan(), "md")
    positions = [markdown.index(section) for section in MD_SECTIONS]
    assert positions == sorted(positions)
    assert "No flags raised." in markdown
    assert "<script" not in markdown and "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown
    assert BOLD not in markdown and r"\*\*bold\*\*" in markdown
    assert "[click](javascript" not in markdown
    # Quotes carry their review ids; the forecast table its intervals and sources.
    assert "review `666`" in markdown and "review `1043`" in markdown
    assert "150 – 270" in markdown and "118 – 305" in markdown
    assert "prior (catalog assumption" in markdown and "uplift model" in markdown
    assert "$25,000" in markdown and "50.0%" in markdown and "max\\_spend" in markdown
    assert "✗ **headline_length** (72/60 characters)" in markdown and "✓ offer_consistent" in markdown
    assert "- **Subject line:** Summer dresses that flatter" in markdown
    assert "Fallback — the model's output was unusable" in markdown
    assert "Target fit-focused women first — evidence: `1043`, `666`" in markdown
    assert "9f2c1e0d4b5a" in markdown and "qwen2.5" in markdown
    # The targeting table: lifts in percentage points, the recommendation in words.
    row = "| E-mail | conversion | 10% | 800 | +4.10 pts | +3.10 pts – +5.10 pts | +1.20 pts | Target the top share"
    # Measurement: a test per channel, the assumed lift and an under-powered test called out.
    email = "| E-mail | customer holdout | 12,000 | 3.00% | +1.00 pts | 5,298 | 44.2% | +0.98 pts | yes | +2.10 pts |"
    instagram = "| Instagram | geo holdout | 12,000 | 2.00% | +0.40 pts (assumed) | — | 20.0% | — | n/a (regions) |"
    assert email in markdown and instagram in markdown
    assert row in markdown and "| age: mean 31 vs 42 overall; department: Dresses &lt;script&gt;" in markdown
    assert "| 50% | 4,000 | +1.80 pts |" in markdown and "Send to all" in markdown


def test_markdown_puts_flags_first() -> None:
    markdown = render_plan(full_plan(FLAGS), "md")
    flags_at = markdown.index("Flags (2)")
    assert flags_at < markdown.index("## Summary")
    assert "`weak_evidence`" in markdown and "`degraded_output`" in markdown
    assert "No flags raised." not in markdown


def test_html_is_self_contained_escaped_and_complete() -> None:
    page = render_plan(full_plan(FLAGS), "html")
    assert page.startswith("<!DOCTYPE html>")
    for section in HTML_SECTIONS:
        assert f'id="{section}"' in page, section
    assert "<script" not in page.lower()
    assert "http" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "**bold**" in page and "<strong>bold</strong>" not in page  # literal, not markup
    assert "<link" not in page and "src=" not in page and "@import" not in page and "url(" not in page
    assert page.index('id="flags"') < page.index('id="summary"')
    assert "weak_evidence" in page and "degraded_output" in page
    assert "Fallback — the model&#39;s output was unusable" in page


def test_html_charts_show_allocation_intervals_and_curves() -> None:
    page = render_plan(full_plan(), "html")
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.DOTALL)
    labels = [re.search(r'aria-label="([^"]+)"', svg).group(1) for svg in svgs]  # type: ignore[union-attr]
    assert labels == [
        "Forecast intervals: incremental_conversions",
        "Budget allocation by channel",
        "Response curve: Instagram",
        "Response curve: Paid search",
    ]
    allocation = svgs[1]
    widths = [float(w) for w in re.findall(r'<rect [^>]*width="([\d.]+)"', allocation)]
    assert widths[2] == max(widths) and widths[0] < widths[1] < widths[2]  # 5k < 20k < 25k
    intervals = svgs[0]
    assert intervals.count("<circle") == 2 and intervals.count('fill-opacity="0.55"') == 2
    curve = svgs[3]
    assert "<polyline" in curve and "chosen: $25,000" in curve


def test_a_segment_name_cannot_inject_into_the_svg() -> None:
    plan = full_plan()
    plan.segments[0].name = 'Fit <svg onload="x">'
    page = render_plan(plan, "html")
    assert "<svg onload" not in page and "&lt;svg onload=&#34;x&#34;&gt;" in page


def test_json_is_the_contract_and_unknown_formats_are_refused() -> None:
    plan = full_plan(FLAGS)
    payload = json.loads(render_plan(plan, "json"))
    assert payload["budget"]["allocations"][0]["channel"] == "email"
    assert CampaignPlan.model_validate(payload) == plan
    with pytest.raises(ValueError, match="expected one of json, md, html"):
        render_plan(plan, "pdf")  # type: ignore[arg-type]


def test_minimal_plan_renders_without_optional_sections() -> None:
    plan = CampaignPlan(
        brief=Brief(text="Plan a campaign for our intimates line for Valentine's Day."),
        flags=[Flag(code=FlagCode.MISSING_BUDGET, message="The brief gives no budget.")],
        provenance=Provenance(backend="fake", model="scripted-fake", run_id="r1"),
    )
    markdown = render_plan(plan, "md")
    assert "No budget allocation" in markdown and "missing (see flags)" in markdown
    page = render_plan(plan, "html")
    assert "No budget allocation" in page and "missing_budget" in page and "<svg" not in page
    # Without campaign history there is no targeting table at all (not an empty one).
    assert "Whom to target" not in markdown and 'id="targeting"' not in page


def test_budget_states_units_recommendation_and_frontier() -> None:
    from campaign_planner.domain import FrontierPoint

    plan = full_plan()
    assert plan.budget is not None
    budget = plan.budget.model_copy(update={
        "outcome_unit": plan.budget.currency, "recommended_total": plan.budget.total / 2,
        "unallocated": plan.budget.total / 2, "unallocated_return": 1234.0,
        "recommendation": "Recommended: spend half of the budget",
        "frontier": [FrontierPoint(spend=0.0, outcome=0.0), FrontierPoint(spend=plan.budget.total, outcome=9e4)],
        "allocations": [a.model_copy(update={"outcome_unit": plan.budget.currency}) for a in plan.budget.allocations],
    })
    plan = plan.model_copy(update={"budget": budget})
    markdown = render_plan(plan, "md")
    assert f"Expected outcome ({budget.currency}, incremental over zero spend)" in markdown
    assert "Recommended: spend half of the budget" in markdown and "Held back:" in markdown
    html = render_plan(plan, "html")
    assert "Efficient frontier on the response curves" in html and "recommended:" in html and "budget:" in html


def test_pain_point_quotes_are_shown_apart_from_the_praise_quotes() -> None:
    plan = full_plan()
    fit = plan.segments[0]
    pain = [Evidence(review_id="404", quote=f"Runs small in the bust {SCRIPT}, i returned it.")]
    plan.segments[0] = fit.model_copy(update={"pain_evidence": pain})
    markdown = render_plan(plan, "md")
    praise_at = markdown.index("What these customers wrote:")
    pain_at = markdown.index("What its low-rated reviews say about the pain points:")
    assert praise_at < markdown.index("review `1043`") < pain_at < markdown.index("review `404`")
    assert markdown.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2 and "<script" not in markdown
    page = render_plan(plan, "html")
    assert "What its low-rated reviews say about the pain points" in page and "review 404" in page
    assert "<script" not in page.lower()
    # A complaint segment's evidence is its pain evidence: shown once, not twice.
    same = fit.model_copy(update={"pain_evidence": fit.evidence})
    plan.segments[0] = same
    assert "about the pain points" not in render_plan(plan, "md")
    assert "about the pain points" not in render_plan(plan, "html")

"""The campaign plan and its parts: the product's public contract.

Other systems read plans through the API and ``plan --format json``. The field names below are the
stable JSON contract of DESIGN.md; more fields may be added, none may be renamed. Every number in a
plan comes from a tool (forecaster, channel optimizer, profile lookup); the language model only writes
text. The validation node checks that promise against the tool outputs kept in the graph state.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FlagCode(StrEnum):
    """Situations a plan surfaces instead of guessing silently."""

    MISSING_BUDGET = "missing_budget"
    INVALID_BUDGET = "invalid_budget"
    UNKNOWN_CHANNEL = "unknown_channel"
    WEAK_EVIDENCE = "weak_evidence"
    # The shop's data: a check at import/load found something a plan must not rest on silently (a
    # "randomized" control that differs from its treatment, spend in unknown units, too few weeks...).
    DATA_QUALITY = "data_quality"
    # Uplift figures rest on campaign history that was not randomized: adjusted, not experimental.
    OBSERVATIONAL_HISTORY = "observational_history"
    SATURATION = "saturation"
    INFEASIBLE_CONSTRAINTS = "infeasible_constraints"
    DEGRADED_OUTPUT = "degraded_output"
    INJECTION_SUSPECTED = "injection_suspected"
    NEGATIVE_ROI = "negative_roi"
    CONTRADICTORY_BRIEF = "contradictory_brief"
    VALIDATION_FAILED = "validation_failed"
    AMBIGUOUS_AMOUNT = "ambiguous_amount"
    UNSUPPORTED_AUDIENCE = "unsupported_audience"


class Contract(BaseModel):
    """Base for contract models: unknown keys are refused so typos cannot pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Money(Contract):
    amount: float = Field(description="Amount in the currency's major unit (e.g. dollars).")
    currency: str = Field(description="ISO 4217 code, e.g. USD, EUR, CNY.")


BehaviourKind = Literal[
    "recency_min_months", "recency_max_months", "top_customers", "frequent", "new_customers",
    "existing_customers", "past_department",
]


class BehaviourFilter(Contract):
    """An audience defined by what customers did ("lapsed 9+ months", "top customers", "bought outerwear")."""

    kind: BehaviourKind
    value: float | str | None = Field(
        default=None, description="Months for recency kinds, the share for top_customers, minimum orders for "
        "frequent, the department for past_department; None for new/existing customers.")
    text: str = Field(default="", description="The brief's words for it.")


class Audience(Contract):
    age_min: int | None = None
    age_max: int | None = None
    departments: list[str] = Field(default_factory=list, description="Catalogue departments, e.g. Dresses.")
    description: str = ""
    behaviour: list[BehaviourFilter] = Field(
        default_factory=list, description="Behavioural filters on the shop's campaign-history features.")


class Offer(Contract):
    discount_percent: float | None = Field(default=None, description="The only discount the copy may state.")
    text: str = ""


class ChannelBound(Contract):
    channel: str
    min_spend: float | None = None
    max_spend: float | None = None


QuestionKind = Literal["which_customers", "what_lift", "how_much_channel", "other"]


class BriefQuestion(Contract):
    """A question the brief asks ("Which segments should we prioritise?"), as the rules classify it."""

    text: str = Field(description="The question in the brief's own words.")
    kind: QuestionKind = "other"
    channel: str | None = Field(default=None, description="The channel a how_much_channel question is about.")


class Brief(Contract):
    """The parsed brief: what the marketing team asked for."""

    text: str
    objective: str = "revenue"
    product: str = ""
    budget: Money | None = None
    weeks: int | None = None
    days: float | None = Field(default=None, description="The campaign length in days as the brief states it "
                               "(shown to the user); weeks is the nearest whole week for the tools.")
    weeks_exact: float | None = Field(default=None, description="days / 7: the length in fractional weeks.")
    channels_allowed: list[str] = Field(default_factory=list)
    channels_only: bool = Field(default=False, description="The brief restricts the mix (\"email only\"): "
                                "with channels_allowed empty, no catalog channel is allowed and nothing is spent.")
    channels_excluded: list[str] = Field(default_factory=list)
    channel_bounds: list[ChannelBound] = Field(default_factory=list)
    audience: Audience = Field(default_factory=Audience)
    offer: Offer = Field(default_factory=Offer)
    tone: str = ""
    language: Literal["en", "zh"] = "en"
    script: Literal["simplified", "traditional"] | None = Field(
        default=None, description="The Chinese script the brief is written in; Chinese copy follows it.")
    kpis: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    questions: list[BriefQuestion] = Field(default_factory=list, description="Questions the brief asks.")


class Assumption(Contract):
    text: str
    confidence: float = Field(ge=0.0, le=1.0)
    key: str | None = Field(
        default=None, description="The message catalog key (render/notice_messages.py) the text was worded from; "
        "with ``params`` a plan in another language restates it. None for free text.")
    params: dict[str, str | int | float] = Field(
        default_factory=dict, description="The values the text was worded with: ratios formatted, amounts as "
        "numbers where ``money`` names them (shown in ``money_currency``).")


class SegmentSize(Contract):
    customers: int = Field(ge=0, description="Reviewers in the shop matching the segment.")
    share: float = Field(ge=0.0, le=1.0, description="Share of all the shop's reviewers.")


class Evidence(Contract):
    review_id: str
    quote: str = Field(description="A verbatim substring of the review's text.")


class SegmentProfile(Contract):
    demographics: dict[str, str | float | int | None] = Field(default_factory=dict)
    needs: list[str] = Field(default_factory=list)
    praised_attributes: list[str] = Field(default_factory=list)
    pain_points: list[str] = Field(default_factory=list)
    average_rating: float | None = None


class Segment(Contract):
    id: str
    name: str
    display_name: str | None = Field(
        default=None,
        description="The name as a plan in another language than English shows it (a Chinese plan's segment name "
        "built in Chinese from the same parts); None for English plans. ``name`` stays the tool's English name.",
    )
    definition: dict[str, str | int | float | list[str] | None] = Field(
        default_factory=dict, description="Filters that select the segment (age range, department, rating)."
    )
    size: SegmentSize
    profile: SegmentProfile = Field(default_factory=SegmentProfile)
    display_profile: SegmentProfile | None = Field(
        default=None,
        description="The profile as a plan in another language than English shows it (needs, praised attributes "
        "and pain points worded in Chinese from the same parts); None for English plans. ``profile`` stays the "
        "tool's English wording.",
    )
    evidence: list[Evidence] = Field(
        default_factory=list,
        description="Quotes that support what the segment's name claims: for a segment named for what it "
        "loves, sentences of 4-5-star reviews naming it, without complaint or hesitation.",
    )
    pain_evidence: list[Evidence] = Field(
        default_factory=list,
        description="Quotes of low-rated reviews naming the segment's pain points (profile.pain_points).",
    )


class CopyVariant(Contract):
    headline: str
    body: str
    cta: str
    footer: str = Field(default="", description="The brand's legal footer, verbatim, where the channel needs it.")
    inspired_by: list[str] = Field(
        default_factory=list,
        description="Review ids whose quotes this variant draws on (empty for template copy).",
    )
    angle: str = Field(
        default="",
        description="The hypothesis this A/B variant tests: benefit, social_proof, offer, urgency or novelty.",
    )


class RuleCheck(Contract):
    rule: str
    passed: bool
    detail: str = ""


class Messaging(Contract):
    segment_id: str
    channel: str
    language: Literal["en", "zh"]
    variants: list[CopyVariant]
    checks: list[RuleCheck] = Field(default_factory=list)
    degraded: bool = Field(default=False, description="True when the copy is the deterministic fallback.")
    inspired_by: list[str] = Field(
        default_factory=list, description="Review ids whose quotes inspired it: the union of its variants'."
    )


ForecastSource = Literal["uplift_model", "response_curve", "prior"]
SegmentBasis = Literal["segment_history", "scaled_to_segment", "channel_share"]


class ForecastLine(Contract):
    segment_id: str
    channel: str
    metric: str = Field(description="What `expected` counts, e.g. incremental_conversions.")
    expected: float
    interval_80: tuple[float, float]
    interval_95: tuple[float, float]
    incremental_revenue: float
    roi: float | None
    source: ForecastSource
    assignment: Literal["randomized", "observational"] | None = Field(
        default=None,
        description="How the campaign history behind an uplift_model line was assigned (shop.yaml "
        "campaign_history.assignment; observational figures are propensity-adjusted, not experimental). "
        "None for response_curve and prior lines.",
    )
    backtest_error: float | None = None
    spend: float = 0.0
    baseline_rate: float | None = None
    lift: float | None = None
    model: str = ""
    currency: str = Field(default="", description="Currency of `incremental_revenue` and `spend`.")
    basis: SegmentBasis | None = Field(
        default=None,
        description="How the line is about its segment: segment_history (the segment's own campaign-history "
        "customers, by features or the reviews' customer_id join), scaled_to_segment (the whole history's lift "
        "per customer x the segment's measured size, an assumption), channel_share (the channel's outcome x "
        "the segment's share of the segments' customers).",
    )
    customers: int | None = Field(default=None, description="Customers the line's figures are counted over.")


class Targeting(Contract):
    """Whom to include: the uplift among the top share of customers ranked by predicted uplift, against the
    uplift among everyone, from the shop's campaign history (cross-fitted, so the observed figure is honest).
    """

    treatment: str
    channel: str
    outcome: str
    top_share: float = Field(gt=0.0, le=1.0)
    customers: int = Field(description="History customers this share of the whole history amounts to.")
    predicted_lift: float
    observed_lift: float
    observed_lift_interval_95: tuple[float, float]
    overall_lift: float
    model: str
    profile: dict[str, str] = Field(default_factory=dict, description="How the top group differs, by feature.")
    recommendation: Literal["target_top", "send_to_all"] = "send_to_all"
    reason: str = ""


class OutcomeCrossCheck(Contract):
    """A second model's figure for the same channel, shown beside the figure of record, never instead of it."""

    source: ForecastSource
    expected: float = Field(description="In the allocation's `outcome_unit`.")
    interval_80: tuple[float, float] | None = None
    reason: str = ""


class Allocation(Contract):
    channel: str
    spend: float = Field(ge=0.0)
    expected_outcome: float = Field(
        description="The channel's figure of record: incremental over zero spend, in `outcome_unit`; in a plan "
        "it equals the sum of the channel's forecast lines."
    )
    marginal_roi: float
    binding: list[str] = Field(default_factory=list)
    source: ForecastSource = Field(default="response_curve", description="The curve the spend was optimised on.")
    outcome_unit: str = Field(default="", description="e.g. 'USD' (incremental revenue) or 'conversions'.")
    outcome_source: ForecastSource | None = Field(
        default=None, description="Where `expected_outcome` comes from (the forecast lines' source)."
    )
    cross_check: OutcomeCrossCheck | None = None
    recommended_spend: float | None = Field(
        default=None, description="This channel's share of `Budget.recommended_total` (same currency)."
    )
    spend_at_marginal_roi_1: float | None = Field(
        default=None, description="Spend beyond which one more unit returns less than it costs (None: never)."
    )


class ResponseCurvePoint(Contract):
    spend: float
    outcome: float


class FrontierPoint(Contract):
    """The best outcome any split of ``spend`` can reach (the efficient frontier), with its marginal ROI."""

    spend: float
    outcome: float
    marginal_roi: float | None = None


class Budget(Contract):
    """The split of the budget. ``allocations`` always sum to ``total`` (the contract); the budget is a cap,
    and ``recommended_total`` (<= total) is what the plan advises spending: where the marginal ROI of the
    best split crosses 1, unless the brief asks to spend it all. ``unallocated`` = total - recommended_total.
    """

    currency: str
    total: float
    allocations: list[Allocation] = Field(default_factory=list)
    objective: str = "revenue"
    curves: dict[str, list[ResponseCurvePoint]] = Field(default_factory=dict)
    outcome_unit: str = Field(default="", description="Unit of every allocation's expected outcome.")
    expected_outcome: float | None = Field(default=None, description="Sum of the allocations' expected outcomes.")
    recommended_total: float | None = None
    unallocated: float = Field(default=0.0, description="total - recommended_total: held back, not spent.")
    unallocated_return: float | None = Field(
        default=None, description="What spending the unallocated rest would add (outcome_unit, response curves)."
    )
    recommended_outcome: float | None = Field(
        default=None, description="Outcome of the recommended split on the response curves (outcome_unit)."
    )
    spend_all: bool = Field(default=False, description="The brief asks for the whole budget to be spent.")
    recommendation: str = ""
    frontier: list[FrontierPoint] = Field(default_factory=list)


class ChannelTest(Contract):
    """How one channel's incremental effect is measured: the design, its size and what it can detect."""

    channel: str
    design: Literal["customer_holdout", "geo_holdout"]
    description: str
    audience: int = Field(ge=0, description="Customers (or people reached) the test can randomise.")
    baseline_rate: float
    expected_lift: float = Field(description="Absolute conversion-rate lift the test is sized to detect.")
    lift_source: Literal["forecast", "assumption"]
    sample_size_per_arm: int | None = Field(description="Per arm, for 80% power at 5% two-sided significance.")
    holdout_share: float = Field(ge=0.0, le=1.0)
    minimum_detectable_lift: float | None = Field(description="With this audience and holdout share.")
    powered: bool | None = Field(
        description="The audience is large enough to detect the expected lift (None for a geo holdout, whose "
        "power depends on the number of matched regions, not on customers)."
    )
    variant_test_mde: float | None = Field(
        default=None, description="Smallest difference an even A/B split of the copy variants can detect."
    )


class Measurement(Contract):
    design: str
    holdout_share: float = Field(ge=0.0, le=1.0)
    sample_size: int | None = None
    minimum_detectable_lift: float | None = None
    channels: list[ChannelTest] = Field(default_factory=list)


class Flag(Contract):
    code: FlagCode
    message: str
    key: str | None = Field(
        default=None, description="The message catalog key (render/notice_messages.py) the text was worded from; "
        "with ``params`` a plan in another language restates it. None for free text.")
    params: dict[str, str | int | float] = Field(
        default_factory=dict, description="The values the text was worded with: ratios formatted, amounts as "
        "numbers where ``money`` names them (shown in ``money_currency``).")


class RationaleItem(Contract):
    decision: str
    evidence_ids: list[str] = Field(default_factory=list)


class ModelCallTiming(Contract):
    """One model call of the run: the graph node that made it, what it asked for, its tokens and seconds."""

    node: str = ""
    label: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    failed: bool = False


class Provenance(Contract):
    backend: str
    model: str
    run_id: str
    seconds: float = 0.0
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_seconds: float = 0.0
    data: dict[str, str] = Field(default_factory=dict)
    tool_calls: list[str] = Field(default_factory=list)
    tool_seconds: dict[str, float] = Field(
        default_factory=dict, description="Seconds spent in each tool (summed over its calls)."
    )
    copy_checks: dict[str, int] = Field(
        default_factory=dict,
        description="Copy variants passing every rule at each stage: variants, first_try, after_model_repair, "
        "after_repair (templates not counted), final; and how many needed the deterministic repair "
        "(mechanical) or became template copy (templated).",
    )
    startup_seconds: float | None = Field(
        default=None,
        description="Seconds from the process start to the run's first step (a CLI run: imports, shop, model "
        "server, review store); None where the process was already running (API, chat, a worker).",
    )
    stage_seconds: dict[str, float] = Field(
        default_factory=dict,
        description="Seconds in each graph node this process ran before the plan was assembled (summed over "
        "the node's runs).",
    )
    model_calls: list[ModelCallTiming] = Field(
        default_factory=list, description="Each model call of this process's run, in the order they ended."
    )


class Answer(Contract):
    """An answer to a question of the brief, made only of tool numbers (the targeting table, the forecast
    against not treating, the allocation); ``sources`` name the plan sections they come from."""

    question: str
    kind: QuestionKind
    text: str
    numbers: dict[str, float] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)


class CampaignPlan(Contract):
    """A complete campaign plan. ``model_dump(mode="json")`` is the JSON contract."""

    brief: Brief
    segments: list[Segment] = Field(default_factory=list)
    messaging: list[Messaging] = Field(default_factory=list)
    forecast: list[ForecastLine] = Field(default_factory=list)
    targeting: list[Targeting] = Field(default_factory=list)
    budget: Budget | None = None
    measurement: Measurement | None = None
    risks: list[str] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    open_questions: list[str] = Field(default_factory=list)
    assumptions: list[Assumption] = Field(default_factory=list)
    rationale: list[RationaleItem] = Field(default_factory=list)
    answers: list[Answer] = Field(default_factory=list, description="Answers to the brief's questions.")
    summary: str = ""
    status: Literal["draft", "approved", "rejected"] = "draft"
    provenance: Provenance

    def flag_codes(self) -> set[str]:
        """Return the set of flag codes raised on this plan."""
        return {flag.code.value for flag in self.flags}

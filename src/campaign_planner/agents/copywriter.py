"""The copywriter: copy variants per segment × channel, checked against the channel's rules.

One small structured call per cell (a short stable system prompt first, the segment and channel last, so
llama.cpp reuses the prefix; see :mod:`campaign_planner.agents.copy_prompts`), then the deterministic rule
checks. A missing CTA or hashtag is filled in without a model call, and the check says so. A cell that
still fails gets one model repair call that says how to fix each failed check (naming the phrases to
leave out and the only offer allowed; a content failure is written anew without the old draft); what
still fails is repaired mechanically and, where even that cannot pass, replaced by template copy. Every
non-model path is labelled ``degraded`` and flagged, counted (``VariantCounts.mechanical``,
``templated``) and noted in the variant's own checks ("repaired mechanically", "template copy").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, partial
from types import SimpleNamespace
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables.config import ContextThreadPoolExecutor
from pydantic import BaseModel, Field, create_model

from campaign_planner.agents.copy_prompts import (
    HASHTAG_ROOM,
    CopyBriefing,
    cell_prompt,
    prompt_quotes,
    repair_prompt,
    system_prompt,
)
from campaign_planner.agents.copy_slots import (
    EXTRA_CANDIDATES,
    compose,
    max_tokens_for_slots,
    offer_line,
    rewrite_prompt,
    segment_departments,
    slot_cell_prompt,
    slot_schema,
    slot_system_prompt,
)
from campaign_planner.agents.copy_slots import prompt_quotes as slot_quotes
from campaign_planner.agents.copy_templates import TEMPLATE_ANGLES, template_variant
from campaign_planner.data.catalog import ChannelCatalog, ChannelSpec
from campaign_planner.domain import Brief, CopyVariant, Flag, FlagCode, Messaging, RuleCheck, Segment
from campaign_planner.render.messages import keyed_flag
from campaign_planner.structured import StructuredOutputError, invoke_structured
from campaign_planner.tools.copy_craft import (
    DISTINCT_RULE,
    CraftContext,
    check_craft,
    check_distinct,
    distinct_problem,
    infer_angle,
    repair_craft,
)
from campaign_planner.tools.copy_rules import (
    BrandVoice,
    Language,
    check_variant,
    end_cut_text,
    failed,
    finish_variant,
    repair_variant_deterministically,
)

# Every call is capped, so a model stuck in a loop stops; the cap must still fit the longest answer the
# schema allows, or a draft is cut mid-JSON and the cell becomes template copy (an Instagram and an e-mail
# draft were, at 160 tokens). The cap is computed from the schema's character limits: at most this many
# characters per token (English prose runs ≈ 4, Chinese ≈ 1.4 with the Qwen tokenizer) ...
CHARS_PER_TOKEN: dict[Language, float] = {"en": 3.0, "zh": 1.0}
# ... plus the JSON around each variant: keys, quotes, and the newlines and indentation that llama.cpp's
# grammar lets the model add (it pretty-prints despite being asked for one line) ...
JSON_TOKENS_PER_VARIANT = 30
# ... plus the object around the list. A cap costs nothing where the model stops early.
TOKENS_OVERHEAD = 10
# The body the schema lets the model write on long-body channels (Instagram allows 2,200 characters,
# e-mail 600, Xiaohongshu 1,000): about twice what the prompt asks for (``BODY_TARGET_CHARS``), so the
# grammar closes the string and the answer stays within its token cap. Stricter than the channel's rule.
BODY_SCHEMA_MAX: dict[Language, int] = {"en": 240, "zh": 100}
CTA_SCHEMA_MAX = 24
# "slots" (the default): the model fills short slots that the copywriter composes (agents/copy_slots.py).
# "draft": the model writes whole variants (the method before issue 13), kept to measure against.
CopyMethod = Literal["slots", "draft"]


class CopyResult(BaseModel):
    """The copywriter's output: messaging per segment × channel, flags, and how often the model passed.

    ``first_try_pass`` counts cells whose first draft passed every rule; ``after_repair_pass`` counts
    cells passing without the deterministic path (first try or after the one model repair), so it is
    at least ``first_try_pass``; ``cells`` is the number of segment × channel cells written.
    ``variant_checks`` counts variants the same way (see :class:`VariantCounts`).
    """

    messaging: list[Messaging] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    first_try_pass: int = 0
    after_repair_pass: int = 0
    cells: int = 0
    variant_checks: VariantCounts = Field(default_factory=lambda: VariantCounts())


class VariantCounts(BaseModel):
    """How many copy variants passed every rule at each stage of the copywriter.

    ``first_try``: the model's first draft (with a missing CTA or hashtag filled in, which its check
    notes); ``after_model_repair``: after the one model repair; ``after_repair``: after the deterministic
    repair too, template replacements not counted; ``final``: in the plan, templates included.
    ``mechanical``: variants that pass only thanks to the deterministic repair (their repaired checks say
    "repaired mechanically"); ``templated``: variants replaced by template copy.
    """

    variants: int = 0
    first_try: int = 0
    after_model_repair: int = 0
    after_repair: int = 0
    final: int = 0
    mechanical: int = 0
    templated: int = 0

    def __add__(self, other: VariantCounts) -> VariantCounts:
        return VariantCounts(**{name: getattr(self, name) + getattr(other, name) for name in type(self).model_fields})


# One variant as the model writes it. No docstring on purpose: pydantic would put it in the JSON schema
# that constrains decoding, and the schema is kept as small as it can be.
class DraftVariant(BaseModel):
    headline: str
    body: str
    cta: str


@cache
def draft_schema(count: int, headline_max: int | None = None, body_max: int | None = None) -> type[BaseModel]:
    """Return the schema ``{"variants": [DraftVariant × count]}`` with exactly ``count`` items.

    With limits, ``maxLength`` goes into the JSON schema only: a grammar-constrained backend (llama.cpp)
    then cannot overrun the channel's limits, which saves the repair call small models otherwise need;
    validation does not enforce it, so a backend without a grammar still gets its answer rule-checked.
    """
    if headline_max is None and body_max is None:
        variant: type[BaseModel] = DraftVariant
    else:
        variant = create_model(
            f"DraftVariant{headline_max}x{body_max}",
            headline=(str, Field(json_schema_extra={"maxLength": headline_max} if headline_max else None)),
            body=(str, Field(json_schema_extra={"maxLength": body_max} if body_max else None)),
            cta=(str, Field(json_schema_extra={"maxLength": CTA_SCHEMA_MAX})),
        )
    return create_model(
        f"CopyDraft{count}",
        variants=(list[variant], Field(min_length=count, max_length=count)),  # type: ignore[valid-type]
    )


def _schema_limits(channel: ChannelSpec, language: Language = "en") -> tuple[int, int]:
    rules = channel.copy_rules
    headline_max, body_max = rules.characters("headline", language), rules.characters("body", language)
    room = HASHTAG_ROOM if rules.hashtags and body_max > 2 * HASHTAG_ROOM else 0
    return headline_max, min(body_max - room, BODY_SCHEMA_MAX[language])


def channel_draft_schema(count: int, channel: ChannelSpec, language: Language = "en") -> type[BaseModel]:
    """Return the draft schema with ``channel``'s copy limits (body room kept for hashtags, and long bodies
    capped at :data:`BODY_SCHEMA_MAX` characters so the answer fits its token cap)."""
    return draft_schema(count, *_schema_limits(channel, language))


def max_tokens_for(channel: ChannelSpec, language: Language, count: int) -> int:
    """Return the token cap for ``count`` variants on ``channel``: room for the longest answer the schema
    allows, so a draft is never cut mid-JSON by the cap (only by a model that runs past its grammar)."""
    headline_max, body_max = _schema_limits(channel, language)
    text_tokens = math.ceil((headline_max + body_max + CTA_SCHEMA_MAX) / CHARS_PER_TOKEN[language])
    return (text_tokens + JSON_TOKENS_PER_VARIANT) * count + TOKENS_OVERHEAD


@dataclass(frozen=True)
class _CopyJob:
    """Everything that is the same for every cell of one ``write_copy`` call."""

    model: BaseChatModel
    briefing: CopyBriefing
    system_prompt: str
    craft: CraftContext
    method: CopyMethod = "slots"

    @property
    def count(self) -> int:
        return self.briefing.count

    @property
    def language(self) -> Language:
        return self.briefing.language

    def check(self, variant: CopyVariant, channel: ChannelSpec) -> list[RuleCheck]:
        """Return the channel's rule checks, then the craft checks (:mod:`campaign_planner.tools.copy_craft`)."""
        b = self.briefing
        checks = check_variant(
            variant,
            channel=channel,
            language=b.language,
            offer_percent=b.offer_percent,
            no_discount=b.no_discount,
            brand=b.brand,
            offer_text=b.brief.offer.text,
        ) + check_craft(variant, self.craft)
        return checks

    def finish_and_check(
        self, variant: CopyVariant, channel: ChannelSpec
    ) -> tuple[CopyVariant, list[RuleCheck]]:
        """Fill in a missing CTA or hashtag (``finish_variant``), then check; checks note what was added."""
        finished, added = finish_variant(
            variant,
            channel,
            language=self.language,
            hashtag_words=self.briefing.hashtag_words,
            brand=self.briefing.brand,
        )
        checks = [
            check.model_copy(update={"detail": f"{check.detail} (added by the copywriter)"})
            if check.rule in added and check.passed
            else check
            for check in self.check(finished, channel)
        ]
        return finished, checks

    def repair(self, variant: CopyVariant, channel: ChannelSpec) -> CopyVariant:
        """Return ``variant`` repaired by rule: craft problems first (deletions), then the channel's limits,
        then the endings once more, since trimming to a limit can leave a joiner at the end."""
        b = self.briefing
        crafted = repair_craft(variant, self.craft)
        fitted = repair_variant_deterministically(
            crafted,
            channel,
            language=b.language,
            offer_percent=b.offer_percent,
            offer_text=b.brief.offer.text,
            no_discount=b.no_discount,
            brand=b.brand,
            hashtag_words=b.hashtag_words,
        )
        return repair_craft(fitted, self.craft).model_copy(update={"angle": variant.angle})

    def template(self, index: int, segment: Segment, channel: ChannelSpec) -> CopyVariant:
        b = self.briefing
        return template_variant(
            index,
            segment=segment,
            brief=b.brief,
            channel=channel,
            language=b.language,
            offer_percent=b.offer_percent,
            brand=b.brand,
            hashtag_words=b.hashtag_words,
        )


@dataclass
class _CellOutcome:
    messaging: Messaging
    flags: list[Flag] = field(default_factory=list)
    first_try_pass: bool = False
    after_repair_pass: bool = False
    counts: VariantCounts = field(default_factory=VariantCounts)


def _passing(checks: list[list[RuleCheck]], skip: frozenset[int] = frozenset()) -> int:
    return sum(1 for index, c in enumerate(checks) if index not in skip and not failed(c))


def write_copy(
    model: BaseChatModel,
    *,
    brief: Brief,
    segments: list[Segment],
    channels: list[str],
    catalog: ChannelCatalog,
    language: Language,
    brand: BrandVoice | None = None,
    variants_per_cell: int = 2,
    max_workers: int = 1,
    method: CopyMethod = "slots",
) -> CopyResult:
    """Return copy variants for every segment × channel, each with its final rule checks.

    Every variant is checked against the channel's rules and the craft rules, and each cell's variants
    against each other (``distinct_angle``); ``method`` picks how the model writes (see :data:`CopyMethod`).

    ``channels`` may hold catalog ids or aliases; names the catalog does not know are skipped with an
    ``unknown_channel`` flag. Cells that needed the deterministic repair or template are ``degraded``
    and get a ``degraded_output`` flag naming the cell. ``max_workers > 1`` writes cells concurrently
    (callbacks such as usage tracking follow into the threads). Refuses (ValueError)
    ``variants_per_cell`` or ``max_workers`` below 1. Errors from the model backend itself propagate.
    """
    if variants_per_cell < 1:
        raise ValueError(f"variants_per_cell must be at least 1, got {variants_per_cell}")
    if max_workers < 1:
        raise ValueError(f"max_workers must be at least 1, got {max_workers}")
    if method not in ("slots", "draft"):
        raise ValueError(f"method must be 'slots' or 'draft', got {method!r}")
    specs, flags = _resolve_channels(channels, catalog)
    job = _make_job(model, brief, language, brand, variants_per_cell, method=method, catalog=catalog,
                    segment_labels=[segment.name for segment in segments],
                    quotes=[evidence.quote for segment in segments for evidence in segment.evidence],
                    segment_departments=[d for segment in segments for d in segment_departments(segment)])
    cells = [(segment, spec) for segment in segments for spec in specs]
    write_cell = partial(_write_cell, job)
    if max_workers == 1 or len(cells) <= 1:
        outcomes = [write_cell(segment, spec) for segment, spec in cells]
    else:
        with ContextThreadPoolExecutor(max_workers=min(max_workers, len(cells))) as pool:
            outcomes = list(pool.map(write_cell, [s for s, _ in cells], [c for _, c in cells]))
    for outcome in outcomes:
        flags.extend(outcome.flags)
    return CopyResult(
        messaging=[outcome.messaging for outcome in outcomes],
        flags=flags,
        first_try_pass=sum(outcome.first_try_pass for outcome in outcomes),
        after_repair_pass=sum(outcome.after_repair_pass for outcome in outcomes),
        cells=len(outcomes),
        variant_checks=sum((outcome.counts for outcome in outcomes), VariantCounts()),
    )


def _resolve_channels(
    channels: Sequence[str], catalog: ChannelCatalog
) -> tuple[list[ChannelSpec], list[Flag]]:
    specs: list[ChannelSpec] = []
    flags: list[Flag] = []
    for name in channels:
        channel_id = name if name in catalog else catalog.resolve(name)
        if channel_id is None:
            message = f"No copy written for channel {name!r}: the channel catalog does not know it."
            flags.append(Flag(code=FlagCode.UNKNOWN_CHANNEL, message=message))
        elif all(spec.id != channel_id for spec in specs):
            specs.append(catalog[channel_id])
    return specs, flags


def _make_job(
    model: BaseChatModel,
    brief: Brief,
    language: Language,
    brand: BrandVoice | None,
    count: int,
    *,
    method: CopyMethod = "slots",
    catalog: ChannelCatalog | None = None,
    segment_labels: Sequence[str] = (),
    quotes: Sequence[str] = (),
    segment_departments: Sequence[str] = (),
) -> _CopyJob:
    briefing = CopyBriefing.from_brief(brief, language, brand, count)
    prompt = slot_system_prompt(briefing) if method == "slots" else system_prompt(briefing)
    craft = CraftContext.build(brief, language, catalog, segment_labels, brand, quotes,
                               segment_departments=segment_departments)
    return _CopyJob(model=model, briefing=briefing, system_prompt=prompt, craft=craft, method=method)


def _as_variant(draft: Any, channel: ChannelSpec | None = None, language: Language = "en") -> CopyVariant:
    headline, body = draft.headline.strip(), draft.body.strip()
    if channel is not None:
        # Text of exactly the schema's maxLength was cut there by the grammar, usually mid-word: end it at
        # a word boundary. Longer text came from a backend without a grammar; the rule checks judge it.
        schema_headline, schema_body = _schema_limits(channel, language)
        if len(draft.headline) == schema_headline:
            headline = end_cut_text(draft.headline, language) or headline
        if len(draft.body) == schema_body:
            body = end_cut_text(draft.body, language) or body
    variant = CopyVariant(headline=headline, body=body, cta=draft.cta.strip())
    return variant.model_copy(update={"angle": infer_angle(variant)})


def _write_cell(job: _CopyJob, segment: Segment, channel: ChannelSpec) -> _CellOutcome:
    if job.method == "slots":
        return _write_cell_slots(job, segment, channel)
    return _write_cell_draft(job, segment, channel)


def _write_cell_draft(job: _CopyJob, segment: Segment, channel: ChannelSpec) -> _CellOutcome:
    quotes = prompt_quotes(segment)
    messages: list[BaseMessage] = [
        SystemMessage(content=job.system_prompt),
        HumanMessage(content=cell_prompt(job.briefing, segment, channel, quotes)),
    ]
    cell = f"segment '{segment.name}' on {channel.name}"
    try:
        draft = invoke_structured(
            job.model,
            messages,
            channel_draft_schema(job.count, channel, job.language),
            max_tokens=max_tokens_for(channel, job.language, job.count),
            label=f"copy for {cell}",
        )
    except StructuredOutputError as exc:
        return _template_cell(job, segment, channel, reason=exc.error)

    finished = [job.finish_and_check(_as_variant(v, channel, job.language), channel) for v in draft.value.variants]  # type: ignore[attr-defined]
    variants = [variant for variant, _ in finished]
    checks = with_distinct(variants, [variant_checks for _, variant_checks in finished], job.language)
    first_try = not any(failed(c) for c in checks)
    passed_first = _passing(checks)
    if not first_try:
        _model_repair(job, messages, channel, variants, checks)
        checks[:] = with_distinct(variants, checks, job.language)
    return _finish_cell(job, segment, channel, variants, checks, passed_first=passed_first,
                        first_try=first_try, sources=[variant_sources(v, quotes, job.language) for v in variants],
                        quotes=quotes)


def with_distinct(
    variants: Sequence[CopyVariant], checks: Sequence[list[RuleCheck]], language: Language
) -> list[list[RuleCheck]]:
    """Return ``checks`` with each variant's ``distinct_angle`` check (against the cell's earlier variants)
    in place of any earlier one."""
    distinct = check_distinct(variants, language)
    return [[c for c in variant_checks if c.rule != DISTINCT_RULE] + [d]
            for variant_checks, d in zip(checks, distinct, strict=True)]


def _finish_cell(
    job: _CopyJob,
    segment: Segment,
    channel: ChannelSpec,
    variants: list[CopyVariant],
    checks: list[list[RuleCheck]],
    *,
    passed_first: int,
    first_try: bool,
    sources: list[list[str]],
    quotes: list[tuple[str, str]],
) -> _CellOutcome:
    """Repair what still fails by rule, make the variants differ, count every stage, flag the fallbacks."""
    after_repair = not any(failed(c) for c in checks)
    passed_model_repair = _passing(checks)
    mechanical, repaired, templated = _repair_mechanically(job, segment, channel, variants, checks)
    checks[:] = with_distinct(variants, checks, job.language)
    distinct_templated = _make_distinct(job, segment, channel, variants, checks, skip=templated)
    if distinct_templated:
        mechanical.extend(f"v{index + 1}:{DISTINCT_RULE}" for index in distinct_templated)
        templated = sorted({*templated, *distinct_templated})
    counts = VariantCounts(
        variants=len(variants),
        first_try=passed_first,
        after_model_repair=passed_model_repair,
        after_repair=_passing(checks, skip=frozenset(templated)),
        final=_passing(checks),
        mechanical=sum(1 for index in repaired if index not in templated and not failed(checks[index])),
        templated=len(templated),
    )
    flags: list[Flag] = []
    if mechanical:
        templated_values = ({"templated_key": "copy_templated_count", "templated_zh_key": "copy_templated_count",
                             "count": len(templated)} if templated else {"templated": "", "templated_zh": ""})
        flags.append(keyed_flag(FlagCode.DEGRADED_OUTPUT, "flag_copy_repaired", segment=segment.name,
                                channel=channel.id, channel_name=channel.name, rules=", ".join(mechanical),
                                **templated_values, **_still_failing(checks)))
    return _CellOutcome(
        messaging=_messaging(
            job,
            segment,
            channel,
            variants,
            checks,
            degraded=bool(mechanical),
            inspired_by=[[] if index in templated else sources[index] for index in range(len(variants))],
        ),
        flags=flags,
        first_try_pass=first_try,
        after_repair_pass=after_repair,
        counts=counts,
    )


def _make_distinct(
    job: _CopyJob,
    segment: Segment,
    channel: ChannelSpec,
    variants: list[CopyVariant],
    checks: list[list[RuleCheck]],
    *,
    skip: Sequence[int] = (),
) -> list[int]:
    """Replace each variant that tests nothing new next to the earlier ones by template copy of an angle
    the cell lacks; returns the indices replaced. Updates ``variants`` and ``checks`` in place."""
    replaced: list[int] = []
    for index in range(1, len(variants)):
        if distinct_problem(variants[index], variants[:index], job.language) is None:
            continue
        for pattern in range(len(TEMPLATE_ANGLES)):
            candidate = job.template(pattern, segment, channel)
            if distinct_problem(candidate, variants[:index], job.language) is None:
                variants[index] = candidate
                checks[index] = [_noted(c, TEMPLATE_NOTE) for c in job.check(candidate, channel)]
                replaced.append(index)
                break
    if replaced or skip:
        checks[:] = with_distinct(variants, checks, job.language)
    return [index for index in replaced if index not in skip]


def _write_cell_slots(job: _CopyJob, segment: Segment, channel: ChannelSpec) -> _CellOutcome:
    """Write one cell by the slot method: ``count + EXTRA_CANDIDATES`` candidates in one call, composed and
    checked; the best distinct ones kept; one rewrite call where too few pass; then the rule repairs."""
    quotes = slot_quotes(segment)
    language = job.language
    wanted = job.count + EXTRA_CANDIDATES
    schema = slot_schema(wanted, channel.copy_rules.characters("headline", language), language)
    messages: list[BaseMessage] = [
        SystemMessage(content=job.system_prompt),
        HumanMessage(content=slot_cell_prompt(job.briefing, segment, channel, quotes, wanted)),
    ]
    cell = f"segment '{segment.name}' on {channel.name}"
    try:
        answer = invoke_structured(job.model, messages, schema,
                                   max_tokens=max_tokens_for_slots(channel, language, wanted),
                                   label=f"copy slots for {cell}")
    except StructuredOutputError as exc:
        return _template_cell(job, segment, channel, reason=exc.error)
    praised = [*segment.profile.praised_attributes, *segment.profile.needs]
    candidates = list(answer.value.candidates)  # type: ignore[attr-defined]
    pool = [_composed(job, channel, quotes, candidates, index, praised) for index in range(len(candidates))]
    variants, checks = _select(pool, job.count, language)
    checks = with_distinct(variants, checks, language)
    passed_first = _passing(checks)
    first_try = passed_first == len(variants)
    if not first_try:
        kept = [variant for variant, variant_checks in zip(variants, checks, strict=True) if not failed(variant_checks)]
        pool += _recombined(job, channel, quotes, candidates, praised, kept)
        variants, checks = _select(pool, job.count, language)
        checks = with_distinct(variants, checks, language)
    if _passing(checks) < len(variants):
        problems = list(dict.fromkeys(
            f"{c.rule}: {c.detail}" for variant_checks in checks for c in failed(variant_checks)))
        # Only as many new candidates as variants still failing: each costs generated tokens, the slowest
        # part of a call on the local model. They must take angles the passing variants leave free.
        missing = len(variants) - passed_first
        taken = [v.angle for v, c in zip(variants, checks, strict=True) if not failed(c)]
        if taken:
            problems.append(f"angles already used: {', '.join(taken)}")
        cell_request = slot_cell_prompt(job.briefing, segment, channel, quotes, missing)
        retry = [messages[0], HumanMessage(content=f"{cell_request}\n\n"
                                           f"{rewrite_prompt(job.briefing, problems[:6], missing)}")]
        try:
            headline_chars = channel.copy_rules.characters("headline", language)
            more = invoke_structured(job.model, retry, slot_schema(missing, headline_chars, language),
                                     max_tokens=max_tokens_for_slots(channel, language, missing),
                                     label=f"copy slots rewrite for {cell}")
            fresh = list(more.value.candidates)  # type: ignore[attr-defined]
            pool += [_composed(job, channel, quotes, fresh, index, praised, quote_index=wanted + index)
                     for index in range(len(fresh))]
            variants, checks = _select(pool, job.count, language)
            checks = with_distinct(variants, checks, language)
        except StructuredOutputError:
            pass
    return _finish_cell(job, segment, channel, variants, checks, passed_first=passed_first, first_try=first_try,
                        sources=[_slot_sources(v, quotes, language) for v in variants], quotes=quotes)


def _composed(
    job: _CopyJob, channel: ChannelSpec, quotes: list[tuple[str, str]], candidates: Sequence[Any], index: int,
    segment_words: Sequence[str] = (), *, quote_index: int | None = None,
) -> tuple[CopyVariant, list[RuleCheck]]:
    """Return candidate ``index`` composed and checked: as written, else with the headline another
    candidate of the call wrote, else without its benefit sentence (the proof and the offer carry it) —
    the first composition that passes every check, or the one failing fewest. Every choice is whole
    phrases the model wrote or customers' words, so a bad headline or a benefit that strays from the
    product costs the candidate that phrase, not the whole variant."""
    rules = channel.copy_rules
    tag_room = HASHTAG_ROOM if rules.hashtags else 0
    # Limits count in the platform's unit (SMS segments, display width): compose in characters that surely fit.
    room = min(rules.characters("body", job.language) - tag_room, COMPOSED_BODY_MAX[job.language])
    written = _slot_values(candidates[index])
    headlines = [_slot_values(c)["headline"] for i, c in enumerate(candidates) if i != index]
    # Without its benefit sentence a candidate tests what is left of it: the customers' words, else the offer.
    bare = {**written, "benefit": "",
            "angle": written["angle"] if written["angle"] in ("social_proof", "offer") else "social_proof"}
    options = [written, *({**written, "headline": h} for h in headlines), bare,
               *({**bare, "headline": h} for h in headlines)]
    best: tuple[CopyVariant, list[RuleCheck]] | None = None
    for option in options:
        variant = compose(SimpleNamespace(**option), briefing=job.briefing, channel=channel, quotes=quotes,
                          index=index if quote_index is None else quote_index, body_room=room,
                          segment_words=segment_words)
        variant, checks = job.finish_and_check(variant, channel)
        if not failed(checks):
            return variant, checks
        if best is None or len(failed(checks)) < len(failed(best[1])):
            best = (variant, checks)
    assert best is not None
    return best


# Compositions tried per free angle when a cell is short of distinct passing variants.
RECOMBINATION_TRIES = 12


def _recombined(
    job: _CopyJob, channel: ChannelSpec, quotes: list[tuple[str, str]], candidates: Sequence[Any],
    segment_words: Sequence[str], kept: Sequence[CopyVariant],
) -> list[tuple[CopyVariant, list[RuleCheck]]]:
    """Return passing variants composed from the call's own phrases in the angles the passing candidates
    leave free: another customer's words leading (social proof), the brief's offer leading, or a benefit
    with another review as proof. The model's phrases recombined with other customers' words test a
    second hypothesis, so a cell short of passing variants needs neither a second call nor template copy.
    Each is checked like any candidate and must differ from the variants ``kept`` so far."""
    language = job.language
    passing = list(kept)
    angles = [a for a in ("social_proof", "offer", "benefit") if a not in {v.angle for v in passing}]
    if not offer_line(job.briefing):
        angles = [a for a in angles if a != "offer"]
    written = [_slot_values(c) for c in candidates]
    benefits = list(dict.fromkeys(w["benefit"] for w in written))
    # An empty proof slot lets the composer take the quote the index points to (English); Chinese copy
    # cannot quote English reviews, so its proofs are the candidates' own wordings, checked against them.
    proofs = [""] if language == "en" else list(dict.fromkeys(w["proof"] for w in written))
    found: list[tuple[CopyVariant, list[RuleCheck]]] = []
    for angle in angles:
        leads = ["", *benefits] if angle in ("social_proof", "offer") else benefits
        options = [SimpleNamespace(**{**w, "angle": angle, "benefit": benefit, "proof": proof})
                   for w in written for benefit in leads for proof in proofs]
        tries = [(index, offset) for index in range(len(options)) for offset in range(1, len(quotes) + 1)]
        # Each try composes and checks up to a few versions (≈ 3 ms each): bounded, so a cell whose phrases
        # all fail costs well under a second before its rewrite call.
        for index, offset in tries[:RECOMBINATION_TRIES]:
            variant, checks = _composed(job, channel, quotes, options, index, segment_words,
                                        quote_index=index + offset)
            if (variant.angle == angle and not failed(checks)
                    and distinct_problem(variant, passing, language) is None):
                found.append((variant, checks))
                passing.append(variant)
                break
    return found


def _slot_values(slots: Any) -> dict[str, str]:
    return {key: str(getattr(slots, key, "")) for key in ("angle", "headline", "benefit", "proof", "cta")}


# The longest body the slot method composes: a benefit, a customer's words and the offer line.
COMPOSED_BODY_MAX: dict[Language, int] = {"en": 220, "zh": 90}


def _select(
    pool: list[tuple[CopyVariant, list[RuleCheck]]], count: int, language: Language
) -> tuple[list[CopyVariant], list[list[RuleCheck]]]:
    """Return ``count`` candidates: fewest failed checks first, each differing from those already chosen;
    where too few differ, the best of the rest (the distinct check then says so)."""
    ranked = sorted(range(len(pool)), key=lambda i: (len(failed(pool[i][1])), i))
    chosen: list[int] = []
    for index in ranked:
        if len(chosen) == count:
            break
        if distinct_problem(pool[index][0], [pool[c][0] for c in chosen], language) is None:
            chosen.append(index)
    for index in ranked:
        if len(chosen) == count:
            break
        if index not in chosen:
            chosen.append(index)
    return [pool[i][0] for i in chosen], [list(pool[i][1]) for i in chosen]


def _slot_sources(variant: CopyVariant, quotes: list[tuple[str, str]], language: Language) -> list[str]:
    """The proof's review first (its words are in the copy), then any other quote the copy shares words with."""
    others = variant_sources(variant, quotes, language)
    return list(dict.fromkeys([*variant.inspired_by, *others]))


def _repair_mechanically(
    job: _CopyJob,
    segment: Segment,
    channel: ChannelSpec,
    variants: list[CopyVariant],
    checks: list[list[RuleCheck]],
) -> tuple[list[str], list[int], list[int]]:
    """Repair each still-failing variant deterministically, or replace it by a template where that fails.

    Updates ``variants`` and ``checks`` in place; returns the rules that needed it ("v1:hashtags", ...),
    the indices of the variants the deterministic path touched, and those that became template copy. The
    checks say so: a rule that passes only after the mechanical repair notes "repaired mechanically", and
    every check of a template variant notes "template copy".
    """
    mechanical: list[str] = []
    touched: list[int] = []
    templated: list[int] = []
    for index, variant_checks in enumerate(checks):
        broken = failed(variant_checks)
        if not broken:
            continue
        touched.append(index)
        mechanical.extend(f"v{index + 1}:{check.rule}" for check in broken)
        repaired = job.repair(variants[index], channel)
        repaired_checks = job.check(repaired, channel)
        fixed = {check.rule for check in broken}
        if {check.rule for check in failed(repaired_checks)} == {"headline_length"}:
            # Scrubbing emptied the headline (it was only "Save 30%!"): keep the model's body and CTA under
            # the template's headline, rather than replacing the whole variant.
            template_headline = job.template(index, segment, channel).headline
            repaired = repaired.model_copy(update={"headline": template_headline})
            repaired_checks = job.check(repaired, channel)
            fixed.add("headline_length")
        if failed(repaired_checks):
            repaired = job.template(index, segment, channel)
            repaired_checks = [_noted(check, TEMPLATE_NOTE) for check in job.check(repaired, channel)]
            templated.append(index)
        else:
            repaired_checks = [
                _noted(check, MECHANICAL_NOTE) if check.rule in fixed else check for check in repaired_checks
            ]
        variants[index], checks[index] = repaired, repaired_checks
    return mechanical, touched, templated


# Rules broken by what the copy says, not by its form: repaired by writing anew (see ``_model_repair``).
CONTENT_RULES = frozenset(
    {"offer_consistent", "banned_claims", "no_links_or_placeholders", "no_prompt_echo", "language",
     "no_brief_internals", "offer_terms_given", "no_repetition", "chinese_only", DISTINCT_RULE}
)
MECHANICAL_NOTE = "repaired mechanically by the copywriter, not by the model"
TEMPLATE_NOTE = "template copy, not the model's"


def _noted(check: RuleCheck, note: str) -> RuleCheck:
    return check.model_copy(update={"detail": f"{check.detail} ({note})" if check.detail else f"({note})"})


def _model_repair(
    job: _CopyJob,
    messages: list[BaseMessage],
    channel: ChannelSpec,
    variants: list[CopyVariant],
    checks: list[list[RuleCheck]],
) -> None:
    """Ask the model once to rewrite the failing variants; keep a rewrite that fails no more rules.

    A variant that broke a rule by what it says (:data:`CONTENT_RULES`) is written anew from the cell
    prompt plus the problems to avoid, without its old draft; one that broke only a form rule (length,
    CTA, hashtag, footer) is repaired in the conversation that shows its draft.

    Updates ``variants`` and ``checks`` in place. A rewrite whose JSON is unusable changes nothing: the
    deterministic path takes over.
    """
    broken = [index for index, c in enumerate(checks) if failed(c)]
    if any(check.rule in CONTENT_RULES for index in broken for check in failed(checks[index])):
        # Shown its draft, the 1.5B model returns it unchanged ("Save up to 30%" and all): ask for new
        # variants from the cell prompt, with the problems to avoid, instead.
        *prefix, cell = messages
        request = repair_prompt(job.briefing, channel, checks, variants, fresh=True)
        conversation = [*prefix, HumanMessage(content=f"{cell.content}\n\n{request}")]
    else:
        previous = json.dumps(
            {"variants": [v.model_dump() for v in variants]}, ensure_ascii=False, separators=(",", ":")
        )
        conversation = [
            *messages,
            AIMessage(content=previous),
            HumanMessage(content=repair_prompt(job.briefing, channel, checks, variants)),
        ]
    try:
        rewrite = invoke_structured(
            job.model,
            conversation,
            channel_draft_schema(len(broken), channel, job.language),
            max_tokens=max_tokens_for(channel, job.language, len(broken)),
            label=f"copy repair for {channel.id}",
        )
    except StructuredOutputError:
        return
    for index, draft in zip(broken, rewrite.value.variants, strict=True):  # type: ignore[attr-defined]
        candidate, candidate_checks = job.finish_and_check(_as_variant(draft, channel, job.language), channel)
        if len(failed(candidate_checks)) <= len(failed(checks[index])):
            variants[index], checks[index] = candidate, candidate_checks


def _template_cell(job: _CopyJob, segment: Segment, channel: ChannelSpec, *, reason: str) -> _CellOutcome:
    variants = [job.template(index, segment, channel) for index in range(job.count)]
    checks = [[_noted(check, TEMPLATE_NOTE) for check in job.check(variant, channel)] for variant in variants]
    checks = [[c if c.rule != DISTINCT_RULE else _noted(c, TEMPLATE_NOTE) for c in variant_checks]
              for variant_checks in with_distinct(variants, checks, job.language)]
    flag = keyed_flag(FlagCode.DEGRADED_OUTPUT, "flag_copy_template", segment=segment.name, channel=channel.id,
                      channel_name=channel.name, reason=reason, **_still_failing(checks))
    return _CellOutcome(
        messaging=_messaging(job, segment, channel, variants, checks, degraded=True,
                             inspired_by=[[] for _ in variants]),
        flags=[flag],
        counts=VariantCounts(variants=len(variants), final=_passing(checks), templated=len(variants)),
    )


def _still_failing(checks: list[list[RuleCheck]]) -> dict[str, str]:
    """Return the notice values naming the rules the variants still fail (none: empty sentences)."""
    remaining = [
        f"v{i + 1}:{c.rule}" for i, variant_checks in enumerate(checks) for c in failed(variant_checks)
    ]
    if not remaining:
        return {"still_failing": "", "still_failing_zh": ""}
    return {"still_failing_key": "copy_still_failing", "still_failing_zh_key": "copy_still_failing",
            "rules_failing": ", ".join(remaining)}


def _messaging(
    job: _CopyJob,
    segment: Segment,
    channel: ChannelSpec,
    variants: list[CopyVariant],
    checks: list[list[RuleCheck]],
    *,
    degraded: bool,
    inspired_by: list[list[str]],
) -> Messaging:
    """Return the cell's messaging; ``inspired_by`` holds each variant's review ids (see
    :func:`variant_sources`), the cell's list is their union in first-seen order."""
    return Messaging(
        segment_id=segment.id,
        channel=channel.id,
        language=job.language,
        variants=[_with_sources(variant, ids) for variant, ids in zip(variants, inspired_by, strict=True)],
        checks=[
            RuleCheck(rule=f"v{index + 1}:{check.rule}", passed=check.passed, detail=check.detail)
            for index, variant_checks in enumerate(checks)
            for check in variant_checks
        ],
        degraded=degraded,
        inspired_by=list(dict.fromkeys(rid for ids in inspired_by for rid in ids)),
    )


# Words too common in ad copy and reviews to show that a variant borrowed a quote's wording.
_COMMON_WORDS = frozenset(
    "about after again also always because been before being could every first from have just like love "
    "loved more most much only other really should some than that their them then there these they this "
    "very well were what when which while will with would your yours great perfect".split()
)


def _content_words(text: str, language: Language) -> set[str]:
    if language == "zh":
        chinese = re.sub(r"[^\u4e00-\u9fff]+", " ", text)
        return {run[i : i + 2] for run in chinese.split() for i in range(len(run) - 1)}
    words = {word.lower() for word in re.findall(r"[A-Za-z][A-Za-z'-]{3,}", text)}
    # A crude stem ("fabrics", "flattering" → "fabric", "flatter") so inflections still count as borrowed.
    return {re.sub(r"(?:ing|ed|es|s)$", "", word) for word in words if word not in _COMMON_WORDS}


def variant_sources(variant: CopyVariant, quotes: list[tuple[str, str]], language: Language) -> list[str]:
    """Return the review ids whose quotes inspired ``variant``: those it shares wording with (a content
    word, or in Chinese a two-character word), in prompt order; where it shares none recognisably, every
    quote its prompt showed (the model wrote it from them). Template copy has none: callers pass []."""
    text = _content_words(f"{variant.headline} {variant.body}", language)
    borrowed = [rid for rid, quote in quotes if text & _content_words(quote, language)]
    return borrowed or [rid for rid, _ in quotes]


def _with_sources(variant: CopyVariant, review_ids: list[str]) -> CopyVariant:
    return variant.model_copy(update={"inspired_by": review_ids})

"""A segment's evidence supports what its name claims (``segmentation.claim_quotes``).

A segment named for what its customers love quotes sentences of 4-5-star (recommended) reviews that name
the praised attribute and carry no complaint, hesitation or hypothetical; one named for a complaint quotes
low-rated reviews. Pure functions with a fake embedder: no model, no store. The complaint reviews below
are the marketer's rejections from real plans, and they are made the *most central* reviews of the
cluster, so only the rule (not the centroid ranking) keeps them out.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from campaign_planner.domain import Segment, SegmentSize
from campaign_planner.tools import segmentation as seg

FIT = [seg._ATTRIBUTE_BY_KEY["fit"].pattern, seg._ATTRIBUTE_BY_KEY["flattering"].pattern]

# (text, rating, recommended): the first five are complaints or hesitations, some in 4-5-star reviews.
REVIEWS = [
    ("I thought this dress looked so cute and comfortable and was excited to try it on, and i was majorly "
     "disappointed. The fit was odd.", 2, 0),
    ("I really wanted to like this dress. The fit is flattering on the hanger only.", 3, 0),
    ("I saw this jacket in stores, but did not buy it. The fit is the same as last year's.", 4, 1),
    ("I'm on the fence about this dress but overall i like it. The fit is fine.", 4, 1),
    ("I returned this dress because the material is so flimsy and thin.", 5, 0),  # recommended 0: excluded
    ("Ordered it for a wedding. The fit is so flattering and i got compliments all night!", 5, 1),
    ("This dress fits perfectly and looks beautiful on.", 5, 1),
    ("Love this dress, the flattering fit hides everything i want hidden.", 4, 1),
    ("Beautiful colour and great quality, i love it.", 5, 1),
]


def _inputs(reviews=REVIEWS):
    texts = [t for t, _, _ in reviews]
    dim = 8
    centre = np.eye(dim)[0]
    rows = []
    for i in range(len(texts)):
        # The complaint reviews sit on the centroid's direction; the supporting ones further away.
        v = centre + (0.0 if i < 5 else 0.3) * np.eye(dim)[1 + i % (dim - 1)]
        rows.append(v / np.linalg.norm(v))
    return texts, np.vstack(rows)


def _embed(sentences: list[str]) -> np.ndarray:
    return np.tile(np.eye(8)[0], (len(sentences), 1))  # every sentence equally central


def _praise(texts, embeddings, **kwargs):
    defaults = dict(
        ratings=[r for _, r, _ in REVIEWS][: len(texts)],
        recommended=[c for _, _, c in REVIEWS][: len(texts)],
        claim="praise",
        patterns=FIT,
        eligible=[True] * len(texts),
        embed=_embed,
    )
    return seg.claim_quotes(texts, embeddings, **{**defaults, **kwargs})


def test_complaints_never_become_praise_evidence_when_supporting_quotes_exist() -> None:
    texts, emb = _inputs()
    chosen = _praise(texts, emb)
    rows = [i for i, _ in chosen.quotes]
    assert chosen.supporting == 3 and len(chosen.quotes) == 3
    assert set(rows) == {5, 6, 7}, chosen.quotes  # never rows 0-4, though they are the most central
    for i, quote in chosen.quotes:
        assert quote in texts[i]  # verbatim
        assert not seg.is_reservation(quote) and any(p.search(quote) for p in FIT)
    # The praising sentence of review 5 is its second one, not its first ("Ordered it for a wedding.").
    assert (5, "The fit is so flattering and i got compliments all night!") in chosen.quotes


def test_the_marketers_rejected_quotes_are_reservations() -> None:
    for text, _, _ in REVIEWS[:5]:
        first = seg.sentences(text)[0]
        assert seg.is_reservation(first) and not seg.is_praise(first), first
    for praise in ("This dress fits perfectly and looks beautiful on.", "These are the most comfortable jeans."):
        assert seg.is_praise(praise), praise


def test_fallback_is_labelled_and_never_a_complaint() -> None:
    # Only one review names the fit with praise; one more praises something else; the rest complain.
    reviews = [*REVIEWS[:5], REVIEWS[6], REVIEWS[8]]
    texts, emb = _inputs(reviews)
    chosen = _praise(
        texts, emb, ratings=[r for _, r, _ in reviews], recommended=[c for _, _, c in reviews]
    )
    assert chosen.supporting == 1
    assert chosen.quotes == [(5, REVIEWS[6][0]), (6, REVIEWS[8][0])]  # supporting first, then the fallback
    assert _praise(texts, emb, ratings=[r for _, r, _ in reviews], recommended=[c for _, _, c in reviews],
                   fallback=False).quotes == [(5, REVIEWS[6][0])]
    # Nothing but complaints: no praise quote at all, rather than a complaint shown as praise.
    only_complaints = _praise(*_inputs(REVIEWS[:5]))
    assert only_complaints.quotes == [] and only_complaints.supporting == 0


def test_complaint_segments_quote_low_rated_reviews_naming_the_pain() -> None:
    reviews = [
        ("Love it, the fit is perfect.", 5),
        ("Runs small, i had to return it. The fabric is fine.", 1),
        ("The colour is lovely.", 5),
        ("Way too tight across the bust and the zipper broke.", 2),
        ("It is pretty but runs small in the hips.", 4),  # a complaint, but from a happy review
    ]
    texts = [t for t, _ in reviews]
    emb = np.tile(np.eye(8)[0], (len(texts), 1))
    pains = dict(seg.PAIN_POINTS)
    chosen = seg.claim_quotes(
        texts, emb, ratings=[r for _, r in reviews], claim="complaint", patterns=[pains["small sizing"]],
        eligible=[True] * len(texts), embed=_embed,
    )
    assert {i for i, _ in chosen.quotes} == {1, 3} and chosen.supporting == 2
    assert (1, "Runs small, i had to return it.") in chosen.quotes


def test_segment_name_and_claim_agree() -> None:
    texts = ["The flattering fit is perfect.", "Perfect fit, and the flattering fit again.",
             "Runs small and the fabric is thin.", "Too small, poor quality, it fell apart."]
    summary = seg.describe_attributes(texts, [5, 5, 1, 2], np.array([0, 0, 1, 1]))
    assert seg.segment_claim(summary[0], 4.8) == "praise" and "who love" in seg.segment_name({}, summary[0], 4.8)
    assert seg.segment_claim(summary[1], 1.5) == "complaint"
    assert "frustrated by" in seg.segment_name({}, summary[1], 1.5)
    empty = seg.AttributeSummary(praised=[], praised_keys=[], needs=[], pain_points=[])
    assert seg.segment_claim(empty, 4.0) == "none" and seg.segment_name({}, empty, 4.0) == "All-category fans"


@pytest.mark.parametrize(
    ("sentence", "reservation"),
    [
        ("连衣裙很合身，颜色漂亮。", False),
        ("面料柔软，穿着很舒服！", False),
        ("本来想买大一码，可惜没货了。", True),
        ("颜色好看，但是偏小。", True),
        ("不过面料有点薄，有点失望。", True),
        ("收到第二天就退货了。", True),
    ],
)
def test_chinese_reviews_use_equivalent_markers(sentence: str, reservation: bool) -> None:
    assert seg.is_reservation(sentence) is reservation
    assert seg.is_praise(sentence) is (not reservation)
    assert seg.quotable(sentence)


def test_chinese_praise_quotes_name_the_attribute_and_cut_at_chinese_full_stops() -> None:
    reviews = [
        ("本来想买大一码，可惜没货了。这条裙子版型很合身！", 5),
        ("颜色好看，但是偏小。", 4),
        ("质量很好，很满意。面料柔软，穿着很舒服。", 5),
        ("太薄了，失望，退货了。", 1),
    ]
    texts = [t for t, _ in reviews]
    mentions = seg.mention_matrix(texts)  # the attribute lexicon reads Chinese too
    assert mentions["fit"].tolist() == [1, 0, 0, 0] and mentions["fabric"].tolist() == [0, 0, 1, 0]
    assert mentions["comfort"].tolist() == [0, 0, 1, 0] and seg.pain_matrix(texts)["small sizing"].tolist() == [
        0, 1, 0, 0]
    assert seg.sentences(texts[0]) == ["本来想买大一码，可惜没货了。", "这条裙子版型很合身！"]
    patterns = [seg._ATTRIBUTE_BY_KEY[k].pattern for k in ("fit", "fabric", "comfort")]
    chosen = seg.claim_quotes(
        texts, np.tile(np.eye(8)[0], (len(texts), 1)), ratings=[r for _, r in reviews], claim="praise",
        patterns=patterns, eligible=[True] * len(texts), embed=_embed,
    )
    quotes = dict(chosen.quotes)
    assert set(quotes) == {0, 2} and chosen.supporting == 2
    assert quotes[0] == "这条裙子版型很合身！" and all(q in texts[i] for i, q in chosen.quotes)
    assert not re.search("可惜|但是|失望", " ".join(quotes.values()))


def test_pain_evidence_is_optional_in_the_json_contract() -> None:
    old = {"id": "seg-1", "name": "x", "size": {"customers": 1, "share": 0.1},
           "evidence": [{"review_id": "1", "quote": "Great fit."}]}
    segment = Segment.model_validate(old)  # a plan written before pain_evidence still reads
    assert segment.pain_evidence == []
    assert Segment(id="s", name="n", size=SegmentSize(customers=0, share=0.0)).model_dump()["pain_evidence"] == []

"""A scripted responder that plays every LLM role of a planning run, for graph tests."""

from __future__ import annotations

import json
import re

from langchain_core.messages import BaseMessage

from campaign_planner.testing import ScriptedChatModel


def _system(messages: list[BaseMessage]) -> str:
    return str(messages[0].content) if messages else ""


def _slot_reply(messages: list[BaseMessage]) -> str:
    count_match = re.search(r"(?:Write|写) (\d+)", str(messages[-1].content))
    count = int(count_match.group(1)) if count_match else 3
    chinese = bool(re.search(r"[\u4e00-\u9fff]{6,}", _system(messages)))
    candidates = [
        {"angle": "benefit", "headline": "新款上衣舒适上市", "benefit": "柔软面料，舒适合身。", "proof": "面料很柔软",
         "cta": "立即选购"},
        {"angle": "social_proof", "headline": "顾客都说好穿", "benefit": "版型利落，通勤周末都能穿。",
         "proof": "穿着很舒服", "cta": "看看同款"},
        {"angle": "novelty", "headline": "上衣新品到了", "benefit": "轻薄透气，每天都清爽。", "proof": "颜色很好看",
         "cta": "马上查看"},
    ] if chinese else [
        {"angle": "benefit", "headline": "Fit that flatters", "benefit": "Soft fabric and a cut for every day.",
         "proof": "the fabric is soft", "cta": "Shop now"},
        {"angle": "social_proof", "headline": "Shoppers call it a keeper", "benefit": "A shape that moves with you.",
         "proof": "so comfortable", "cta": "See why"},
        {"angle": "novelty", "headline": "Meet the new fit", "benefit": "Fresh colours for the season.",
         "proof": "love the colours", "cta": "Take a look"},
    ]
    return json.dumps({"candidates": (candidates * 2)[:count]}, ensure_ascii=False)


def _copy_reply(messages: list[BaseMessage]) -> str:
    system = _system(messages)
    if "candidate" in system or "候选" in system:
        return _slot_reply(messages)
    count_match = re.search(r"exactly (\d+)", system + " ".join(str(m.content) for m in messages))
    count = int(count_match.group(1)) if count_match else 2
    chinese = bool(re.search(r"[\u4e00-\u9fff]{6,}", system))
    variant = (
        {"headline": "新款上衣舒适上市", "body": "柔软面料,舒适合身,今天就来选购吧。", "cta": "立即选购"}
        if chinese
        else {"headline": "Fit that flatters", "body": "Soft fabric and a cut that flatters every day.",
              "cta": "Shop now"}
    )
    return json.dumps({"variants": [variant] * count}, ensure_ascii=False)


def planner_responder(messages: list[BaseMessage]) -> str:
    """Answer like a competent model: call every tool once, then finish; write copy and a narrative."""
    system = _system(messages)
    if "planning agent" in system:
        if "Tools already run: none" in str(messages[-1].content):
            return json.dumps({"thought": "Find the audience, split the budget, forecast, write copy.",
                               "actions": [{"tool": "profile_lookup", "max_segments": 3},
                                           {"tool": "channel_optimizer"}, {"tool": "forecaster"},
                                           {"tool": "copywriter"}],
                               "finished": False})
        return json.dumps({"thought": "All sections are there.", "actions": [], "finished": True})
    if "strategist" in system:
        return json.dumps({
            "summary": "Reach the customers who praise the fit. The split favours the channels with the best "
                       "marginal return. This campaign will triple revenue to 987654321 dollars.",
            "rationale": [{"decision": "Lead with fit, the attribute customers praise most.",
                           "evidence_ids": ["does-not-exist"]}],
            "risks": ["Sizing complaints could resurface if the fit message overpromises."],
        })
    return _copy_reply(messages)


def competent_model() -> ScriptedChatModel:
    """A fake model that behaves like a capable backend."""
    return ScriptedChatModel(responder=planner_responder)


def broken_model() -> ScriptedChatModel:
    """A fake model whose every answer is unusable (like a very weak local model on a bad day)."""
    return ScriptedChatModel(responder=lambda messages: "Sure! Here is my answer: {not json")

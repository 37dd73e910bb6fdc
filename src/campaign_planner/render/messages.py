"""The one message catalog of the plan's reports and the chat page: key → {"en": …, "zh": …}.

The Markdown renderer, the HTML template (as ``m``) and the chat page (``GET /chat/messages.json``) all read
:data:`MESSAGES`, so a heading or a column header is worded once per language. Placeholders are ``{name}``
(``str.format`` in Python, the same braces in the page's script). A key missing in a language falls back to
English; :func:`catalog` returns one language's whole table.

Segment names: the segmentation tool names segments in English from fixed parts ("Tops fans, 31–35, who love
the pretty comfort"); :func:`segment_display_name` gives a Chinese plan the same name built in Chinese from
those parts (department, age range, praised attribute or pain point). A word with no known Chinese
translation stays English inside 「」 rather than being invented. The segment's ``name`` field is untouched
(the JSON contract); review quotes are never translated.
"""

from __future__ import annotations

import re
from typing import Any

from campaign_planner.render.notice_messages import NOTICES

LANGUAGES = ("en", "zh")

MESSAGES: dict[str, dict[str, str]] = {
    # --- title and status ---
    "title": {"en": "Campaign plan: {title}", "zh": "营销活动方案：{title}"},
    "campaign": {"en": "campaign", "zh": "营销活动"},
    "status": {"en": "Status", "zh": "状态"},
    "run": {"en": "Run", "zh": "运行"},
    "status_draft": {"en": "draft", "zh": "草稿"},
    "status_approved": {"en": "approved", "zh": "已批准"},
    "status_rejected": {"en": "rejected", "zh": "已拒绝"},
    # --- flags ---
    "flags": {"en": "Flags", "zh": "警示"},
    "flags_heading": {"en": "⚠ Flags ({n}): read these first", "zh": "⚠ 警示（{n} 条）：请先阅读"},
    "flags_none": {"en": "No flags raised.", "zh": "没有警示。"},
    # --- the rationale and risks stated from the tools (graphs/assembly.py) ---
    "rationale_target": {"en": "Target '{name}' ({customers} matching reviewers, {share} of the shop)",
                         "zh": "面向「{name}」（{customers} 位匹配的评论者，占店铺的 {share}）"},
    "rationale_spend": {"en": "Spend {spend} on {channel}: marginal ROI {roi} at the optimum ({source}{binding})",
                        "zh": "在{channel}投入 {spend}：最优点的边际 ROI 为 {roi}（{source}{binding}）"},
    "rationale_binding": {"en": "; binding: {limits}", "zh": "；受限于：{limits}"},
    "rationale_limit_min_spend": {"en": "min_spend", "zh": "最低投入"},
    "rationale_limit_min_share": {"en": "min_share", "zh": "最低占比"},
    "rationale_limit_max_spend": {"en": "max_spend", "zh": "最高投入"},
    "rationale_source_uplift_model": {"en": "uplift_model", "zh": "提升模型"},
    "rationale_source_response_curve": {"en": "response_curve", "zh": "响应曲线"},
    "rationale_source_prior": {"en": "prior", "zh": "先验"},
    "risk_no_spend_history": {
        "en": "No spend history for {channels}: their response is a catalog prior with wide intervals; test "
              "before scaling.",
        "zh": "{channels}没有投放历史：其响应是渠道目录的先验曲线，区间很宽；放量前请先小规模测试。"},
    # --- summary and brief ---
    "summary": {"en": "Summary", "zh": "摘要"},
    "summary_none": {"en": "No summary was written.", "zh": "未撰写摘要。"},
    "brief": {"en": "Brief", "zh": "简报"},
    "brief_as_read": {"en": "Brief as read", "zh": "简报原文"},
    "field": {"en": "Field", "zh": "字段"},
    "value": {"en": "Value", "zh": "内容"},
    "brief_text": {"en": "Brief", "zh": "简报原文"},
    "objective": {"en": "Objective", "zh": "目标"},
    "product": {"en": "Product", "zh": "产品"},
    "duration": {"en": "Duration", "zh": "周期"},
    "channels_allowed": {"en": "Channels allowed", "zh": "允许的渠道"},
    "channels_excluded": {"en": "Channels excluded", "zh": "排除的渠道"},
    "spend_bounds": {"en": "Spend bounds", "zh": "花费上下限"},
    "audience_ages": {"en": "Audience ages", "zh": "受众年龄"},
    "departments": {"en": "Departments", "zh": "品类"},
    "audience": {"en": "Audience", "zh": "受众"},
    "behaviour": {"en": "Behaviour", "zh": "行为"},
    "offer": {"en": "Offer", "zh": "优惠"},
    "tone": {"en": "Tone", "zh": "语气"},
    "language": {"en": "Language", "zh": "语言"},
    "language_name_en": {"en": "English", "zh": "英文"},
    "language_name_zh": {"en": "Chinese", "zh": "中文"},
    "kpis": {"en": "KPIs", "zh": "关键指标"},
    "constraints": {"en": "Constraints", "zh": "约束"},
    "any": {"en": "any", "zh": "不限"},
    "none_lower": {"en": "none", "zh": "无"},
    "budget_missing": {"en": "missing (see flags)", "zh": "缺失（见警示）"},
    "planners_choice": {"en": "planner's choice", "zh": "由规划器选择"},
    "only_channels_unknown": {"en": "none: the brief's only channels are not in the catalog",
                              "zh": "无：简报限定的渠道都不在渠道目录中"},
    "percent_off": {"en": "{discount}% off", "zh": "{discount}% 折扣"},
    "weeks": {"en": "{weeks} weeks", "zh": "{weeks} 周"},
    "days_as_weeks": {"en": "{days} days (planned as {weeks} weeks)", "zh": "{days} 天（按 {weeks} 周规划）"},
    # --- assumptions and open questions ---
    "assumptions_heading": {"en": "Assumptions and open questions", "zh": "假设与待定问题"},
    "assumptions": {"en": "Assumptions", "zh": "假设"},
    "open_questions": {"en": "Open questions for the team", "zh": "需团队决定的问题"},
    "open_questions_short": {"en": "Open questions", "zh": "待定问题"},
    "confidence": {"en": "confidence {pct}", "zh": "置信度 {pct}"},
    "none_recorded": {"en": "None recorded.", "zh": "无记录。"},
    "none": {"en": "None.", "zh": "无。"},
    # --- answers ---
    "answers": {"en": "Answers to the brief's questions", "zh": "简报问题的解答"},
    "answers_short": {"en": "Answers", "zh": "解答"},
    "answer_figures": {"en": "Figures behind it (from {sources})", "zh": "依据的数字（来自{sources}）"},
    "answer_open": {"en": "Open: no tool of this plan answers it; it is listed under the open questions for "
                          "the team.",
                    "zh": "待定：本方案没有工具能回答，已列入需团队决定的问题。"},
    "open_badge": {"en": "open", "zh": "待定"},
    "source_targeting": {"en": "the targeting table", "zh": "目标客户表"},
    "source_forecast": {"en": "the forecast", "zh": "预测"},
    "source_budget": {"en": "the budget allocation", "zh": "预算分配"},
    "list_separator": {"en": ", ", "zh": "、"},
    "clause_separator": {"en": "; ", "zh": "；"},
    # --- segments ---
    "segments": {"en": "Segments", "zh": "细分人群"},
    "segments_n": {"en": "Segments ({n})", "zh": "细分人群（{n}）"},
    "no_segments": {"en": "No segments.", "zh": "没有细分人群。"},
    "size": {"en": "Size", "zh": "规模"},
    "size_value": {"en": "{customers} customers ({share} of reviewers)",
                   "zh": "{customers} 位客户（占评论者的 {share}）"},
    "customers_n": {"en": "{n} customers", "zh": "{n} 位客户"},
    "definition": {"en": "Definition", "zh": "定义"},
    "demographics": {"en": "Demographics", "zh": "人口特征"},
    "needs": {"en": "Needs", "zh": "需求"},
    "praised": {"en": "Praised", "zh": "好评点"},
    "they_praise": {"en": "They praise", "zh": "好评点"},
    "pain_points": {"en": "Pain points", "zh": "痛点"},
    "average_rating": {"en": "Average rating", "zh": "平均评分"},
    "quotes_intro": {"en": "What these customers wrote:", "zh": "这些客户的原话："},
    "pain_quotes_intro": {"en": "What its low-rated reviews say about the pain points:",
                          "zh": "低分评论中关于痛点的原话："},
    "review": {"en": "review", "zh": "评论"},
    "no_quotes": {"en": "No quotes: this segment rests on weak evidence.", "zh": "没有引用：该细分人群的证据较弱。"},
    # --- copy ---
    "messaging": {"en": "Messaging", "zh": "文案"},
    "copy_n": {"en": "Copy ({n} cells)", "zh": "文案（{n} 组）"},
    "no_copy": {"en": "No copy.", "zh": "没有文案。"},
    "variant": {"en": "Variant {n}", "zh": "版本 {n}"},
    "body": {"en": "Body", "zh": "正文"},
    "cta": {"en": "CTA", "zh": "行动号召"},
    "legal_footer": {"en": "Legal footer", "zh": "法律声明"},
    "inspired_by": {"en": "Inspired by", "zh": "灵感来源"},
    "checks": {"en": "Checks", "zh": "检查"},
    "checks_all": {"en": "Checks (all variants)", "zh": "检查（所有版本）"},
    "not_checked": {"en": "not checked", "zh": "未检查"},
    "inspired_by_reviews": {"en": "Inspired by reviews", "zh": "灵感来自评论"},
    "not_from_reviews": {"en": "none (not drawn from review quotes)", "zh": "无（未取自评论原话）"},
    "degraded": {
        "en": "Fallback — the model's output was unusable or broke the channel's rules, so this copy was repaired "
              "or written from a template deterministically. Review it before use.",
        "zh": "备用文案——模型输出不可用或违反了渠道规则，此文案经确定性修复或由模板生成。使用前请审阅。",
    },
    "degraded_short": {"en": " (partly a deterministic fallback)", "zh": "（部分为确定性备用文案）"},
    # --- forecast ---
    "forecast": {"en": "Forecast", "zh": "预测"},
    "no_forecast": {"en": "No forecast.", "zh": "没有预测。"},
    "no_forecast_flags": {"en": "No forecast (see the flags).", "zh": "没有预测（见警示）。"},
    "col_segment": {"en": "Segment", "zh": "细分人群"},
    "col_channel": {"en": "Channel", "zh": "渠道"},
    "col_metric": {"en": "Metric", "zh": "指标"},
    "col_expected": {"en": "Expected", "zh": "预期"},
    "col_interval_80": {"en": "80% interval", "zh": "80% 区间"},
    "col_interval_95": {"en": "95% interval", "zh": "95% 区间"},
    "col_incremental_revenue": {"en": "Incremental revenue", "zh": "增量收入"},
    "col_incr_revenue": {"en": "Incr. revenue", "zh": "增量收入"},
    "col_roi": {"en": "ROI", "zh": "投资回报率"},
    "col_spend": {"en": "Spend", "zh": "花费"},
    "col_counted_over": {"en": "Counted over", "zh": "统计口径"},
    "col_source": {"en": "Source", "zh": "来源"},
    "col_backtest_error": {"en": "Back-test error", "zh": "回测误差"},
    "prior_note": {"en": "Lines sourced from a prior are assumptions, not fitted to this shop's data.",
                   "zh": "来源为先验的行是假设，并非根据本店数据拟合。"},
    "source_uplift_model": {"en": "uplift model (fitted to campaign history)", "zh": "增量模型（基于历史活动拟合）"},
    "source_response_curve": {"en": "response curve (fitted to channel history)", "zh": "响应曲线（基于渠道历史拟合）"},
    "source_prior": {"en": "prior (catalog assumption, not fitted to this shop's data)",
                     "zh": "先验（渠道目录假设，未根据本店数据拟合）"},
    "basis_segment_history": {"en": "the segment's history customers", "zh": "该细分人群的历史客户"},
    "basis_scaled_to_segment": {"en": "⚠ scaled to the segment's size (filters not in the history)",
                                "zh": "⚠ 按细分人群规模换算（历史数据中没有这些筛选条件）"},
    "basis_channel_share": {"en": "segment share of the channel's outcome (channel level)",
                            "zh": "细分人群在渠道产出中的占比（渠道层面）"},
    # --- targeting ---
    "targeting": {"en": "Whom to target", "zh": "目标客户"},
    "targeting_intro": {
        "en": "Customers of the campaign history ranked by predicted uplift (cross-fitted): the lift observed in "
              "the top share against the lift across everyone.",
        "zh": "历史活动中的客户按预测增量排序（交叉拟合）：头部人群观察到的提升与全体客户的提升对比。",
    },
    "col_outcome": {"en": "Outcome", "zh": "结果指标"},
    "col_top_share": {"en": "Top share", "zh": "头部比例"},
    "col_customers": {"en": "Customers", "zh": "客户数"},
    "col_lift_top": {"en": "Lift in top share", "zh": "头部提升"},
    "col_lift_everyone": {"en": "Lift, everyone", "zh": "全体提升"},
    "col_recommendation": {"en": "Recommendation", "zh": "建议"},
    "col_top_differs": {"en": "How the top group differs", "zh": "头部人群的差异"},
    "target_top": {"en": "Target the top share", "zh": "优先触达头部人群"},
    "send_to_all": {"en": "Send to all", "zh": "全量发送"},
    # --- budget ---
    "budget": {"en": "Budget", "zh": "预算"},
    "no_budget": {"en": "No budget allocation: see the flags.", "zh": "没有预算分配：见警示。"},
    "col_spend_whole": {"en": "Spend (whole budget)", "zh": "花费（全部预算）"},
    "col_share": {"en": "Share", "zh": "占比"},
    "col_recommended_spend": {"en": "Recommended spend", "zh": "建议花费"},
    "col_recommended": {"en": "Recommended", "zh": "建议花费"},
    "col_expected_outcome": {"en": "Expected outcome ({unit}, incremental over zero spend)",
                             "zh": "预期产出（{unit}，相对零花费的增量）"},
    "col_expected_objective": {"en": "Expected {objective} ({unit})", "zh": "预期{objective}（{unit}）"},
    "col_marginal_roi": {"en": "Marginal ROI", "zh": "边际投资回报率"},
    "col_break_even": {"en": "Break-even spend", "zh": "盈亏平衡花费"},
    "col_binding": {"en": "Binding constraints", "zh": "生效的约束"},
    "col_binding_short": {"en": "Binding", "zh": "生效约束"},
    "col_figure_from": {"en": "Figure from", "zh": "数据来源"},
    "col_cross_check": {"en": "Cross-check", "zh": "交叉核对"},
    "total": {"en": "Total", "zh": "合计"},
    "budget_line": {"en": "Objective: {objective}. Budget: {budget}. Expected outcomes are the sums of each "
                          "channel's forecast lines below.",
                    "zh": "目标：{objective}。预算：{budget}。预期产出为下方各渠道预测行之和。"},
    "budget_row": {"en": "Budget {budget} · objective {objective} · expected outcomes are the sums of each "
                         "channel's forecast lines",
                   "zh": "预算 {budget} · 目标 {objective} · 预期产出为各渠道预测行之和"},
    "held_back": {"en": "Held back: {amount}; spending it would add {outcome} on the response curves.",
                  "zh": "保留未花：{amount}；按响应曲线，花掉它可再带来 {outcome}。"},
    "cross_check_of": {"en": "{channel} cross-check", "zh": "{channel} 交叉核对"},
    "allocations_mismatch": {"en": "⚠ The allocations sum to {total}, not the budget of {budget}.",
                             "zh": "⚠ 各渠道分配合计为 {total}，不等于预算 {budget}。"},
    "allocations_mismatch_short": {"en": "⚠ allocations do not sum to the budget", "zh": "⚠ 各渠道分配合计不等于预算"},
    "response_curves": {"en": "Response curves and the chosen spend", "zh": "响应曲线与所选花费"},
    "no_budget_split": {"en": "No budget split (see the flags).", "zh": "没有预算分配（见警示）。"},
    "objective_revenue": {"en": "revenue", "zh": "收入"},
    "objective_conversions": {"en": "conversions", "zh": "转化"},
    # --- measurement ---
    "measurement": {"en": "Measurement", "zh": "效果衡量"},
    "no_measurement": {"en": "No measurement design.", "zh": "没有效果衡量设计。"},
    "design": {"en": "Design", "zh": "设计"},
    "holdout_share": {"en": "Holdout share", "zh": "对照组比例"},
    "sample_size": {"en": "Sample size", "zh": "样本量"},
    "min_detectable_lift": {"en": "Minimum detectable lift", "zh": "最小可检测提升"},
    "col_design": {"en": "Design", "zh": "设计"},
    "col_audience": {"en": "Audience", "zh": "受众规模"},
    "col_baseline": {"en": "Baseline", "zh": "基线"},
    "col_sized_for": {"en": "Sized for lift", "zh": "按此提升设计"},
    "col_per_arm": {"en": "Per arm (80% power, 5%)", "zh": "每组样本（80% 功效，5%）"},
    "col_per_arm_short": {"en": "Per arm", "zh": "每组样本"},
    "col_holdout": {"en": "Holdout", "zh": "对照组"},
    "col_detectable": {"en": "Detectable lift", "zh": "可检测提升"},
    "col_powered": {"en": "Powered", "zh": "功效充足"},
    "col_copy_ab": {"en": "Copy A/B detects", "zh": "文案对比测试可检测"},
    "assumed": {"en": " (assumed)", "zh": "（假设）"},
    "na_regions": {"en": "n/a (regions)", "zh": "不适用（按地区）"},
    "yes": {"en": "yes", "zh": "是"},
    "no": {"en": "no", "zh": "否"},
    "design_customer_holdout": {"en": "customer holdout", "zh": "客户对照组"},
    "design_geo_holdout": {"en": "geo holdout", "zh": "地区对照组"},
    # --- risks, rationale, provenance ---
    "risks": {"en": "Risks", "zh": "风险"},
    "rationale": {"en": "Rationale", "zh": "决策依据"},
    "evidence": {"en": "evidence", "zh": "证据"},
    "no_evidence": {"en": "no evidence cited", "zh": "未引用证据"},
    "provenance": {"en": "Provenance", "zh": "运行信息"},
    "backend_model": {"en": "Backend / model", "zh": "后端 / 模型"},
    "run_seconds": {"en": "{run} in {seconds} s ({llm} s in the language model)",
                    "zh": "{run}，用时 {seconds} 秒（语言模型 {llm} 秒）"},
    "llm_calls": {"en": "LLM calls", "zh": "模型调用"},
    "tokens": {"en": "{calls} ({prompt} prompt + {completion} completion tokens)",
               "zh": "{calls} 次（提示 {prompt} + 生成 {completion} 个词元）"},
    "tool_calls": {"en": "Tool calls", "zh": "工具调用"},
    "data": {"en": "Data", "zh": "数据"},
    # --- the chat page's own labels (index.html's data-msg elements, the status line) ---
    "page_no_plan": {"en": "No plan yet", "zh": "还没有方案"},
    "page_thread": {"en": "Thread {id}", "zh": "会话 {id}"},
    "page_open_placeholder": {"en": "Open a thread by id", "zh": "按编号打开会话"},
    "page_open": {"en": "Open", "zh": "打开"},
    "page_new_plan": {"en": "New plan", "zh": "新方案"},
    "page_key": {"en": "Key", "zh": "密钥"},
    "page_review_waits": {"en": "This draft waits for your decision:", "zh": "此草稿等待您的决定："},
    "page_approve": {"en": "Approve", "zh": "批准"},
    "page_request_changes": {"en": "Request changes", "zh": "要求修改"},
    "page_reject": {"en": "Reject", "zh": "拒绝"},
    "page_send": {"en": "Send", "zh": "发送"},
    "page_input_brief": {"en": "Paste a campaign brief…", "zh": "粘贴营销简报…"},
    "page_input_change": {
        "en": "Ask for a change: move $5k from search to email · make the SMS copy shorter · exclude customers "
              "under 25",
        "zh": "提出修改：把 5000 元从搜索转到邮件 · 缩短短信文案 · 排除 25 岁以下的客户",
    },
    "page_status_line": {"en": "Run {run}: {status} · plan {plan}", "zh": "运行 {run}：{status} · 方案 {plan}"},
    "run_running": {"en": "running", "zh": "运行中"},
    "run_queued": {"en": "queued", "zh": "排队中"},
    "run_interrupted": {"en": "waiting for your decision", "zh": "等待您的决定"},
    "run_succeeded": {"en": "succeeded", "zh": "已完成"},
    "run_failed": {"en": "failed", "zh": "失败"},
    "run_cancelled": {"en": "cancelled", "zh": "已取消"},
    "status_none": {"en": "none", "zh": "无"},
    "show_report": {"en": "Show the full report (charts)", "zh": "查看完整报告（含图表）"},
    "report_title": {"en": "Plan report", "zh": "方案报告"},
    # --- the report's charts (render/svg.py) ---
    "chart_allocation": {"en": "Budget allocation by channel", "zh": "各渠道的预算分配"},
    "chart_forecast": {"en": "Forecast intervals: {metric}", "zh": "预测区间：{metric}"},
    "chart_forecast_legend": {"en": "{metric} — bar: 80% interval · whiskers: 95% interval · dot: expected",
                              "zh": "{metric}——色条：80% 区间 · 须线：95% 区间 · 圆点：预期值"},
    "chart_forecast_tooltip": {
        "en": "{name}: expected {expected}; 80% {lo80}–{hi80}; 95% {lo95}–{hi95}; source {source}",
        "zh": "{name}：预期 {expected}；80% 区间 {lo80}–{hi80}；95% 区间 {lo95}–{hi95}；来源：{source}"},
    "chart_curve": {"en": "Response curve: {channel}", "zh": "响应曲线：{channel}"},
    "chart_no_points": {"en": "No curve points.", "zh": "没有曲线数据点。"},
    "chart_spend": {"en": "spend", "zh": "投入"},
    "chart_chosen": {"en": "chosen: {spend}", "zh": "选定：{spend}"},
    "chart_chosen_beyond": {"en": "chosen: {spend} (beyond curve)", "zh": "选定：{spend}（超出曲线范围）"},
    "chart_point_outcome": {"en": "{label}; outcome {outcome}", "zh": "{label}；产出 {outcome}"},
    "chart_frontier": {"en": "Efficient frontier on the response curves: best outcome against total spend",
                       "zh": "响应曲线上的有效前沿：各总投入下的最佳产出"},
    "chart_frontier_legend": {"en": "{label} ({unit}); dashed grey: break-even",
                              "zh": "{label}（{unit}）；灰色虚线：盈亏平衡"},
    "chart_total_spend": {"en": "total spend", "zh": "总投入"},
    "chart_total_spend_up_to": {"en": "total spend, up to {spend}", "zh": "总投入，最高 {spend}"},
    "chart_budget": {"en": "budget", "zh": "预算"},
    "chart_recommended": {"en": "recommended", "zh": "建议"},
}

# Words a Chinese segment name is built from (the segmentation tool's English parts).
DEPARTMENTS_ZH = {
    "Dresses": "连衣裙", "Tops": "上衣", "Bottoms": "下装", "Jackets": "外套", "Intimate": "内衣",
    "Trend": "潮流单品", "All-category": "全品类",
}
ATTRIBUTES_ZH = {  # the nouns of tools/segmentation.py's ATTRIBUTES
    "fit": "版型", "sizing": "尺码", "fabric": "面料", "softness": "柔软度", "comfort": "舒适度", "colour": "颜色",
    "color": "颜色", "length": "长度", "quality": "品质", "price": "价格", "style": "款式",
    "flattering cut": "显身材的剪裁", "print": "印花", "opacity": "不透光", "warmth": "保暖性",
    "stretch": "弹性", "versatility": "百搭",
}
MODIFIERS_ZH = {  # the positive modifiers customers put before an attribute ("gorgeous colour")
    "flattering": "显身材", "perfect": "完美", "great": "出色", "beautiful": "美丽", "lovely": "可爱",
    "gorgeous": "绚丽", "nice": "不错", "amazing": "惊艳", "good": "好", "soft": "柔软", "comfortable": "舒适",
    "cute": "可爱", "vibrant": "鲜艳", "rich": "饱满", "true": "标准", "excellent": "优秀", "fantastic": "极好",
    "wonderful": "美妙", "pretty": "漂亮", "fun": "有趣", "unique": "独特", "classic": "经典", "elegant": "优雅",
    "stunning": "惊艳", "high": "高",
}
PAIN_POINTS_ZH = {  # the pain-point labels of tools/segmentation.py's PAIN_POINTS
    "small sizing": "尺码偏小", "large sizing": "尺码偏大", "boxy, unflattering cuts": "版型宽松、不显身材",
    "see-through fabric": "面料透光", "thin, flimsy fabric": "面料轻薄易损", "itchy fabric": "面料扎人",
    "poor quality": "质量差", "the wrong length": "长度不合适", "colours unlike the photos": "颜色与图片不符",
    "high prices": "价格偏高", "awkward proportions": "比例不协调",
}
NEEDS_ZH = {  # the needs of tools/segmentation.py's ATTRIBUTES
    "a fit that flatters their shape": "显身材的版型", "sizing they can trust": "靠得住的尺码",
    "quality fabrics": "优质面料", "soft, pleasant fabrics": "柔软舒服的面料", "all-day comfort": "全天舒适",
    "colours true to the photos": "与图片一致的颜色", "the right length": "合适的长度", "pieces that last": "经穿耐用",
    "good value for money": "物有所值", "stand-out style": "出挑的款式", "flattering cuts": "显身材的剪裁",
    "appealing prints and patterns": "好看的印花和图案", "fabric that is not see-through": "不透光的面料",
    "warmth for cold days": "冷天保暖", "stretch and ease of movement": "弹性好、活动自如",
    "versatile pieces": "百搭单品",
}
ATTRIBUTE_KEYS_ZH = {**ATTRIBUTES_ZH, "flattering": "显身材", "sheerness": "透光"}  # the attributes' keys
CHANNELS_ZH = {
    "email": "邮件", "sms": "短信", "push": "App 推送", "search": "付费搜索", "display": "展示广告",
    "influencer": "达人合作", "tv": "电视", "print": "印刷媒体", "ooh": "户外广告", "podcast": "播客",
    "wechat": "微信", "weibo": "微博", "douyin": "抖音", "xiaohongshu": "小红书", "tmall": "天猫",
}
HEADLINE_LABELS_ZH = {
    "subject line": "邮件主题", "sender line": "发送方", "title": "标题", "hook": "开头", "headline": "标题",
    "brief hook": "合作要点", "spot title": "广告片标题", "read title": "口播标题",
}
METRICS_ZH = {
    "incremental_conversions": "增量转化", "incremental_revenue": "增量收入", "conversions": "转化",
    "revenue": "收入", "clicks": "点击", "incremental_clicks": "增量点击", "reach": "触达",
}


def language_of(value: Any) -> str:
    """Return a supported language for ``value`` (a language code, a Brief or a plan); English otherwise."""
    brief = getattr(value, "brief", value)
    code = getattr(brief, "language", value)
    return code if code in LANGUAGES else "en"


def t(key: str, language: str = "en", **values: Any) -> str:
    """Return the message ``key`` in ``language`` (English where it has none), formatted with ``values``."""
    entry = MESSAGES[key]
    text = entry.get(language) or entry["en"]
    return text.format(**values) if values else text


def catalog(language: str = "en") -> dict[str, str]:
    """Return every message in ``language`` (the HTML template's ``m``, the chat page's table)."""
    return {key: entry.get(language) or entry["en"] for key, entry in MESSAGES.items()}


def all_catalogs() -> dict[str, dict[str, str]]:
    """Return language → :func:`catalog` for the chat page, with the Chinese channel, metric and department names
    it shows (``zh_channels``, ``zh_metrics``, ``zh_departments``)."""
    tables: dict[str, Any] = {language: catalog(language) for language in LANGUAGES}
    tables["zh_channels"] = CHANNELS_ZH
    tables["zh_metrics"] = METRICS_ZH
    tables["zh_departments"] = DEPARTMENTS_ZH
    from campaign_planner.render.formatting import CURRENCY_SYMBOLS

    tables["currency_symbols"] = CURRENCY_SYMBOLS
    return tables


def _keep(word: str) -> str:
    return f"「{word}」"


def _zh_attribute(phrase: str) -> str:
    phrase = phrase.strip()
    if phrase in ATTRIBUTES_ZH:
        return ATTRIBUTES_ZH[phrase]
    modifier, _, noun = phrase.partition(" ")
    if noun and noun in ATTRIBUTES_ZH:
        said = MODIFIERS_ZH.get(modifier.lower())
        if said is None:
            return f"{_keep(modifier)}的{ATTRIBUTES_ZH[noun]}"
        return f"{said}{ATTRIBUTES_ZH[noun]}" if len(said) == 1 else f"{said}的{ATTRIBUTES_ZH[noun]}"
    return _keep(phrase)


def zh_attribute(phrase: str) -> str:
    """Return a praised attribute or pain point in Chinese ("gorgeous colour" → "绚丽的颜色"); an unknown
    word stays English inside 「」."""
    phrase = re.sub(r"\s*\(\d+ low-rated reviews?\)$", "", phrase.strip())
    return PAIN_POINTS_ZH.get(phrase) or _zh_attribute(phrase)


_NAME = re.compile(
    r"^(?P<who>.+?) (?P<noun>fans|shoppers)(?:, (?P<lo>\d+)[–-](?P<hi>\d+))?"
    r"(?:, (?:frustrated by (?P<pain>.+?)|who (?P<verb>love|value) the (?P<praise>.+?)))?"
    r"(?: and (?P<extra>[^()]+?))?(?P<letters>(?: \([A-Z]\))*)$"
)


def segment_display_name(name: str, language: str = "en") -> str:
    """Return the segment's name as a plan in ``language`` shows it.

    English: the name itself. Chinese: the segmentation tool's parts rebuilt in Chinese ("Tops fans, 31–35,
    who love the pretty comfort" → "上衣爱好者，31–35 岁，喜爱漂亮的舒适度"); a department or attribute with no
    known translation keeps its English word in 「」; a name not in the tool's form is kept whole in 「」.
    """
    if language != "zh":
        return name
    match = _NAME.match(name.strip())
    if match is None:
        return _keep(name)
    who = "和".join(DEPARTMENTS_ZH.get(d, _keep(d)) for d in match["who"].split(" & "))
    parts = [who + ("爱好者" if match["noun"] == "fans" else "顾客")]
    if match["lo"]:
        parts.append(f"{match['lo']}–{match['hi']} 岁")
    if match["pain"]:
        parts.append("困扰于" + zh_attribute(match["pain"]))
    elif match["praise"]:
        said = ("喜爱" if match["verb"] == "love" else "看重") + _zh_attribute(match["praise"])
        if match["extra"]:
            said += "和" + _zh_attribute(match["extra"])
        parts.append(said)
    letters = "".join(f"（{letter}）" for letter in re.findall(r"[A-Z]", match["letters"] or ""))
    return "，".join(parts) + letters


def channel_label(channel_id: str, english_name: str, language: str = "en") -> str:
    """Return a channel's display name in ``language`` (brand names such as Instagram stay as they are)."""
    return CHANNELS_ZH.get(channel_id, english_name) if language == "zh" else english_name


def metric_label(metric: str, language: str = "en") -> str:
    """Return a forecast metric's name ("incremental_conversions" → "增量转化" in Chinese)."""
    return METRICS_ZH.get(metric, metric) if language == "zh" else metric


def objective_label(objective: str, language: str = "en") -> str:
    """Return a budget objective in ``language`` ("revenue" → "收入")."""
    key = f"objective_{objective}"
    return t(key, language) if key in MESSAGES else objective


# --- the tools' notices, worded from keys and restated in the plan's language --------------------------------

MESSAGES.update(NOTICES)


def notice_values(params: dict[str, Any], language: str, *, channel_name: Any = None,
                  segment_name: Any = None) -> dict[str, Any]:
    """Return a notice's values as ``language`` shows them: amounts named in ``money`` formatted in
    ``money_currency``, channel ids as channel names, segment names as their display names, objectives in
    words, and every ``…_key`` worded from the catalog (nested keys too)."""
    def channel(channel_id: str) -> str:
        return channel_name(channel_id) if channel_name else channel_label(channel_id, channel_id, language)

    shown: dict[str, Any] = dict(params)
    if params.get("money"):  # amounts kept as numbers, shown with the currency symbol the reader knows
        from campaign_planner.render.formatting import format_money

        for name in str(params["money"]).split(","):
            if isinstance(params.get(name), int | float):
                shown[name] = format_money(float(params[name]), str(params.get("money_currency") or ""), language)
    if "channel" in shown:
        shown["channel"] = channel(str(shown["channel"]))
    if "channels" in shown:
        ids = [c.strip() for c in str(shown["channels"]).split(",") if c.strip()]
        shown["channels"] = t("list_separator", language).join(channel(c) for c in ids)
    if "segment" in shown:
        shown["segment"] = segment_name(str(shown["segment"])) if segment_name else segment_display_name(
            str(shown["segment"]), language)
    if "objective" in shown:
        shown["objective"] = objective_label(str(shown["objective"]), language)
    pending = {name: str(key) for name, key in params.items() if name.endswith("_key")}
    for _ in range(len(pending) + 1):  # a key may use another's words ("todo" uses "keep")
        for name, key in list(pending.items()):
            try:
                shown[name[: -len("_key")]] = t(key, language, **shown)
            except KeyError:
                continue
            del pending[name]
    return shown


def notice(key: str, language: str = "en", **params: Any) -> str:
    """Return the notice ``key`` worded in ``language`` from ``params`` (see :func:`notice_values`)."""
    return t(key, language, **notice_values(params, language))


def restated(item: Any, language: str, *, channel_name: Any = None, segment_name: Any = None) -> Any:
    """Return a flag or assumption restated in ``language`` from its key and values; free text (no key) and
    English stay as they are."""
    key = getattr(item, "key", None)
    if language == "en" or not key or key not in MESSAGES or language not in MESSAGES[key]:
        return item
    values = notice_values(item.params, language, channel_name=channel_name, segment_name=segment_name)
    field = "message" if hasattr(item, "message") else "text"
    return item.model_copy(update={field: t(key, language, **values)})


def keyed_flag(code: Any, key: str, **params: str | int | float) -> Any:
    """Return a flag worded in English from ``key``, keeping the key and values for a restatement."""
    from campaign_planner.domain import Flag

    return Flag(code=code, message=notice(key, "en", **params), key=key, params=params)


def keyed_assumption(key: str, confidence: float, **params: str | int | float) -> Any:
    """Return an assumption worded in English from ``key``, keeping the key and values for a restatement."""
    from campaign_planner.domain import Assumption

    return Assumption(text=notice(key, "en", **params), confidence=confidence, key=key, params=params)


class KeyedText(str):
    """A notice worded in English that keeps its catalog key and values (a shop load's warning), so a plan in
    another language can restate it; everywhere else it is the English string."""

    key: str
    params: dict[str, str | int | float]

    def __new__(cls, key: str, **params: str | int | float) -> KeyedText:
        text = super().__new__(cls, notice(key, "en", **params))
        text.key, text.params = key, params
        return text


_NEED = re.compile(r"^(?P<need>.+) \((?P<share>\d+%) mention (?P<attribute>[\w-]+)\)$")
_PAIN = re.compile(r"^(?P<pain>.+) \((?P<count>\d+) low-rated reviews?\)$")


def profile_in_language(profile: Any, language: str) -> Any:
    """Return a segment profile with its needs, praised attributes and pain points worded in ``language`` (the
    segmentation tool words them in English from fixed parts); a phrase with no known translation stays as
    it is. Demographics keep their keys; the department mix names departments in ``language``."""
    if language != "zh":
        return profile

    def need(text: str) -> str:
        found = _NEED.match(text)
        if not found or found["need"] not in NEEDS_ZH:
            return text
        return t("need_share", language, need=NEEDS_ZH[found["need"]], share=found["share"],
                 attribute=ATTRIBUTE_KEYS_ZH.get(found["attribute"], _keep(found["attribute"])))

    def pain(text: str) -> str:
        found = _PAIN.match(text)
        label = found["pain"] if found else text
        said = PAIN_POINTS_ZH.get(label) or zh_attribute(label)
        return t("pain_count", language, pain=said, count=found["count"]) if found else said

    demographics = dict(profile.demographics)
    if isinstance(demographics.get("department_mix"), str):
        demographics["department_mix"] = "，".join(
            re.sub(r"^(.+?) (\d+%)$", lambda m: f"{DEPARTMENTS_ZH.get(m[1], m[1])} {m[2]}", part.strip())
            for part in str(demographics["department_mix"]).split(","))
    return profile.model_copy(update={
        "needs": [need(n) for n in profile.needs],
        "praised_attributes": [zh_attribute(p) for p in profile.praised_attributes],
        "pain_points": [pain(p) for p in profile.pain_points],
        "demographics": demographics,
    })


def department_label(department: str, language: str = "en") -> str:
    """Return a catalogue department ("Dresses") as ``language`` names it ("连衣裙")."""
    return DEPARTMENTS_ZH.get(department, department) if language == "zh" else department


def product_label(product: str, language: str = "en") -> str:
    """Return the brief's product as a plan in ``language`` names it: a Chinese plan of a brief whose product
    was read as departments ("dresses and tops") names them in Chinese; words as written stay."""
    if language != "zh" or not product or not re.fullmatch(r"[a-z]+(?: and [a-z]+)*", product):
        return product
    words = [DEPARTMENTS_ZH.get(word.capitalize()) for word in product.split(" and ")]
    return "和".join(w for w in words if w) if all(words) else product

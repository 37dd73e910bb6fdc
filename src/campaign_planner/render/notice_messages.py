"""The tools' notices in each language: flags, assumptions, open questions, measurement notes, profile lines.

Pure data, merged into :data:`campaign_planner.render.messages.MESSAGES` (one catalog). A tool words a flag
from a key here in English and keeps the key and its values on the flag (``Flag.key``/``Flag.params``); the
plan's assembly restates it in the plan's language (:func:`campaign_planner.render.messages.restated_flag`).

Value names with a meaning the restatement knows: ``channel`` (a channel id, shown by its name in the plan's
language), ``channels`` (ids joined by ", "), ``segment`` (a segment's English name, shown as its display
name), ``objective`` (a forecast objective), and any ``…_key`` (another key here, worded with the same
values and passed as the name without ``_key``), and the amounts named in ``money`` (numbers, shown in
``money_currency`` with the symbol the plan's reader knows). Ratios are formatted before they are stored.
"""

from __future__ import annotations

NOTICES: dict[str, dict[str, str]] = {
    # --- reading the brief (agents/brief_parser.py): flags, assumptions, and the questions it asks ---
    "brief_ambiguous_amount": {
        "en": "“{written}” can be read as {readings}; it is not used until confirmed.",
        "zh": "“{written}”可以理解为 {readings_zh}；确认之前不使用。"},
    "ask_ambiguous_amount": {"en": "Does “{written}” mean {readings}?", "zh": "“{written}”是指 {readings_zh} 吗？"},
    "brief_missing_budget": {"en": "The brief gives no budget.", "zh": "简报没有给出预算。"},
    "ask_budget": {"en": "What is the total budget for this campaign, and in which currency?",
                   "zh": "这次活动的总预算是多少？用哪种货币？"},
    "brief_ambiguous_budget": {
        "en": "The budget “{written}” can be read as {readings} {currency}; the plan carries no spend or forecast "
              "figures until it is confirmed.",
        "zh": "预算“{written}”可以理解为 {readings_zh} {currency}；确认之前，方案不给出投入和预测数字。"},
    "ask_ambiguous_budget": {"en": "Is the budget “{written}” {readings} {currency}?",
                             "zh": "预算“{written}”是 {readings_zh} {currency} 吗？"},
    "brief_invalid_budget": {
        "en": "The brief's budget is {amount} {currency}; a budget must be positive, so the plan carries no spend "
              "or forecast figures.",
        "zh": "简报的预算是 {amount} {currency}；预算必须为正数，因此方案不给出投入和预测数字。"},
    "ask_positive_budget": {"en": "What is the campaign's total budget (a positive amount)?",
                            "zh": "这次活动的总预算是多少（正数）？"},
    "assume_budget_currency": {"en": "The budget is read as {currency}; the brief names no currency.",
                               "zh": "简报没有写明货币，预算按 {currency} 理解。"},
    "assume_yuan": {"en": "元 is read as Chinese yuan (CNY); in Taiwan or Hong Kong it may mean TWD or HKD.",
                    "zh": "“元”按人民币（CNY）理解；在台湾或香港也可能指新台币（TWD）或港币（HKD）。"},
    "ask_yuan": {"en": "Is the budget in Chinese yuan (CNY), New Taiwan dollars (TWD) or Hong Kong dollars (HKD)?",
                 "zh": "预算是人民币（CNY）、新台币（TWD）还是港币（HKD）？"},
    "ask_mixed_currencies": {"en": "The brief names amounts in {currency} and {others}: is the total budget "
                                   "{amount} {currency}?",
                             "zh": "简报中的金额有 {currency} 也有 {others}：总预算是 {amount} {currency} 吗？"},
    "assume_four_weeks": {"en": "The brief gives no campaign length; a 4-week flight is assumed.",
                          "zh": "简报没有给出活动时长；按 4 周计划。"},
    "ask_weeks": {"en": "How many weeks should the campaign run?", "zh": "活动要进行几周？"},
    "ask_duration_range": {"en": "The brief gives a range ({range}): the plan uses {used}; is that right?",
                           "zh": "简报给出的是一个范围（{range}）：方案按 {used} 计划，对吗？"},
    "ask_durations": {"en": "The brief states more than one length ({lengths}): is it {used}?",
                      "zh": "简报写了不止一个时长（{lengths}）：是 {used} 吗？"},
    "assume_whole_weeks": {
        "en": "{written} ({days} days, {weeks_exact} weeks) is planned as {weeks} whole week{plural}: the response "
              "curves work in weeks.",
        "zh": "{written}（{days} 天，{weeks_exact} 周）按 {weeks} 个整周计划：响应曲线以周为单位。"},
    "brief_unknown_channel": {
        "en": "'{name}' is not a channel in the catalog; it gets no budget. Closest catalog channels: {channels}.",
        "zh": "“{name}”不在渠道目录中，不分配预算。最接近的目录渠道：{channels}。"},
    "ask_unknown_channel": {
        "en": "'{name}' is not in the channel catalog: drop it, use one of {channels}, or add it to the shop's "
              "channels.yaml?",
        "zh": "“{name}”不在渠道目录中：去掉它、改用{channels}之一，还是把它加入店铺的 channels.yaml？"},
    "ask_only_unknown_channels": {
        "en": "The brief restricts the campaign to channels the catalog does not have, so nothing is spent: which "
              "catalog channels may the budget go to?",
        "zh": "简报把活动限定在渠道目录没有的渠道上，因此没有投入：预算可以投到目录中的哪些渠道？"},
    "brief_asked_and_excluded": {
        "en": "The brief both asks for and excludes: {channels}; they are treated as excluded.",
        "zh": "简报既要求又排除了：{channels}；按排除处理。"},
    "brief_reversed_ages": {"en": "The age range {low}–{high} is reversed; it is read as {high}–{low}.",
                            "zh": "年龄范围 {low}–{high} 写反了；按 {high}–{low} 理解。"},
    "brief_empty": {"en": "The brief is empty.", "zh": "简报是空的。"},
    "brief_bound_reversed": {"en": "{channel}: minimum {minimum} is above maximum {maximum}.",
                             "zh": "{channel}：最低投入 {minimum} 高于最高投入 {maximum}。"},
    "brief_excluded_bound": {"en": "{channel} is excluded but also given a spend bound.",
                             "zh": "{channel}被排除了，却又设了投入上下限。"},
    "brief_minimums_over_budget": {
        "en": "The channel minimums add up to {minimums} {currency}, above the total budget of {total} {currency}.",
        "zh": "各渠道的最低投入合计 {minimums} {currency}，超过总预算 {total} {currency}。"},
    "ask_minimums_over_budget": {"en": "The channel minimums exceed the total budget: raise the budget or lower a "
                                       "minimum?",
                                 "zh": "各渠道的最低投入超过了总预算：提高预算，还是降低某个最低投入？"},
    # --- the channel optimizer's flags (tools/channel_optimizer.py, graphs/figures.py) ---
    # {converted} is empty where the optimizer states the flag in the shop's currency, and says which currency
    # the figures were converted from where the plan restates them in its own (graphs/figures.py).
    "flag_no_break_even": {
        "en": "{channel}: at no spend does one more unit return more than it costs (marginal {measure} {marginal} "
              "at {spend}){converted}",
        "zh": "{channel}：在任何投入水平上，多投一单位的回报都不及成本"
              "（投入 {spend} 时边际{measure_zh}为 {marginal}）{converted}"},
    "flag_saturated": {
        "en": "{channel}: {spend} over {weeks} weeks is past diminishing returns — the marginal ROI falls below 1 "
              "at {limit}; the last unit returns {marginal}{converted}",
        "zh": "{channel}：{weeks} 周投入 {spend} 已过收益递减点——投入超过 {limit} 后边际 ROI 低于 1；"
              "最后一单位的回报为 {marginal}{converted}"},
    "flag_converted_from": {"en": " (converted from the shop's {currency})", "zh": "（由店铺的 {currency} 换算）"},
    "flag_prior_curve": {
        "en": "{channel}: no channel history, so its {objective} forecast uses the catalog prior curve "
              "(wide intervals)",
        "zh": "{channel}：没有该渠道的投放历史，其{objective}预测使用渠道目录的先验曲线（区间很宽）"},
    "flag_extrapolated": {
        "en": "{channel}: {weekly} per week is beyond the largest weekly spend in the history ({observed}); the "
              "curve is extrapolated",
        "zh": "{channel}：每周 {weekly} 超出历史上最大的周投入（{observed}）；响应曲线是外推的"},
    "flag_weak_fit": {
        "en": "the response model explains little of the held-out weeks (R² {r2} on the last {holdout} weeks): "
              "fitted curves for {channels} are uncertain",
        "zh": "响应模型对留出周的解释力很弱（最后 {holdout} 周的 R² 为 {r2}）：{channels}的拟合曲线不确定"},
    # --- negative ROI on a funded channel (graphs/figures.py) ---
    "flag_negative_roi": {
        "en": "{channel}: forecast ROI down to {worst} ({segments}) on {spend}; it is funded because {why}. "
              "To do: {todo}.",
        "zh": "{channel}：投入 {spend} 的预测 ROI 低至 {worst}（{segments}）；仍获得预算，因为{why}。建议：{todo}。"},
    "why_uplift_lowers": {"en": "the uplift model finds the campaign lowers purchases in these segments",
                          "zh": "提升模型发现活动会降低这些细分人群的购买"},
    "todo_leave_out": {"en": "leave {segments} out of {channel}", "zh": "在{channel}上不投放 {segments}"},
    "why_reach_beyond": {
        "en": "its spend was set on the response curve, which counts everyone the spend reaches ({reached} "
              "{unit}), while the segments' own {customers} customers are forecast to return {returned}",
        "zh": "其投入按响应曲线确定，曲线计入投放触达的所有人（{reached} {unit}），而细分人群自己的 {customers} "
              "位顾客预计只带来 {returned}"},
    "todo_segments_only": {
        "en": "budget {channel} for the segments' customers only and move the rest, or keep it as reach beyond "
              "the segments and prove it with the holdout test below",
        "zh": "只按细分人群的顾客为{channel}做预算并把其余挪走，"
              "或把它当作细分人群之外的触达保留，并用下面的留出测试验证"},
    "keep_recommended": {"en": "spend the recommended {recommended} on it (recommended total {recommended_total})",
                         "zh": "只投入建议的 {recommended}（建议总额 {recommended_total}）"},
    "keep_cut": {"en": "cut its spend or test it before scaling", "zh": "削减投入，或先测试再放量"},
    "why_brief_minimum": {"en": "the brief sets a minimum of {minimum} on it", "zh": "简报为它设定了 {minimum} 的下限"},
    "todo_lower_minimum": {"en": "lower or drop that minimum, or {keep}", "zh": "降低或取消该下限，或{keep}"},
    "why_catalog_minimum": {"en": "the catalog sets a minimum spend on it", "zh": "渠道目录为它设定了最低投入"},
    "why_min_share": {"en": "every channel of the brief gets at least a minimum share of the budget",
                      "zh": "简报中的每个渠道都至少分到预算的最低占比"},
    "todo_drop_channel": {"en": "drop the channel from the brief, or {keep}", "zh": "从简报中去掉该渠道，或{keep}"},
    "why_spend_all": {"en": "the brief asks for the whole budget to be spent", "zh": "简报要求花完全部预算"},
    "todo_reconsider_all": {"en": "reconsider spending it all, or {keep}", "zh": "重新考虑是否花完全部预算，或{keep}"},
    "why_split_past_returns": {
        "en": "the whole budget is split across the channels, past where returns cover the cost",
        "zh": "全部预算分配到各渠道，已超过回报能覆盖成本的程度"},
    "todo_keep": {"en": "{keep}", "zh": "{keep}"},
    # --- copy fallbacks (agents/copywriter.py) ---
    "flag_copy_template": {
        "en": "Copy for segment '{segment}' on {channel_name} is template copy (fallback — the model's output was "
              "unusable: {reason}).{still_failing}",
        "zh": "「{segment}」在{channel}上的文案是模板文案（模型的输出无法使用，已回退为模板）。{still_failing_zh}"},
    "flag_copy_repaired": {
        "en": "Copy for segment '{segment}' on {channel_name} is partly a deterministic fallback: after one model "
              "repair the variants still broke {rules}; they were repaired mechanically{templated}.{still_failing}",
        "zh": "「{segment}」在{channel}上的文案部分是确定性回退：模型修改一次后仍违反 {rules}，已按规则机械修复"
              "{templated_zh}。{still_failing_zh}"},
    "copy_templated_count": {"en": " ({count} replaced by template copy)", "zh": "（其中 {count} 条换成了模板文案）"},
    "copy_still_failing": {"en": " Still failing: {rules_failing}.", "zh": "仍未通过：{rules_failing}。"},
    # --- the rationale and risks the assembly states (graphs/assembly.py) ---
    "rationale_target_top": {
        "en": "For {channel}, prioritise the top {share} of customers by predicted uplift: {reason}",
        "zh": "在{channel}上，按预测提升优先触达前 {share} 的顾客：这部分顾客提升的 95% 区间整体高于全体顾客的提升"
              "（数字见定向表）"},
    "rationale_send_to_all": {
        "en": "For {channel}, send to the whole audience: ranking by predicted uplift showed no reliable gain",
        "zh": "在{channel}上，发送给全部受众：按预测提升排序没有显示出可靠的增益"},
    "rationale_left_out": {
        "en": "Left out {channels}: with the mix open, the optimum gave them only the minimum share, so their "
              "marginal return is below the other channels'",
        "zh": "未选用{channels}：在渠道组合不限的情况下，最优分配只给了它们最低占比，其边际回报低于其他渠道"},
    "risk_cross_check": {
        "en": "{channel}: the budget table's figure is the forecast lines' {expected} {unit} (uplift model); the "
              "response curve says {curve} — {reason}",
        "zh": "{channel}：预算表采用预测明细的 {expected} {unit}（提升模型）；响应曲线给出的是 {curve}，"
              "两者的差别见交叉核对"},
    "flag_scaled_to_segment": {
        "en": "{channels}: the segment filters ({filters}) are not campaign-history features and the reviews carry "
              "no customer_id joining reviewers to history customers, so each segment's forecast is the whole "
              "history's lift per customer x the segment's measured size (reviewers matching it: {sizes}); add "
              "customer_id to reviews.csv for segment-specific lifts",
        "zh": "{channels}：细分人群的筛选条件不是活动历史中的特征，评论也没有把评论者和历史顾客对应起来的 customer_id，"
              "因此每个细分人群的预测是整段历史的人均提升 × 该人群的实测规模（匹配的评论者：{sizes}）；"
              "在 reviews.csv 中加入 customer_id 才能得到各细分人群自己的提升"},
    "curve_prior": {"en": "the catalog's prior response curve", "zh": "渠道目录的先验响应曲线"},
    "curve_fitted": {"en": "the response curve fitted on the weekly channel history",
                     "zh": "按每周渠道历史拟合的响应曲线"},
    "cross_check_reason": {
        "en": "{curve} counts everyone the spend reaches over the campaign; the figure of record comes from the "
              "uplift model of the randomised campaign history on the segments' own {customers} customers, which "
              "does not depend on the spend. Use the curve's figure ({figure} {unit}) only as a cross-check of "
              "scale.",
        "zh": "{curve}计入整个活动期间投放触达的所有人；采用的数字来自随机化活动历史的提升模型，只计细分人群自己的 "
              "{customers} 位顾客，与投入多少无关。曲线给出的数字（{figure} {unit}）只用于核对量级。"},
    # --- the model's narrative, vetted against the tools (graphs/summary.py, graphs/graph.py) ---
    "flag_summary_vetted": {
        "en": "{dropped} sentence(s) of the model's summary were removed: {reasons}. The summary's figures are the "
              "plan's tables'.",
        "zh": "模型撰写的摘要中有 {dropped} 句被删除：{reasons_zh}。摘要中的数字以方案的表格为准。"},
    "vet_misattributed": {
        "en": "{n} stated a figure that is not the tools' figure for the channel or segment it names (or a total "
              "no tool produced)",
        "zh": "{n} 句写出的数字不是工具对其所述渠道或细分人群给出的数字（或是没有工具算出的总数）"},
    "vet_cut": {"en": "{n} was cut off mid-sentence", "zh": "{n} 句在中途被截断"},
    "vet_repeated": {"en": "{n} repeated a figure the summary already states", "zh": "{n} 句重复了摘要已给出的数字"},
    "vet_other_language": {"en": "{n} was not written in the plan's language", "zh": "{n} 句不是用方案的语言写的"},
    "flag_narrative_vetted": {"en": "{summary}{items}", "zh": "{summary}{items}"},
    "flag_summary_kept": {"en": "The model's summary was kept whole.", "zh": "模型撰写的摘要完整保留。"},
    "flag_items_vetted": {
        "en": " {items_count} rationale or risk item(s) stated a figure that is not the tools' figure for what "
              "they name, or were not written in the plan's language, and were removed.",
        "zh": "另有 {items_count} 条理由或风险写出的数字不是工具对其所述对象给出的数字，"
              "或不是用方案的语言写的，已删除。"},
    "flag_narrative_unusable": {
        "en": "The model's summary and rationale were unusable ({error}); the plan shows a summary built from the "
              "tool outputs alone.",
        "zh": "模型撰写的摘要和理由无法使用；方案显示的是仅由工具输出生成的摘要。"},
    # --- the shop's data (data/channel_checks.py), as data_quality flags ---
    "flag_data_quality": {"en": "{file}: {warning}", "zh": "{file}：{warning}"},
    "warn_scaled_spend": {
        "en": "spend_{channel} never exceeds {limit} (largest weekly value {largest}): it looks scaled (e.g. to "
              "0-1), not money in the shop's currency. Its response curve is not fitted from this history (the "
              "catalog prior is used), so a budget in currency is never read against scaled units; export spend "
              "in currency to use it",
        "zh": "{channel}的投入从未超过 {limit}（最大周值 {largest}）：看起来是缩放后的数值（如 0–1），而不是店铺货币"
              "金额。其响应曲线不从这段历史拟合（改用渠道目录的先验），以免把货币预算套在缩放单位上；"
              "请以货币金额导出投入后再使用"},
    "warn_spacing": {"en": "{problem}; response curves are not fitted from it (catalog priors are used)",
                     "zh": "{problem}；响应曲线不从中拟合（改用渠道目录的先验）"},
    "warn_few_periods": {
        "en": "only {periods} periods: response curves need at least {needed} weeks, so every channel will use "
              "its catalog prior",
        "zh": "只有 {periods} 个周期：响应曲线至少需要 {needed} 周，因此每个渠道都将使用渠道目录的先验"},
    "warn_few_active_weeks": {
        "en": "{column} has spend in only {active} weeks (a curve needs {needed}): that channel will use its "
              "catalog prior",
        "zh": "{column} 只有 {active} 周有投入（拟合曲线需要 {needed} 周）：该渠道将使用渠道目录的先验"},
    "warn_revenue_per_spend": {
        "en": "revenue is {ratio}x total spend over the history: spend may be in thousands or scaled rather than "
              "in the shop's currency; check the units before trusting ROI figures",
        "zh": "历史收入是总投入的 {ratio} 倍：投入可能以千为单位或经过缩放，而不是店铺货币金额；"
              "在采信 ROI 数字前请核对单位"},
    # --- assumptions and open questions (tools/registry.py, tools/forecaster.py) ---
    "assume_fx": {
        "en": "The shop's history is in {shop_currency} and the brief in {currency}: response curves and "
              "forecasts are converted at 1 {currency} = {rate} {shop_currency} ({source}).",
        "zh": "店铺的历史数据以 {shop_currency} 计，简报以 {currency} 计：响应曲线和预测按 1 {currency} = "
              "{rate} {shop_currency} 换算（{source_zh}）。"},
    "fx_source_reference": {"en": "approximate 2025 reference rates packaged with Campaign Planner, not live quotes",
                            "zh": "Campaign Planner 随附的 2025 年近似参考汇率，不是实时报价"},
    "flag_no_rate": {
        "en": "No conversion rate from {currency} to the shop's {shop_currency} ({error}): the budget is not split "
              "and no spend is forecast until a rate is given.",
        "zh": "没有从 {currency} 到店铺货币 {shop_currency} 的汇率：给出汇率之前，预算不做分配，也不预测投入效果。"},
    "question_rate": {"en": "What rate converts {currency} to {shop_currency} for this plan?",
                      "zh": "本方案应按什么汇率把 {currency} 换算成 {shop_currency}？"},
    "question_fx": {"en": "Confirm the {currency}/{shop_currency} rate used to apply the shop's history.",
                    "zh": "请确认套用店铺历史数据时使用的 {currency}/{shop_currency} 汇率。"},
    "assume_aov": {
        "en": "Average order value {aov} {currency}: {source}, not declared; it turns conversions into revenue "
              "in this forecast",
        "zh": "平均客单价 {aov} {currency}：{source_zh}，并非店铺申报；本预测用它把转化折算成收入"},
    "aov_estimated": {"en": "estimated from the mean revenue of {converters} converters in campaign history",
                      "zh": "由活动历史中 {converters} 位转化者的平均收入估算"},
    "aov_estimate_plain": {"en": "estimated", "zh": "估算值"},
    # --- the budget's recommendation (graphs/figures.py, tools/budget_frontier.py) ---
    "recommend_all": {"en": "Spend the whole budget of {total}: {note}.", "zh": "花完全部预算 {total}：{note}。"},
    "recommend_part": {
        "en": "Recommended: spend {recommended} of the {total} budget — {note}{rest}. The table splits the whole "
              "budget (allocations always sum to it); the recommended spend is what to commit now.",
        "zh": "建议：在 {total} 的预算中投入 {recommended}——{note}{rest}。表格按全部预算分配（各渠道之和等于预算）；"
              "建议投入额是现在就该确定的部分。"},
    "recommend_rest": {"en": "; the remaining {rest} would add only {returned} {unit} on the response curves",
                       "zh": "；其余 {rest} 按响应曲线只会再带来 {returned} {unit}"},
    "recommend_rest_roi": {"en": " (ROI {roi})", "zh": "（ROI {roi}）"},
    "recommend_none": {"en": "No recommended total: {note}", "zh": "没有建议总额：{note}"},
    "note_spend_all": {"en": "the brief asks for the whole budget to be spent", "zh": "简报要求花完全部预算"},
    "note_returns_cover": {"en": "the marginal ROI stays at or above 1 up to the budget",
                           "zh": "直到预算上限，边际 ROI 都不低于 1"},
    "note_no_total_returns": {"en": "no total spend returns its cost on these curves",
                              "zh": "按这些响应曲线，任何总投入都收不回成本"},
    "note_best_split_falls": {"en": "the marginal ROI of the best split falls below 1 past this total",
                              "zh": "超过这个总额后，最优分配的边际 ROI 低于 1"},
    "note_no_money_value": {"en": "no money value per outcome unit: the whole budget is the recommendation",
                            "zh": "每单位成果没有货币价值：建议即为全部预算"},
    "note_roi_unknown": {"en": "ROI cannot be stated", "zh": "无法给出 ROI"},
    "note_falls_below": {"en": "the marginal ROI falls below 1 past it", "zh": "超过该金额后边际 ROI 低于 1"},
    "note_default_cover": {"en": "returns cover the cost up to it", "zh": "在该金额以内回报能覆盖成本"},
    # --- the measurement design (tools/measurement.py) ---
    "m_customer_holdout_forecast": {
        "en": "randomised customer holdout: hold back a random share of every segment from this channel and "
              "compare conversion rates",
        "zh": "随机顾客留出：从每个细分人群中随机留出一部分顾客不接触该渠道，比较两组的转化率"},
    "m_customer_holdout": {"en": "randomised customer holdout", "zh": "随机顾客留出"},
    "m_geo_holdout": {
        "en": "geo holdout: run in matched regions and hold out the others (or the platform's conversion-lift "
              "study), since paid reach cannot be randomised per customer",
        "zh": "地区留出：在匹配的地区投放、留出其余地区（或使用平台的转化提升研究），因为付费触达无法按顾客随机分配"},
    "m_assumed_sizing": {
        "en": "; sized on an assumed {lift} relative lift over a {baseline} conversion rate (no customer-level "
              "history for this channel)",
        "zh": "；按假设的 {lift} 相对提升、{baseline} 的转化率确定规模（该渠道没有顾客级历史）"},
    "m_geo_power": {
        "en": "; its power depends on the number of matched regions and their week-to-week variation, so no "
              "customer-level sample size is given: hold out at least a fifth of comparable regions for the "
              "whole campaign",
        "zh": "；其检验力取决于匹配地区的数量及其每周波动，因此不给出顾客级样本量："
              "整个活动期间至少留出五分之一的可比地区"},
    "m_design_measured": {
        "en": "holdout per channel: hold back a random share of each segment (or of regions) from the campaign",
        "zh": "按渠道留出：从每个细分人群（或地区）中随机留出一部分不参与活动"},
    "m_design_fallback": {
        "en": "geo or time-based holdout (no customer-level history for these channels): assumes a {lift} "
              "relative lift over a {baseline} baseline conversion rate",
        "zh": "地区或时段留出（这些渠道没有顾客级历史）：假设在 {baseline} 的基础转化率上有 {lift} 的相对提升"},
    "m_per_channel": {"en": "; per channel: {tests}", "zh": "；各渠道：{tests}"},
    "m_channel_design": {"en": "{channel} {design}", "zh": "{channel}{design}"},
    "m_customer_holdout_design": {"en": "customer holdout", "zh": "顾客留出"},
    "m_geo_holdout_design": {"en": "geo holdout", "zh": "地区留出"},
    # --- the profile's lines (render/markdown.py, the HTML report, the chat page via Segment.display_profile) ---
    "need_share": {"en": "{need} ({share} mention {attribute})", "zh": "{need}（{share} 提到{attribute}）"},
    "pain_count": {"en": "{pain} ({count} low-rated reviews)", "zh": "{pain}（{count} 条低分评论）"},
    "def_age": {"en": "age {lo}–{hi}", "zh": "年龄 {lo}–{hi} 岁"},
    "def_age_min": {"en": "age {lo}+", "zh": "{lo} 岁及以上"},
    "def_age_max": {"en": "age up to {hi}", "zh": "{hi} 岁及以下"},
    "def_departments": {"en": "departments: {departments}", "zh": "品类：{departments}"},
    "def_rating": {"en": "rating {lo}–{hi} stars", "zh": "评分 {lo}–{hi} 星"},
    "demo_reviews_clustered": {"en": "reviews clustered: {value}", "zh": "聚类的评论：{value} 条"},
    "demo_age_median": {"en": "median age {value}", "zh": "年龄中位数 {value} 岁"},
    "demo_age_range": {"en": "ages {value}", "zh": "年龄 {value} 岁"},
    "demo_department_mix": {"en": "department mix: {value}", "zh": "品类构成：{value}"},
    "demo_recommend_rate": {"en": "would recommend: {value}", "zh": "愿意推荐：{value}"},
}

/* Campaign Planner chat. Vanilla JavaScript, no dependency, no build step.
 *
 * It is a client of the HTTP API (docs/api.md): POST /threads, POST /threads/{id}/runs, GET /runs/{id}/stream
 * (server-sent events read with fetch, since EventSource cannot send the X-API-Key header), POST
 * /runs/{id}/resume (approve / reject / revise), GET /runs/{id}/report (the HTML report, shown in a sandboxed
 * frame). Every value from a plan, a review or the user is put on the page as text (textContent / text
 * nodes), never parsed as markup.
 */
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const KEY_STORAGE = "campaign-planner-chat-key";
  const state = {
    key: null,
    threadId: null,
    runId: null,
    status: null,
    plan: null,
    planCard: null,
    busy: false,
    lastEventId: {},
    messages: null,
  };

  // --- the message catalog (render/messages.py, served as /chat/messages.json) -----------------------------

  // The plan's language where the catalog has it, else the browser's.
  function planLanguage(plan) {
    const tables = state.messages || {};
    const code = plan && plan.brief ? plan.brief.language : null;
    if (code && tables[code]) return code;
    return (navigator.language || "en").toLowerCase().startsWith("zh") && tables.zh ? "zh" : "en";
  }

  // L(lang, key, {n: 3}): the catalog's text with its {placeholders} filled; the key itself if the catalog
  // did not load (the page still works, in the catalog's words once it does).
  function L(lang, key, vars) {
    const tables = state.messages || {};
    const text = (tables[lang] && tables[lang][key]) || (tables.en && tables.en[key]) || key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (vars && name in vars ? String(vars[name]) : whole));
  }

  const channelLabel = (lang, id) =>
    (lang === "zh" && state.messages && state.messages.zh_channels && state.messages.zh_channels[id]) || id;
  // A Chinese plan names a product read as departments ("dresses and tops") in Chinese
  // (render/messages.product_label); words as the brief wrote them stay.
  const productLabel = (lang, product) => {
    const departments = (state.messages && state.messages.zh_departments) || {};
    if (lang !== "zh" || !/^[a-z]+(?: and [a-z]+)*$/.test(product || "")) return product;
    const words = product.split(" and ").map((w) => departments[w.charAt(0).toUpperCase() + w.slice(1)]);
    return words.every(Boolean) ? words.join("和") : product;
  };

  // The page's own labels (data-msg, data-msg-placeholder in index.html) in ``lang``.
  function labelPage(lang) {
    document.documentElement.lang = lang;
    for (const node of document.querySelectorAll("[data-msg]")) node.textContent = L(lang, node.dataset.msg);
    for (const node of document.querySelectorAll("[data-msg-placeholder]")) {
      node.placeholder = L(lang, node.dataset.msgPlaceholder);
    }
  }

  async function loadMessages() {
    try {
      const response = await fetch("/chat/messages.json");
      if (response.ok) state.messages = await response.json();
    } catch (_) {
      state.messages = null;
    }
  }

  // --- DOM helpers (text only) ---------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.toLowerCase().startsWith("on")) throw new Error("no inline handlers");
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function scrollDown() {
    const log = $("log");
    log.scrollTop = log.scrollHeight;
  }

  function add(node) {
    $("log").append(node);
    scrollDown();
    return node;
  }

  const addUser = (text) => add(el("div", { class: "message user" }, text));
  const addNotice = (text) => add(el("div", { class: "message system notice" }, text));
  const addError = (text) => add(el("div", { class: "message error", role: "alert" }, text));

  // --- formatting ----------------------------------------------------------------------------------------

  // Money as the report writes it (render/formatting.format_money): the symbol the plan's reader knows
  // ("CN¥" in English, "¥" in Chinese; the server's table), else the amount and the ISO code.
  function money(value, currency, lang) {
    if (value === null || value === undefined) return "—";
    const code = (currency || "").toUpperCase();
    const symbols = (state.messages && state.messages.currency_symbols) || {};
    const symbol = (symbols[lang || state.moneyLanguage || "en"] || symbols.en || {})[code];
    const amount = number(Math.abs(value));
    if (symbol) return `${value < 0 ? "-" : ""}${symbol}${amount}`;
    return `${value < 0 ? "-" : ""}${amount} ${code}`.trim();
  }

  function number(value, digits = 0) {
    if (value === null || value === undefined || Number.isNaN(value)) return "—";
    return Number(value).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  }

  const percent = (value, digits = 0) =>
    value === null || value === undefined ? "—" : `${(value * 100).toFixed(digits)}%`;

  function signedMoney(value, currency) {
    if (!value) return money(0, currency);
    return (value > 0 ? "+" : "−") + money(Math.abs(value), currency);
  }

  function table(headers, rows, numeric = []) {
    const head = el("tr", {}, headers.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : null }, h)));
    const body = rows.map((row) => {
      const cells = row.cells || row;
      return el("tr", { class: row.className || null },
        cells.map((cell, i) => el("td", { class: numeric.includes(i) ? "num" : null }, cell)));
    });
    return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
  }

  function section(title, content, open) {
    return el("details", { open: open || null }, el("summary", {}, el("h3", {}, title)), content);
  }

  // --- API -------------------------------------------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { "X-API-Key": state.key || "" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const error = new Error((data && data.detail) || `${response.status} ${response.statusText}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function parseEvent(block) {
    let name = "message";
    let data = "";
    let id = null;
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") name = value;
      else if (field === "data") data += (data ? "\n" : "") + value;
      else if (field === "id") id = Number(value);
    }
    if (!data) return null;
    try {
      return { name, data: JSON.parse(data), id };
    } catch (_) {
      return null;
    }
  }

  /** Read the run's server-sent events until the stream ends; resumes after the last event seen. */
  async function stream(runId, onEvent) {
    const headers = { "X-API-Key": state.key || "" };
    if (state.lastEventId[runId] !== undefined) headers["Last-Event-ID"] = String(state.lastEventId[runId]);
    const response = await fetch(`/runs/${encodeURIComponent(runId)}/stream`, { headers });
    if (!response.ok || !response.body) throw new Error(`the progress stream failed (${response.status})`);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let cut = buffer.indexOf("\n\n");
      while (cut >= 0) {
        const event = parseEvent(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
        if (event) {
          if (event.id !== null && !Number.isNaN(event.id)) state.lastEventId[runId] = event.id;
          onEvent(event.name, event.data);
        }
        cut = buffer.indexOf("\n\n");
      }
    }
  }

  // --- progress --------------------------------------------------------------------------------------------

  function progressBubble(title) {
    const list = el("ol");
    const head = el("div", { class: "head" }, title);
    const box = add(el("div", { class: "message system progress" }, head, list));
    head.addEventListener("click", () => box.classList.toggle("open"));
    const item = (text, kind) => {
      list.append(el("li", { class: kind || null }, text));
      scrollDown();
    };
    return {
      step(data) {
        if (data.step === "tool") {
          const who = data.caller === "planner" ? "chosen by the planner agent"
            : data.caller === "revise" ? "for your follow-up" : "filled in by the completeness guard";
          item(`→ ${data.tool} (${who})`, "tool");
        } else {
          item(data.message || data.step);
        }
      },
      node(name) {
        item(`✓ ${name}`, "done");
      },
      finish() {
        box.classList.add("finished");
      },
    };
  }

  // --- the plan --------------------------------------------------------------------------------------------

  // Segment names as the plan's language shows them (display_name in a Chinese plan, else the tool's name).
  const segmentName = (s) => s.display_name || s.name;
  // A Chinese plan carries the profile worded in Chinese beside the tool's English one.
  const shownProfile = (s) => s.display_profile || s.profile;
  const segmentNames = (plan) => Object.fromEntries(plan.segments.map((s) => [s.id, segmentName(s)]));

  function flagsBox(flags, lg) {
    return el("div", { class: "flags" },
      el("strong", {}, L(lg, "flags_heading", { n: flags.length })),
      el("ul", {}, flags.map((f) => el("li", {}, el("span", { class: "flag-code" }, f.code), f.message))));
  }

  // An outcome with its unit: money when the unit is a currency code, else "1,234 conversions".
  function outcome(value, unit) {
    if (value === null || value === undefined) return "—";
    return /^[A-Z]{3}$/.test(unit || "") ? money(value, unit) : `${number(value)} ${unit || ""}`.trim();
  }

  function svgEl(tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
    for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return node;
  }

  // The efficient frontier (best outcome against total spend), budget and recommendation marked. Built from
  // the plan JSON with DOM calls only, like every other section: nothing is parsed as markup.
  function frontierChart(budget, lg) {
    const points = (budget.frontier || []).slice().sort((a, b) => a.spend - b.spend);
    if (points.length < 2) return null;
    const width = 520, height = 220, left = 70, right = 16, top = 24, bottom = 36;
    const maxSpend = Math.max(points[points.length - 1].spend, budget.total) || 1;
    const maxOutcome = Math.max(...points.map((p) => p.outcome)) * 1.1 || 1;
    const x = (spend) => left + (spend / maxSpend) * (width - left - right);
    const y = (value) => height - bottom - (Math.min(value, maxOutcome) / maxOutcome) * (height - top - bottom);
    const at = (spend) => {
      let i = points.findIndex((p) => p.spend >= spend);
      if (i <= 0) return points[Math.max(i, 0)].outcome;
      const a = points[i - 1], b = points[i], w = (spend - a.spend) / ((b.spend - a.spend) || 1);
      return a.outcome + w * (b.outcome - a.outcome);
    };
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
      class: "frontier-chart", "aria-label": L(lg, "chart_frontier") });
    svg.append(svgEl("text", { x: 6, y: 14, fill: "#555", "font-size": 11 },
      `${L(lg, "chart_frontier")} (${budget.outcome_unit || L(lg, `objective_${budget.objective}`)})`));
    svg.append(svgEl("line", { x1: left, x2: width - right, y1: y(0), y2: y(0), stroke: "#888" }));
    svg.append(svgEl("line", { x1: left, x2: left, y1: top, y2: y(0), stroke: "#888" }));
    svg.append(svgEl("polyline", { points: points.map((p) => `${x(p.spend)},${y(p.outcome)}`).join(" "),
      fill: "none", stroke: "#2f6fde", "stroke-width": 2 }));
    if (budget.objective === "revenue") {
      const end = Math.min(maxSpend, maxOutcome);
      svg.append(svgEl("line", { x1: x(0), y1: y(0), x2: x(end), y2: y(end), stroke: "#999", "stroke-dasharray": "5 4" }));
    }
    const marks = [[L(lg, "chart_budget"), budget.total, "#d0504f"]];
    if (budget.recommended_total !== null && budget.recommended_total < budget.total - 0.005) {
      marks.push([L(lg, "chart_recommended"), budget.recommended_total, "#2a9d6f"]);
    }
    marks.forEach(([name, spend, color], index) => {
      const value = at(spend);
      svg.append(svgEl("line", { x1: x(spend), x2: x(spend), y1: top, y2: y(0), stroke: color, "stroke-dasharray": "4 3" }));
      svg.append(svgEl("circle", { cx: x(spend), cy: y(value), r: 4, fill: color }));
      const anchor = x(spend) > width / 2 ? "end" : "start";
      svg.append(svgEl("text", { x: x(spend) + (anchor === "end" ? -6 : 6), y: top + 12 + 14 * index, fill: color,
        "font-size": 11, "text-anchor": anchor },
        `${name}: ${money(spend, budget.currency)} → ${outcome(value, budget.outcome_unit)}`));
    });
    svg.append(svgEl("text", { x: width - right, y: height - 8, fill: "#555", "font-size": 11, "text-anchor": "end" },
      L(lg, "chart_total_spend_up_to", { spend: money(maxSpend, budget.currency) })));
    return svg;
  }

  function budgetSection(plan) {
    const lg = planLanguage(plan);
    const budget = plan.budget;
    if (!budget) return el("p", { class: "muted" }, L(lg, "no_budget_split"));
    const objective = L(lg, `objective_${budget.objective}`) === `objective_${budget.objective}`
      ? budget.objective : L(lg, `objective_${budget.objective}`);
    const unit = budget.outcome_unit || objective;
    const rows = budget.allocations.map((a) => [
      channelLabel(lg, a.channel), money(a.spend, budget.currency), percent(budget.total ? a.spend / budget.total : 0),
      money(a.recommended_spend, budget.currency), outcome(a.expected_outcome, a.outcome_unit || unit),
      number(a.marginal_roi, 2), a.binding.join(", ") || "—",
      a.cross_check ? `${a.cross_check.source}: ${outcome(a.cross_check.expected, a.outcome_unit || unit)}` : "—",
    ]);
    rows.push({ cells: [L(lg, "total"), money(budget.total, budget.currency), "100%",
      money(budget.recommended_total, budget.currency), outcome(budget.expected_outcome, unit), "", "", ""],
    className: "total" });
    return el("div", {},
      budget.recommendation ? el("p", { class: "recommendation" }, budget.recommendation) : null,
      table([L(lg, "col_channel"), L(lg, "col_spend_whole"), L(lg, "col_share"), L(lg, "col_recommended"),
        L(lg, "col_expected_objective", { objective, unit }), L(lg, "col_marginal_roi"), L(lg, "col_binding_short"),
        L(lg, "col_cross_check")], rows, [1, 2, 3, 4, 5]),
      frontierChart(budget, lg),
      budget.allocations.filter((a) => a.cross_check).map((a) => el("p", { class: "muted" },
        `${L(lg, "cross_check_of", { channel: channelLabel(lg, a.channel) })}: ${a.cross_check.reason}`)));
  }

  function segmentsSection(plan) {
    const lg = planLanguage(plan);
    if (!plan.segments.length) return el("p", { class: "muted" }, L(lg, "no_segments"));
    return el("div", {}, plan.segments.map((s) => el("div", { class: "segment" },
      el("strong", {}, segmentName(s)),
      el("span", { class: "muted" }, ` · ${L(lg, "size_value", { customers: number(s.size.customers),
        share: percent(s.size.share, 1) })}`),
      shownProfile(s).needs.length
        ? el("div", {}, `${L(lg, "needs")}: ` + shownProfile(s).needs.join("; ")) : null,
      shownProfile(s).praised_attributes.length
        ? el("div", {}, `${L(lg, "they_praise")}: ` + shownProfile(s).praised_attributes.join("; ")) : null,
      // Review quotes verbatim, in the customer's own words.
      s.evidence.map((e) => el("blockquote", {}, e.quote, " ",
        el("span", { class: "rid" }, `— ${L(lg, "review")} ${e.review_id}`))),
    )));
  }

  function copySection(plan) {
    const lg = planLanguage(plan);
    if (!plan.messaging.length) return el("p", { class: "muted" }, L(lg, "no_copy"));
    const names = segmentNames(plan);
    return el("div", {}, plan.messaging.map((m) => el("div", { class: "copy-cell", "data-channel": m.channel },
      el("strong", {}, `${channelLabel(lg, m.channel)} · ${names[m.segment_id] || m.segment_id}`),
      m.degraded ? el("span", { class: "degraded" }, L(lg, "degraded_short")) : null,
      m.variants.map((v) => el("div", { class: "variant" },
        el("div", { class: "headline" }, v.headline),
        el("div", { class: "body" }, v.body),
        el("span", { class: "cta" }, v.cta),
        v.footer ? el("div", { class: "muted" }, v.footer) : null)),
    )));
  }

  function forecastSection(plan) {
    const lg = planLanguage(plan);
    if (!plan.forecast.length) return el("p", { class: "muted" }, L(lg, "no_forecast_flags"));
    const currency = plan.budget ? plan.budget.currency : (plan.brief.budget ? plan.brief.budget.currency : "USD");
    const names = segmentNames(plan);
    const unitOf = (f) => (f.metric.endsWith("revenue") ? (f.currency || currency) : f.metric.replace(/^incremental_/, ""));
    const basis = (b) => (b ? L(lg, `basis_${b}`) : "—");
    const metrics = (lg === "zh" && state.messages && state.messages.zh_metrics) || {};
    const metric = (m) => metrics[m] || m.replace(/_/g, " ");
    const rows = plan.forecast.map((f) => [
      names[f.segment_id] || f.segment_id, channelLabel(lg, f.channel), metric(f.metric), outcome(f.expected, unitOf(f)),
      `${number(f.interval_80[0], 1)} – ${number(f.interval_80[1], 1)}`, money(f.incremental_revenue, f.currency || currency),
      f.roi === null ? "—" : number(f.roi, 2), money(f.spend, f.currency || currency),
      `${f.customers === null || f.customers === undefined ? "" : number(f.customers) + " · "}${basis(f.basis)}`,
      L(lg, `source_${f.source}`),
    ]);
    // No client-side totals: every figure shown is a tool's; the budget's expected outcome is their sum per channel.
    return el("div", {},
      table(["col_segment", "col_channel", "col_metric", "col_expected", "col_interval_80", "col_incr_revenue", "col_roi",
        "col_spend", "col_counted_over", "col_source"].map((key) => L(lg, key)), rows, [3, 4, 5, 6, 7]));
  }

  function measurementSection(plan) {
    const lg = planLanguage(plan);
    const m = plan.measurement;
    if (!m) return el("p", { class: "muted" }, L(lg, "no_measurement"));
    return el("div", {},
      el("p", {}, `${m.design} · ${L(lg, "holdout_share")} ${percent(m.holdout_share)}`
        + (m.sample_size ? ` · ${L(lg, "sample_size")} ${number(m.sample_size)}` : "")
        + (m.minimum_detectable_lift ? ` · ${L(lg, "min_detectable_lift")} ${percent(m.minimum_detectable_lift, 2)}` : "")),
      m.channels.length ? table(["col_channel", "col_design", "col_audience", "col_per_arm_short", "col_powered"]
        .map((key) => L(lg, key)), m.channels.map((t) => [
        channelLabel(lg, t.channel), L(lg, `design_${t.design}`), number(t.audience),
        t.sample_size_per_arm === null ? "—" : number(t.sample_size_per_arm),
        t.powered === null ? L(lg, "na_regions") : L(lg, t.powered ? "yes" : "no"),
      ]), [2, 3]) : null);
  }

  // Each question of the brief with its answer and the tool numbers behind it; an open question says so.
  function answersSection(plan) {
    const lg = planLanguage(plan);
    const pending = {};
    for (const a of plan.answers || []) (pending[a.question] = pending[a.question] || []).push(a);
    const rows = (plan.brief.questions || []).map((q) => [q.text, (pending[q.text] || []).shift() || null]);
    for (const list of Object.values(pending)) for (const a of list) rows.push([a.question, a]);
    return el("div", {}, rows.map(([question, answer]) => el("div", { class: answer ? "answer" : "answer open" },
      el("strong", {}, `“${question}”`),
      answer ? el("p", {}, answer.text)
        : el("p", { class: "muted" }, `⚠ ${L(lg, "open_badge")} — ${L(lg, "answer_open")}`),
      answer && Object.keys(answer.numbers || {}).length ? el("p", { class: "muted" },
        `${L(lg, "answer_figures", { sources: (answer.sources || []).map((s) => L(lg, `source_${s}`))
          .join(L(lg, "list_separator")) })}: `
        + Object.entries(answer.numbers).map(([k, v]) => `${k} = ${number(v, 4)}`).join("; ")) : null)));
  }
  const hasQuestions = (plan) => (plan.brief.questions || []).length > 0 || (plan.answers || []).length > 0;

  function listSection(items) {
    return el("ul", {}, items.map((text) => el("li", {}, text)));
  }

  function reportBlock(runId, lg) {
    const holder = el("div");
    const button = el("button", { type: "button", class: "report-button" }, L(lg, "show_report"));
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const response = await fetch(`/runs/${encodeURIComponent(runId)}/report`,
          { headers: { "X-API-Key": state.key || "" } });
        if (!response.ok) throw new Error(`the report could not be loaded (${response.status})`);
        const frame = el("iframe", { class: "report-frame", sandbox: "", title: L(lg, "report_title") });
        frame.srcdoc = await response.text();  // a sandboxed document: no script runs in it
        holder.replaceChildren(frame);
      } catch (error) {
        holder.replaceChildren(el("p", { class: "muted" }, String(error.message || error)));
        button.disabled = false;
      }
    });
    holder.append(button);
    return holder;
  }

  function planCard(plan, runId) {
    const lg = planLanguage(plan);
    state.moneyLanguage = lg;  // the card's amounts are written for its reader
    const title = productLabel(lg, plan.brief.product) || L(lg, `objective_${plan.brief.objective}`)
      || L(lg, "campaign");
    const card = el("article", { class: "message plan-card", "data-run-id": runId, lang: lg });
    card.append(el("h2", {}, L(lg, "title", { title }),
      el("span", { class: `badge plan-status ${plan.status}`, "data-status": plan.status }, L(lg, `status_${plan.status}`))));
    if (plan.flags.length) card.append(flagsBox(plan.flags, lg));
    card.append(el("p", { class: "summary" }, plan.summary || L(lg, "summary_none")));
    if (hasQuestions(plan)) card.append(section(L(lg, "answers_short"), answersSection(plan), true));
    card.append(section(L(lg, "budget"), budgetSection(plan), true));
    card.append(section(L(lg, "segments_n", { n: plan.segments.length }), segmentsSection(plan), true));
    card.append(section(L(lg, "copy_n", { n: plan.messaging.length }), copySection(plan), false));
    card.append(section(L(lg, "forecast"), forecastSection(plan), true));
    card.append(section(L(lg, "measurement"), measurementSection(plan), false));
    if (plan.open_questions.length) {
      card.append(section(L(lg, "open_questions_short"), listSection(plan.open_questions), false));
    }
    if (plan.risks.length) card.append(section(L(lg, "risks"), listSection(plan.risks), false));
    card.append(el("details", {}, el("summary", {}, el("h3", {}, L(lg, "brief_as_read"))),
      el("p", { class: "brief-text" }, plan.brief.text)));
    card.append(reportBlock(runId, lg));
    return card;
  }

  const withoutStatus = (plan) => JSON.stringify({ ...plan, status: null });

  function showPlan(plan, runId) {
    const previous = state.plan;
    state.plan = plan;
    if (previous && state.planCard && state.planCard.dataset.runId === runId
        && withoutStatus(previous) === withoutStatus(plan)) {
      const badge = state.planCard.querySelector(".plan-status");
      badge.textContent = L(planLanguage(plan), `status_${plan.status}`);
      badge.dataset.status = plan.status;
      badge.className = `badge plan-status ${plan.status}`;
      return;
    }
    state.planCard = add(planCard(plan, runId));
  }

  // --- what a follow-up changed ---------------------------------------------------------------------------

  function revisionCard(revision) {
    const card = el("article", { class: "message revision-card" });
    card.append(el("h2", {}, revision.full_replan ? "Replanned from the amended brief" : "What changed"));
    card.append(el("p", { class: "revision-summary" }, revision.summary || ""));
    const diff = revision.diff;
    if (!diff) return card;
    const currency = diff.currency || "USD";
    const changedBudget = diff.budget.filter((row) => Math.abs(row.delta) > 0.005);
    if (changedBudget.length || diff.budget_total_before !== diff.budget_total_after) {
      const rows = diff.budget.map((row) => ({
        cells: [row.channel, money(row.before, currency), money(row.after, currency),
          signedMoney(row.delta, currency)],
        className: Math.abs(row.delta) > 0.005 ? `changed budget-row budget-${row.channel}` : `budget-row budget-${row.channel}`,
      }));
      card.append(el("div", { class: "diff-budget" }, el("strong", {}, "Budget"),
        table(["Channel", "Before", "After", "Change"], rows, [1, 2, 3])));
    }
    const segmentLines = [
      ...diff.segments_added.map((s) => `Added: ${s.name} (${number(s.customers)} customers)`),
      ...diff.segments_removed.map((s) => `Removed: ${s.name} (${number(s.customers)} customers)`),
      ...diff.segments_resized.map((s) => `${s.name}: ${number(s.customers_before)} → ${number(s.customers_after)}`),
    ];
    if (segmentLines.length) card.append(el("div", {}, el("strong", {}, "Segments"), listSection(segmentLines)));
    if (diff.copy_changes.length) {
      card.append(el("div", { class: "diff-copy" },
        el("strong", {}, `Copy (${diff.copy_changes.length} cells changed, ${diff.copy_unchanged} unchanged)`),
        el("ul", {}, diff.copy_changes.map((cell) => el("li", {},
          `${cell.channel} · ${cell.segment_id}: ${cell.change}`,
          cell.change === "rewritten" && cell.before.length && cell.after.length
            ? el("div", {}, el("span", { class: "before" }, cell.before[0].body), " → ", cell.after[0].body)
            : null)))));
    }
    const forecast = diff.forecast.filter((row) => Math.abs(row.delta) > 1e-6);
    if (forecast.length) {
      card.append(el("div", { class: "diff-forecast" }, el("strong", {}, "Forecast totals"),
        table(["Metric", "Before", "After", "Change"], forecast.map((row) => {
          const isMoney = row.metric === "incremental_revenue";
          const show = (v) => (isMoney ? money(v, currency) : number(v, 1));
          return [row.metric.replace(/_/g, " "), show(row.before), show(row.after),
            (row.delta > 0 ? "+" : "−") + show(Math.abs(row.delta))];
        }), [1, 2, 3])));
    }
    if (diff.brief.length) {
      // The server's wording ("channel_bounds: none → search fixed at 15,261.98; …") where it sent one.
      const said = (revision.changes || []).filter((line) => line.startsWith("Brief ")).map((line) => line.slice(6));
      const lines = said.length ? said
        : diff.brief.map((f) => `${f.field}: ${JSON.stringify(f.before)} → ${JSON.stringify(f.after)}`);
      card.append(el("div", { class: "diff-brief" }, el("strong", {}, "Brief"), listSection(lines)));
    }
    const flagLines = [...diff.flags_added.map((f) => `New: ${f}`), ...diff.flags_removed.map((f) => `Cleared: ${f}`)];
    if (flagLines.length) card.append(el("div", {}, el("strong", {}, "Flags"), listSection(flagLines)));
    if (card.childElementCount === 2) card.append(el("p", { class: "muted" }, "The plan did not change."));
    return card;
  }

  // --- conversation --------------------------------------------------------------------------------------

  function setThread(threadId) {
    state.threadId = threadId;
    const label = $("thread-label");
    const lg = planLanguage(state.plan);
    label.textContent = threadId ? L(lg, "page_thread", { id: threadId }) : L(lg, "page_no_plan");
    label.dataset.threadId = threadId || "";
    const hash = threadId ? `#thread=${encodeURIComponent(threadId)}` : "";
    history.replaceState(null, "", location.pathname + location.search + hash);
  }

  function setStatus(status) {
    state.status = status;
    const waiting = status === "interrupted";
    $("review-bar").hidden = !waiting;
    // The page follows the plan's language, else the browser's.
    const lg = planLanguage(state.plan);
    labelPage(lg);
    $("input").placeholder = L(lg, state.plan ? "page_input_change" : "page_input_brief");
    const planStatus = state.plan ? state.plan.status : "none";
    $("status-line").textContent = state.threadId ? L(lg, "page_status_line", { run: state.runId || "—",
      status: status ? L(lg, `run_${status}`).replace(/^run_/, "") : "—", plan: L(lg, `status_${planStatus}`) })
      : "";
    document.body.dataset.runStatus = status || "";
    document.body.dataset.planStatus = planStatus;
  }

  function setBusy(busy) {
    state.busy = busy;
    for (const id of ["send", "approve", "reject", "request-changes", "new-plan"]) $(id).disabled = busy;
    $("input").disabled = busy;
    document.body.dataset.busy = busy ? "true" : "false";
    if (!busy) $("input").focus();
  }

  async function follow(runId, title) {
    state.runId = runId;
    setStatus("running");
    const progress = progressBubble(title);
    try {
      await stream(runId, (name, data) => {
        if (name === "progress") progress.step(data);
        else if (name === "node") progress.node(data.node);
        else if (name === "revision") add(revisionCard(data));
        else if (name === "plan") showPlan(data, runId);
        else if (name === "error") addError(`The run failed: ${data.detail}`);
      });
    } finally {
      progress.finish();
    }
    const run = await api("GET", `/runs/${encodeURIComponent(runId)}`);
    if (run.status === "cancelled") addNotice("The run was cancelled.");
    setStatus(run.status);
    return run;
  }

  async function startPlan(brief) {
    if (!state.threadId) {
      const thread = await api("POST", "/threads", { metadata: { source: "chat" } });
      setThread(thread.thread_id);
    }
    const run = await api("POST", `/threads/${encodeURIComponent(state.threadId)}/runs`, { brief, review: true });
    await follow(run.run_id, "Planning");
  }

  async function followUp(text) {
    if (state.status === "interrupted") {
      await api("POST", `/runs/${encodeURIComponent(state.runId)}/resume`, { action: "revise", amendment: text });
      await follow(state.runId, "Revising the draft");
    } else {
      const run = await api("POST", `/threads/${encodeURIComponent(state.threadId)}/runs`,
        { brief: text, review: true, follow_up: true });
      await follow(run.run_id, "Revising the plan");
    }
  }

  async function guarded(work) {
    if (state.busy) return;
    if (!state.key) {
      $("key-panel").hidden = false;
      addError("This page needs an API key: open the link `campaign-planner chat` printed, or enter a key above.");
      return;
    }
    setBusy(true);
    try {
      await work();
    } catch (error) {
      addError(String(error.message || error));
    } finally {
      setBusy(false);
    }
  }

  const APPROVE = /^\s*(?:approve[sd]?|lgtm|looks good(?: to me)?|ship it|批准|通过)[.!。\s]*$/i;
  const REJECT = /^\s*(?:reject(?:ed)?|拒绝)[.!。\s]*$/i;

  function send(text) {
    if (state.status === "interrupted" && (APPROVE.test(text) || REJECT.test(text))) {
      $("input").value = "";
      return decide(APPROVE.test(text) ? "approve" : "reject");
    }
    return guarded(async () => {
      addUser(text);
      $("input").value = "";
      if (!state.threadId || !state.plan) await startPlan(text);
      else if (state.status === "pending" || state.status === "running") addNotice("A run is still going; wait for it.");
      else await followUp(text);
    });
  }

  function decide(action) {
    return guarded(async () => {
      addUser(action === "approve" ? "Approve" : "Reject");
      await api("POST", `/runs/${encodeURIComponent(state.runId)}/resume`, { action });
      await follow(state.runId, action === "approve" ? "Approving" : "Rejecting");
      if (state.plan) addNotice(`The plan is ${state.plan.status}. Follow-ups start a revised draft.`);
    });
  }

  function reset() {
    state.threadId = null;
    state.runId = null;
    state.plan = null;
    state.planCard = null;
    state.lastEventId = {};
    const intro = $("log").querySelector(".intro");
    $("log").replaceChildren(...(intro ? [intro] : []));
    setThread(null);
    setStatus(null);
  }

  async function planOf(runs) {
    for (const summary of [...runs].reverse()) {
      const run = await api("GET", `/runs/${encodeURIComponent(summary.run_id)}`);
      if (run.plan) return run;
    }
    return null;
  }

  function openThread(threadId) {
    return guarded(async () => {
      const thread = await api("GET", `/threads/${encodeURIComponent(threadId)}`);
      reset();
      setThread(thread.thread_id);
      const runs = await api("GET", `/threads/${encodeURIComponent(thread.thread_id)}/runs`);
      if (!runs.length) {
        addNotice("This thread has no runs yet: send a brief.");
        return;
      }
      for (const run of runs) {
        addUser(run.brief);
        if (run.status === "failed") addError(`That run failed: ${run.error || "unknown error"}`);
      }
      const latest = runs[runs.length - 1];
      const withPlan = await planOf(runs);
      if (withPlan) {
        if (withPlan.revision) add(revisionCard(withPlan.revision));
        showPlan(withPlan.plan, withPlan.run_id);
      }
      state.runId = latest.run_id;
      if (latest.status === "pending" || latest.status === "running") await follow(latest.run_id, "Following the run");
      else setStatus(latest.status);
    });
  }

  // --- start-up --------------------------------------------------------------------------------------------

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const key = params.get("key");
    if (key) {
      sessionStorage.setItem(KEY_STORAGE, key);
      params.delete("key");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    }
    return params.get("thread");
  }

  async function init() {
    await loadMessages();
    const threadId = readHash();
    state.key = sessionStorage.getItem(KEY_STORAGE);
    $("key-panel").hidden = Boolean(state.key);
    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      const text = $("input").value.trim();
      if (text) send(text);
    });
    $("input").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        $("composer").requestSubmit();
      }
    });
    $("approve").addEventListener("click", () => decide("approve"));
    $("reject").addEventListener("click", () => decide("reject"));
    $("request-changes").addEventListener("click", () => {
      $("input").focus();
      addNotice("Describe the change below, e.g. “move $5k from search to email”, “make the SMS copy shorter”, "
        + "“exclude customers under 25”. Only what it affects is replanned.");
    });
    $("new-plan").addEventListener("click", () => {
      if (!state.busy) reset();
    });
    $("open-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const id = $("open-thread").value.trim();
      if (id) openThread(id);
    });
    $("key-button").addEventListener("click", () => {
      $("key-panel").hidden = !$("key-panel").hidden;
    });
    $("key-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const key = $("key-input").value.trim();
      if (!key) return;
      state.key = key;
      sessionStorage.setItem(KEY_STORAGE, key);
      $("key-input").value = "";
      $("key-panel").hidden = true;
      addNotice("Key set for this browser tab.");
    });
    setStatus(null);
    document.body.dataset.ready = "true";
    if (threadId && state.key) openThread(threadId);
  }

  init();
})();

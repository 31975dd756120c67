// The admin page: fetches /admin/api/overview and renders cards, tables and uPlot charts. Every figure in
// text is formatted from the integer strings the server sends (BigInt, no floating point); the charts plot
// numbers, which is only ever for the eye.
"use strict";

(function () {
  const USDC = 6;
  const KAMIYO = 9;

  /** "1234567", 6 -> "1.234567" (trailing zeros trimmed, thousands grouped); exact. */
  function units(text, decimals) {
    if (text === null || text === undefined) return "–";
    let v = BigInt(text);
    const neg = v < 0n;
    if (neg) v = -v;
    const base = 10n ** BigInt(decimals);
    const whole = (v / base).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const frac = (v % base).toString().padStart(decimals, "0").replace(/0+$/, "");
    return (neg ? "-" : "") + whole + (frac ? "." + frac : "");
  }
  const usdc = (t) => (t === null || t === undefined ? "–" : units(t, USDC) + " USDC");
  const kamiyo = (t) => (t === null || t === undefined ? "–" : units(t, KAMIYO) + " KAMIYO");
  const count = (t) => (t === null || t === undefined ? "–" : units(t, 0));
  const pct = (bps) => (bps === null || bps === undefined ? "–" : units(bps, 2) + " %");
  // For charts only.
  const num = (t, decimals) => Number(BigInt(t ?? "0")) / 10 ** decimals;

  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }
  function table(id, headers, rows) {
    const t = $(id);
    t.replaceChildren(el("tr", {}, ...headers.map(([h, n]) => el("th", { class: n ? "n" : undefined }, h))));
    for (const r of rows) t.append(el("tr", {}, ...r.map((c, i) => el("td", { class: headers[i][1] ? "n" : undefined, "data-field": headers[i][2] }, c))));
    if (rows.length === 0) t.append(el("tr", {}, el("td", { colspan: headers.length }, "none in this range")));
  }
  function card(label, value, field) {
    return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", "data-field": field }, value));
  }
  const link = (tx) => (tx ? el("a", { href: tx.url, class: "sig", target: "_blank", rel: "noopener", "data-signature": tx.signature }, tx.signature.slice(0, 12) + "…") : "–");

  const charts = [];
  window.__charts = charts;
  function chart(id, title, xs, series, yLabel) {
    const target = $(id);
    target.replaceChildren();
    const width = Math.max(320, target.clientWidth || 800);
    const opts = {
      title,
      width,
      height: 220,
      scales: { x: { time: true } },
      axes: [{}, { label: yLabel }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: s.fill, points: { show: true } }))],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)], target);
    charts.push({ id, title, series: series.length, points: xs.length, plot });
  }
  const dayTs = (day) => Date.parse(day + "T00:00:00Z") / 1000;

  function render(o) {
    charts.splice(0).forEach((c) => c.plot.destroy());
    const t = o.totals;
    $("cards").replaceChildren(
      card("Revenue charged", usdc(t.revenue), "total-revenue"),
      card("At full price", usdc(t.gross), "total-gross"),
      card("Stakers saved", usdc(t.savings), "total-savings"),
      card("Paid requests", count(t.requests), "total-requests"),
      card("Distinct payers", count(t.payers), "total-payers"),
      card("Reward vault", kamiyo(o.vault.balance), "vault-balance"),
    );

    const xs = o.revenueByDay.map((d) => dayTs(d.day));
    chart("chart-revenue", "Revenue per day", xs, [
      { label: "charged (USDC)", color: "#3c6fd8", fill: "rgba(60,111,216,.12)", values: o.revenueByDay.map((d) => num(d.revenue, USDC)) },
      { label: "full price (USDC)", color: "#8a5a00", values: o.revenueByDay.map((d) => num(d.gross, USDC)) },
    ], "USDC");
    chart("chart-requests", "Requests and payers per day", xs, [
      { label: "requests", color: "#2a9d5b", values: o.revenueByDay.map((d) => num(d.requests, 0)) },
      { label: "payers", color: "#b42318", values: o.revenueByDay.map((d) => num(d.payers, 0)) },
    ], "count");
    table("tiers", [["tier"], ["requests", 1], ["distinct payers", 1], ["charged", 1], ["savings", 1]],
      o.byTier.map((b) => [b.tier, count(b.requests), count(b.payers), usdc(b.revenue), usdc(b.savings)]));

    $("next-run").textContent = o.nextRun ? new Date(o.nextRun).toUTCString() : "none scheduled";
    const runsAsc = [...o.runs].reverse();
    chart("chart-pipeline", "Pipeline: USDC spent per run", runsAsc.map((r) => dayTs(r.day)), [
      { label: "allocation (USDC)", color: "#3c6fd8", values: runsAsc.map((r) => num(r.allocation, USDC)) },
      { label: "spent (USDC)", color: "#2a9d5b", values: runsAsc.map((r) => num(r.usdcSpent, USDC)) },
    ], "USDC");
    table("runs", [["day"], ["status"], ["step"], ["allocation", 1, "run-allocation"], ["USDC spent", 1, "run-spent"], ["KAMIYO bought", 1, "run-bought"], ["avg price / KAMIYO", 1], ["funded", 1, "run-funded"], ["swap"], ["fund"]],
      o.runs.map((r) => [r.day, el("span", { class: r.status === "failed" ? "bad" : r.status === "done" ? "ok" : undefined, title: r.error || "" }, r.status), r.currentStep,
        usdc(r.allocation), usdc(r.usdcSpent), kamiyo(r.kamiyoBought), usdc(r.averagePriceMicroUsdc), kamiyo(r.kamiyoFunded), link(r.swap), link(r.fund)]));

    chart("chart-apy", "APY (%) and reward vault (KAMIYO)", o.apy.map((a) => Date.parse(a.recordedAt) / 1000), [
      { label: "APY %", color: "#7a3cd8", values: o.apy.map((a) => (a.apyBps === null ? null : num(a.apyBps, 2))) },
      { label: "vault (KAMIYO)", color: "#2a9d5b", values: o.apy.map((a) => num(a.poolBalance, KAMIYO)) },
    ], "");
    table("apy", [["recorded"], ["APY", 1], ["total staked", 1], ["vault", 1]],
      [...o.apy].reverse().slice(0, 10).map((a) => [a.recordedAt.replace("T", " ").slice(0, 16), pct(a.apyBps), kamiyo(a.totalStaked), kamiyo(a.poolBalance)]));
    table("stake", [["tier"], ["stakers", 1, "stakers"], ["total stake", 1], ["effective stake", 1]],
      o.stake.map((s) => [s.tier, count(s.stakers), kamiyo(s.staked), kamiyo(s.effective)]));

    const ix = o.indexer;
    const w = o.webhooks;
    const lr = o.ledger.reconciliation;
    const lp = lr.lastPass;
    const field = (name, text, cls) => el("span", { "data-field": name, class: cls }, text);
    table("health", [["what"], ["value"]], [
      ["indexer lag (slots)", ix ? count(ix.lagSlots) : "no status yet"],
      ["last backfill", field("indexer-backfill", ix && ix.lastBackfillAt ? ix.lastBackfillAt : "–")],
      ["last reconciliation", field("indexer-reconciled", ix && ix.lastReconciliationAt ? ix.lastReconciliationAt : "none yet")],
      ["reconciliation drift (rows repaired last pass)", ix ? String(ix.reconciliationDrift) : "–"],
      ["live feed reconnects (this term)", ix ? String(ix.reconnects) : "–"],
      ["indexer status written", ix ? ix.statusUpdatedAt : "–"],
      ["ledger reconciliation: last pass", field("ledger-reconciled", lp ? lp.finishedAt : "none yet")],
      ["ledger reconciliation: through slot", field("ledger-slot", lp ? lp.throughSlot : "–")],
      ["ledger reconciliation: repairs last pass", field("ledger-repairs", lp ? "completed " + lp.repairs.completed + ", inserted " + lp.repairs.inserted + ", released " + lp.repairs.released + ", unexplained transfers " + lp.repairs.unexplained : "–")],
      ...(lr.latest ? [["ledger reconciliation: newest pass", field("ledger-latest", lr.latest.state === "running" ? "running since " + lr.latest.startedAt : "failed at " + lr.latest.finishedAt + ": " + (lr.latest.error || ""), lr.latest.state === "failed" ? "bad" : undefined)]] : []),
      ["ledger: payments reserved, not recorded settled", count(o.ledger.unsettledReservations) + (o.ledger.oldestUnsettledAt ? " (oldest " + o.ledger.oldestUnsettledAt + ")" : "")],
      ["Helius deliveries without transaction (enhanced format)", el("span", { class: w.enhancedDeliveries > 0 ? "bad" : "ok", "data-field": "enhanced" }, String(w.enhancedDeliveries) + (w.lastEnhancedAt ? " (last " + w.lastEnhancedAt + "): set the webhook to raw" : ""))],
    ]);
    const lg = o.ledger;
    document.querySelector('[data-field="late-count"]').textContent = count(lg.lateRows) + " rows";
    document.querySelector('[data-field="late-amount"]').textContent = usdc(lg.lateAmount);
    table("late-rows", [["day allocated"], ["amount", 1, "late-amount-row"], ["transaction"], ["detected"], ["alerted"]],
      lg.late.map((r) => [r.day, usdc(r.amount), link({ signature: r.signature, url: r.url }), r.detectedAt.replace("T", " ").slice(0, 19), r.alerted ? "yes" : "not yet"]));
    $("status").textContent = "Figures for " + o.range.from + " to " + o.range.to + " (UTC), read " + o.range.generatedAt;
    document.body.dataset.loaded = "true";
  }

  async function load() {
    const params = new URLSearchParams(location.search);
    const form = $("range");
    if (params.get("from")) form.from.value = params.get("from");
    if (params.get("to")) form.to.value = params.get("to");
    const q = new URLSearchParams();
    if (form.from.value) q.set("from", form.from.value);
    if (form.to.value) q.set("to", form.to.value);
    const res = await fetch("/admin/api/overview?" + q.toString(), { credentials: "same-origin" });
    const body = await res.json();
    if (!res.ok) {
      $("status").textContent = "Cannot show the figures: " + (body.message || res.status);
      document.body.dataset.loaded = "error";
      return;
    }
    if (!form.from.value) form.from.value = body.range.from;
    if (!form.to.value) form.to.value = body.range.to;
    render(body);
  }

  $("range").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = e.target;
    history.replaceState(null, "", "?from=" + form.from.value + "&to=" + form.to.value);
    load().catch((err) => ($("status").textContent = "Cannot load: " + err.message));
  });
  load().catch((err) => ($("status").textContent = "Cannot load: " + err.message));
})();

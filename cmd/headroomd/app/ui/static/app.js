// headroomd's capacity page. Everything is drawn from headroomd's read API;
// text from the API is only ever set as textContent, never as HTML.
"use strict";

const SVGNS = "http://www.w3.org/2000/svg";
const REFRESH_MS = 30000;
const TOP_APPS = 10;

function el(tag, attrs, ...children) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVGNS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  return e;
}

async function getJSON(path) {
  const resp = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(`${path}: ${resp.status} ${body.error || resp.statusText}`);
  return body;
}

// ---- units -----------------------------------------------------------------

const UNITS = {
  cpu: { name: "cpu", fmt: (v) => (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : (v * 1000).toFixed(0) + "m") + (v >= 1 ? " cores" : "") },
  memory: { name: "memory", fmt: bytes },
  pods: { name: "pods", fmt: (v) => v.toFixed(0) + " pods" },
};

function bytes(v) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (Math.abs(v) >= 100 || i === 0 ? v.toFixed(0) : v.toFixed(1)) + " " + units[i];
}

function duration(sec) {
  if (sec === null || sec === undefined) return null;
  const d = Math.floor(sec / 86400), h = Math.floor((sec % 86400) / 3600), m = Math.floor((sec % 3600) / 60);
  if (d > 0) return `${d}d${h ? " " + h + "h" : ""}`;
  if (h > 0) return `${h}h${m ? " " + m + "m" : ""}`;
  if (m > 0) return `${m}m`;
  return `${Math.max(0, Math.round(sec))}s`;
}

function ago(iso) {
  if (!iso) return "never";
  return duration((Date.now() - Date.parse(iso)) / 1000) + " ago";
}

// ---- charts ----------------------------------------------------------------

// points turns a series (start, step, values with nulls) into [t, v] runs,
// split where a value is missing.
function runs(start, stepSec, values) {
  const t0 = Date.parse(start), out = [];
  let cur = [];
  (values || []).forEach((v, i) => {
    if (v === null) { if (cur.length) out.push(cur); cur = []; return; }
    cur.push([t0 + i * stepSec * 1000, v]);
  });
  if (cur.length) out.push(cur);
  return out;
}

function chart(series, unit) {
  const W = 440, H = 180, L = 58, R = 8, T = 8, B = 20;
  const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  const now = Date.now();
  const spanMs = series.step_seconds * 1000 * Math.max(1, (series.requested || []).length);
  const x0 = Date.parse(series.start), x1 = now + spanMs / 2;

  const hist = {
    alloc: runs(series.start, series.step_seconds, series.allocatable),
    req: runs(series.start, series.step_seconds, series.requested),
    used: runs(series.start, series.step_seconds, series.used),
  };
  const fc = {};
  for (const kind of ["requested", "used"]) {
    const f = series.forecasts[kind];
    if (!f) continue;
    const t0 = Date.parse(f.start), pts = [];
    f.mean.forEach((v, i) => {
      const t = t0 + i * f.step_seconds * 1000;
      if (t > x1 || v === null) return;
      pts.push([t, v, f.lower[i] ?? v, f.upper[i] ?? v]);
    });
    fc[kind] = { f, pts };
  }

  // The scale holds the history, the thresholds and the forecasts' means;
  // a band wider than that (a forecast from little history) is cut at the top.
  let ymax = 0;
  for (const rs of Object.values(hist)) for (const r of rs) for (const [, v] of r) ymax = Math.max(ymax, v);
  for (const { f, pts } of Object.values(fc)) {
    ymax = Math.max(ymax, f.threshold);
    for (const p of pts) ymax = Math.max(ymax, p[1]);
  }
  ymax = ymax > 0 ? ymax * 1.08 : 1;
  const sx = (t) => L + ((t - x0) / (x1 - x0)) * (W - L - R);
  const sy = (v) => T + (1 - Math.min(Math.max(v, 0), ymax) / ymax) * (H - T - B);
  const path = (pts) => pts.map(([t, v], i) => `${i ? "L" : "M"}${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join("");

  for (let i = 0; i <= 4; i++) {
    const v = (ymax * i) / 4, y = sy(v);
    svg.append(el("svg:line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
    svg.append(el("svg:text", { class: "axis", x: L - 4, y: y + 3, "text-anchor": "end" }, unit.fmt(v)));
  }
  for (const t of [x0, now, x1]) {
    const label = t === now ? "now" : new Date(t).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    const anchor = t === x0 ? "start" : t === x1 ? "end" : "middle";
    svg.append(el("svg:text", { class: "axis", x: sx(t), y: H - 5, "text-anchor": anchor }, label));
  }
  svg.append(el("svg:line", { class: "now", x1: sx(now), x2: sx(now), y1: T, y2: H - B }));

  for (const [kind, cls] of [["requested", "req"], ["used", "used"]]) {
    const c = fc[kind];
    if (!c || !c.pts.length) continue;
    const up = c.pts.map(([t, , , u]) => [t, u]), lo = c.pts.map(([t, , l]) => [t, l]).reverse();
    svg.append(el("svg:path", { class: `band ${cls}`, d: path(up) + lo.map(([t, v]) => `L${sx(t).toFixed(1)},${sy(v).toFixed(1)}`).join("") + "Z" }));
    svg.append(el("svg:path", { class: `${cls} fc`, d: path(c.pts.map(([t, v]) => [t, v])) }));
    const y = sy(c.f.threshold);
    svg.append(el("svg:line", { class: "thr", x1: L, x2: W - R, y1: y, y2: y },
      el("svg:title", {}, `${kind} alert threshold: ${c.f.threshold_percent}% of allocatable`)));
  }
  for (const r of hist.alloc) svg.append(el("svg:path", { class: "alloc", d: path(r) }));
  for (const r of hist.req) svg.append(el("svg:path", { class: "req", d: path(r) }));
  for (const r of hist.used) svg.append(el("svg:path", { class: "used", d: path(r) }));
  return svg;
}

function etaLine(kind, series, unit) {
  const f = series.forecasts[kind];
  if (!f) {
    const l = series.learning[kind];
    if (l) return el("div", { class: "eta muted" }, `${kind}: learning, ${duration(l.history_seconds)} of the ${duration(l.needs_seconds)} of history a forecast needs`);
    return el("div", { class: "eta muted" }, `${kind}: no forecast yet`);
  }
  const e = f.eta, what = `${kind} reach ${f.threshold_percent}% (${unit.fmt(f.threshold)})`;
  if (e.expected_seconds === null) {
    return el("div", { class: "eta", "data-forecast": kind }, `${what}: not within ${duration(e.horizon_seconds)}`, el("span", { class: "muted" }, ` · ${f.method}`));
  }
  const cls = e.expected_seconds < 2 * 86400 ? "eta crit" : e.expected_seconds < 7 * 86400 ? "eta warn" : "eta";
  const early = duration(e.earliest_seconds), late = e.latest_seconds === null ? `later than ${duration(e.horizon_seconds)}` : duration(e.latest_seconds);
  return el("div", { class: cls, "data-forecast": kind, "data-eta": kind }, `${what} in ${duration(e.expected_seconds)} (${early} to ${late})`,
    el("span", { class: "muted" }, ` · ${f.method}`));
}

// scopeName names the whole cluster (pool null) or a pool ("" is the
// nodes without a pool label).
function scopeName(pool) {
  if (pool === null) return "whole cluster";
  return pool === "" ? "nodes without a pool label" : "pool " + pool;
}

async function scopeChart(cluster, pool, resource, range) {
  const q = new URLSearchParams({ cluster, resource, range });
  if (pool !== null) q.set("pool", pool);
  const title = `${scopeName(pool)} · ${resource}`;
  const attrs = { class: "chart", "data-scope": pool === null ? "(all)" : pool, "data-resource": resource };
  let series;
  try {
    series = await getJSON("/api/v1/series?" + q);
  } catch (err) {
    // One chart that cannot be read leaves the others drawn.
    return el("div", attrs, el("div", { class: "title" }, title), el("div", { class: "error" }, err.message));
  }
  const unit = UNITS[resource];
  return el("div", attrs,
    el("div", { class: "title" }, title),
    chart(series, unit),
    etaLine("requested", series, unit),
    etaLine("used", series, unit));
}

function legend() {
  const l = el("div", { class: "legend" });
  for (const [cls, text] of [["alloc", "allocatable"], ["req", "requested"], ["used", "used"], ["thr", "alert threshold"]]) {
    const i = el("svg:svg", { width: 16, height: 6 }, el("svg:line", { class: cls, x1: 0, x2: 16, y1: 3, y2: 3 }));
    l.append(el("span", {}, i, " " + text));
  }
  return l;
}

// ---- tables ----------------------------------------------------------------

function pct(v, of) { return of > 0 ? ` (${Math.round((100 * v) / of)}%)` : ""; }

function topTable(title, rows, key) {
  const sorted = rows.slice().sort((a, b) => key(b) - key(a)).slice(0, TOP_APPS);
  const body = el("tbody");
  for (const r of sorted) {
    const cu = r.cpu.usage, mu = r.memory.usage;
    body.append(el("tr", {},
      el("td", {}, r.name),
      el("td", { class: "num" }, String(r.pods)),
      el("td", { class: "num" }, UNITS.cpu.fmt(r.cpu.requests) + pct(r.cpu.requests, r.cpu.allocatable)),
      el("td", { class: "num" }, cu === null ? "-" : UNITS.cpu.fmt(cu)),
      el("td", { class: "num" }, bytes(r.memory.requests) + pct(r.memory.requests, r.memory.allocatable)),
      el("td", { class: "num" }, mu === null ? "-" : bytes(mu))));
  }
  if (!sorted.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "muted" }, "No running pods.")));
  return el("div", {}, el("h3", {}, title),
    el("table", { class: "top" },
      el("thead", {}, el("tr", {}, el("th", {}, "app"), el("th", { class: "num" }, "pods"), el("th", { class: "num" }, "cpu requests"),
        el("th", { class: "num" }, "cpu used"), el("th", { class: "num" }, "memory requests"), el("th", { class: "num" }, "memory used"))),
      body));
}

function renderChecks(checks) {
  checks = checks || [];
  const body = document.querySelector("#checks tbody");
  body.replaceChildren();
  document.getElementById("checks-empty").hidden = checks.length > 0;
  document.getElementById("checks").hidden = checks.length === 0;
  for (const c of checks) {
    const reasons = (c.reasons || []).concat(c.suggestions || []);
    body.append(el("tr", { "data-verdict": c.verdict },
      el("td", {}, new Date(c.at).toLocaleString()),
      el("td", {}, c.cluster),
      el("td", {}, c.workload || "-"),
      el("td", { class: "verdict-" + c.verdict }, c.verdict),
      el("td", { class: "num" }, `${c.replicas_fit} of ${c.replicas_requested}`),
      el("td", {}, reasons.length ? reasons.join("; ") : "-")));
  }
}

// ---- page ------------------------------------------------------------------

async function renderCluster(c, range) {
  const fresh = c.last_success && Date.now() - Date.parse(c.last_success) < 5 * 60 * 1000;
  const s = el("section", { class: "cluster", "data-cluster": c.name },
    el("div", { class: "cluster-head" },
      el("h2", {}, c.name),
      el("span", { class: "badge " + (fresh ? "ok" : "stale") }, c.synced ? `last cycle ${ago(c.last_success)}` : "informers not synced"),
      c.total ? el("span", { class: "muted" }, `${c.total.nodes} nodes · ${UNITS.cpu.fmt(c.total.requested.cpu)} of ${UNITS.cpu.fmt(c.total.allocatable.cpu)} cpu requested · ${bytes(c.total.requested.memory)} of ${bytes(c.total.allocatable.memory)} memory requested`) : null),
    legend());
  const scopes = [null].concat(c.pools.map((p) => p.name));
  const charts = await Promise.all(scopes.flatMap((pool) => ["cpu", "memory"].map((r) => scopeChart(c.name, pool, r, range))));
  s.append(el("div", { class: "scopes" }, ...charts));
  let top;
  try {
    top = await getJSON("/api/v1/top?" + new URLSearchParams({ by: "app", cluster: c.name }));
  } catch (err) {
    s.append(el("div", { class: "error" }, "Top apps: " + err.message));
    return s;
  }
  s.append(el("div", { class: "tops" },
    topTable("Top apps by requests", top.rows, (r) => r.cpu.requests / Math.max(r.cpu.allocatable, 1e-9) + r.memory.requests / Math.max(r.memory.allocatable, 1)),
    topTable("Top apps by usage", top.rows, (r) => (r.cpu.usage ?? 0) / Math.max(r.cpu.allocatable, 1e-9) + (r.memory.usage ?? 0) / Math.max(r.memory.allocatable, 1))));
  return s;
}

// latestRefresh numbers refreshes, so that one overtaken by a newer one (a
// range chosen while the periodic refresh runs) does not draw over it.
let latestRefresh = 0;

async function refresh() {
  const me = ++latestRefresh;
  const range = document.getElementById("range").value;
  const errBox = document.getElementById("error");
  try {
    const [{ clusters }, { checks }] = await Promise.all([getJSON("/api/v1/clusters"), getJSON("/api/v1/checks")]);
    const sections = await Promise.all((clusters || []).map((c) => renderCluster(c, range)));
    if (me !== latestRefresh) return;
    renderChecks(checks);
    document.getElementById("clusters").replaceChildren(...sections);
    document.getElementById("updated").textContent = "updated " + new Date().toLocaleTimeString();
    errBox.hidden = true;
    document.body.dataset.ready = "1";
  } catch (err) {
    if (me !== latestRefresh) return;
    // Shown on the page; the next refresh tries again.
    errBox.textContent = "Could not read headroomd: " + err.message;
    errBox.hidden = false;
  }
}

document.getElementById("range").addEventListener("change", refresh);
refresh();
setInterval(refresh, REFRESH_MS);

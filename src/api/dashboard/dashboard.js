// hashrig's dashboard: reads /summary every two seconds and /history every
// ten (of this rig, and /summary of the other rigs it names), draws the
// chart on a canvas, and sends the control buttons' requests with the API
// token as a bearer token. No framework, nothing from the network.
"use strict";

const SUMMARY_EVERY = 2000;
const HISTORY_EVERY = 10000;
// The chart's series colours: the style sheet's --c0 … --c7 (one set for
// light, one for dark), these where it gives none.
const COLORS = ["#c2410c", "#2563eb", "#15803d", "#9333ea", "#0891b2", "#be185d", "#65a30d", "#ca8a04"];

const $ = (id) => document.getElementById(id);
let summary = null;
let history = null;
let pending = null;

function rate(hs) {
  if (typeof hs !== "number" || !isFinite(hs)) return "–";
  const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s"];
  let i = 0;
  while (Math.abs(hs) >= 1000 && i < units.length - 1) { hs /= 1000; i++; }
  return hs.toFixed(hs >= 100 ? 1 : 2) + " " + units[i];
}

// An axis label: a round value without trailing zeros ("20 MH/s", "2.5 MH/s").
function tick(hs) {
  const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s"];
  let i = 0;
  while (Math.abs(hs) >= 1000 && i < units.length - 1) { hs /= 1000; i++; }
  return String(Number(hs.toFixed(2))) + " " + units[i];
}

// The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least x.
function niceStep(x) {
  const p = Math.pow(10, Math.floor(Math.log10(x)));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((s) => s >= x);
}

function duration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return d + "d " + h + "h";
  if (h) return h + "h " + m + "m";
  return m + "m " + (s % 60) + "s";
}

function ago(unix) {
  if (!unix) return "–";
  return duration(Math.max(0, Date.now() / 1000 - unix)) + " ago";
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function fill(tbody, items, build, empty) {
  // Each cell carries its column's name, which a narrow screen shows
  // beside the value when the rows become cards.
  const labels = [...tbody.parentElement.tHead.rows[0].cells].map((th) => th.textContent);
  const rows = items.map((item) => {
    const tr = document.createElement("tr");
    build(tr, item);
    [...tr.cells].forEach((td, i) => { td.dataset.label = labels[i] || ""; });
    return tr;
  });
  if (!rows.length && empty) {
    const tr = document.createElement("tr");
    const td = cell(tr, empty, "empty");
    td.colSpan = tbody.parentElement.tHead.rows[0].cells.length;
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
}

async function getJson(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    const r = await fetch(url, { cache: "no-store", signal: abort.signal });
    if (!r.ok) throw new Error("HTTP " + r.status);
    return await r.json();
  } finally {
    clearTimeout(timer);
  }
}

function setState(state, text) {
  const b = $("state");
  b.dataset.state = state;
  b.textContent = text;
}

function renderSummary(s) {
  $("version").textContent = s.version;
  setState(s.paused ? "paused" : "mining", s.paused ? "paused" : "mining");
  const t = s.total;
  $("total-5s").textContent = rate(t.hashrate["5s"]);
  $("total-effective").textContent = rate(t.hashrate.effective);
  $("total-average").textContent = rate(t.hashrate.average);
  $("total-shares").textContent = t.shares.accepted + " / " + t.shares.rejected + " / " + t.shares.stale;
  $("uptime").textContent = duration(s.uptime_s);
  fill($("devices").tBodies[0], s.devices, (tr, d) => {
    tr.dataset.device = d.name;
    cell(tr, d.name, "name");
    cell(tr, d.kind);
    cell(tr, d.reason ? d.state + ": " + d.reason : d.state, "state state-" + d.state);
    cell(tr, rate(d.hashrate["5s"]), "num rate");
    cell(tr, rate(d.hashrate["60s"]), "num");
    cell(tr, rate(d.hashrate.average), "num");
    cell(tr, rate(d.hashrate.effective), "num");
    cell(tr, String(d.hardware_errors), "num");
    cell(tr, d.temperature_c != null ? d.temperature_c.toFixed(0) + " °C" : "–", "num");
    cell(tr, d.power_w != null ? d.power_w.toFixed(0) + " W" : "–", "num");
    cell(tr, d.fan_percent != null ? d.fan_percent.toFixed(0) + " %" : d.fan_rpm != null ? d.fan_rpm + " rpm" : "–", "num");
  });
  fill($("pools").tBodies[0], s.pools, (tr, p) => {
    tr.dataset.pool = String(p.index);
    if (p.state === "mining") tr.className = "active";
    cell(tr, p.url, "url");
    cell(tr, p.state === "mining" ? "mining (devices on it)" : p.state, "state state-" + p.state);
    cell(tr, p.difficulty != null ? String(+p.difficulty.toPrecision(5)) : "–", "num");
    cell(tr, String(p.shares.accepted), "num accepted");
    cell(tr, String(p.shares.rejected), "num");
    cell(tr, String(p.shares.stale), "num");
    cell(tr, String(p.blocks), "num");
    cell(tr, ago(p.last_share));
    cell(tr, p.rtt_s != null ? (p.rtt_s * 1000).toFixed(1) + " ms" : "–", "num");
  }, "no pool or node: this command mines no pool");
}

async function refreshPeers(peers) {
  $("rigs-section").hidden = peers.length === 0;
  const results = await Promise.all(peers.map(async (peer) => {
    try {
      return { peer, s: await getJson(peer.replace(/\/$/, "") + "/summary") };
    } catch (e) {
      return { peer, error: e.message || String(e) };
    }
  }));
  fill($("rigs").tBodies[0], results, (tr, r) => {
    cell(tr, r.peer, "url");
    if (r.error) {
      cell(tr, "disconnected (" + r.error + ")", "state state-failed");
      for (let i = 0; i < 5; i++) cell(tr, "–", "num");
      return;
    }
    const t = r.s.total;
    cell(tr, r.s.paused ? "paused" : "mining", "state state-" + (r.s.paused ? "paused" : "mining"));
    cell(tr, rate(t.hashrate["5s"]), "num");
    cell(tr, rate(t.hashrate.effective), "num");
    cell(tr, String(r.s.devices.length), "num");
    cell(tr, String(t.shares.accepted), "num");
    cell(tr, String(t.shares.rejected), "num");
  });
}

function renderEvents(events) {
  const items = events.map((e) => {
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.dateTime = new Date(e.t).toISOString();
    time.textContent = new Date(e.t).toLocaleTimeString();
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = e.kind;
    li.append(time, kind, document.createTextNode(e.text));
    return li;
  });
  if (!items.length) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = "no events yet";
    items.push(li);
  }
  $("events").replaceChildren(...items);
}

function drawChart() {
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  if (!w || !h) return;
  canvas.width = Math.round(w * ratio);
  canvas.height = Math.round(h * ratio);
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, h);
  const style = getComputedStyle(document.documentElement);
  const fg = style.getPropertyValue("--muted").trim() || "#888";
  const color = (i) => style.getPropertyValue("--c" + (i % COLORS.length)).trim() || COLORS[i % COLORS.length];
  const points = history ? history.points : [];
  const legend = [];
  g.font = "12px system-ui, sans-serif";
  g.fillStyle = fg;
  if (points.length < 2) {
    g.fillText(points.length ? "collecting…" : "no history yet", 12, 20);
    $("legend").replaceChildren();
    canvas.dataset.points = String(points.length);
    return;
  }
  const pad = { l: 70, r: 50, t: 10, b: 22 };
  const t0 = points[0].t, t1 = points[points.length - 1].t;
  const x = (t) => pad.l + (w - pad.l - pad.r) * (t1 > t0 ? (t - t0) / (t1 - t0) : 1);
  const series = [
    { name: "total", color: color(0), get: (p) => p.total, width: 2 },
    { name: "effective", color: color(1), get: (p) => p.effective, width: 1, dash: [5, 4] },
  ];
  const names = summary ? summary.devices.map((d) => d.name) : [];
  if ((points[points.length - 1].devices || []).length > 1) {
    points[points.length - 1].devices.forEach((_, i) => series.push({
      name: names[i] || "device " + i, color: color(i + 2), get: (p) => (p.devices[i] || {}).rate, width: 1,
    }));
  }
  // Round gridlines: about four steps of 1, 2, 2.5 or 5 times a power of ten.
  const top = Math.max(1, ...points.flatMap((p) => series.map((s) => s.get(p) || 0)));
  const step = niceStep(top * 1.05 / 4);
  const max = step * Math.ceil(top * 1.05 / step);
  const y = (v) => h - pad.b - (h - pad.t - pad.b) * (v / max);
  canvas.setAttribute("aria-label",
    "Hashrate and temperature over the last hour; hashrate axis 0 to " + tick(max) + " in steps of " + tick(step));
  g.strokeStyle = fg;
  g.globalAlpha = 0.3;
  for (let v = 0; v <= max + step / 2; v += step) {
    g.beginPath(); g.moveTo(pad.l, y(v)); g.lineTo(w - pad.r, y(v)); g.stroke();
    g.globalAlpha = 1; g.fillText(tick(v), 4, y(v) + 4); g.globalAlpha = 0.3;
  }
  g.globalAlpha = 1;
  g.fillText(new Date(t0).toLocaleTimeString(), pad.l, h - 6);
  const end = new Date(t1).toLocaleTimeString();
  g.fillText(end, w - pad.r - g.measureText(end).width, h - 6);
  for (const s of series) {
    g.strokeStyle = s.color; g.lineWidth = s.width; g.setLineDash(s.dash || []);
    g.beginPath();
    points.forEach((p, i) => { const v = s.get(p) || 0; i ? g.lineTo(x(p.t), y(v)) : g.moveTo(x(p.t), y(v)); });
    g.stroke();
    legend.push([s.name, s.color]);
  }
  g.setLineDash([]);
  // Temperatures on their own scale, right.
  const temps = points.map((p) => Math.max(...(p.devices || []).map((d) => d.temperature_c ?? -Infinity)));
  if (temps.some((t) => isFinite(t))) {
    const tmax = 110;
    const ty = (v) => h - pad.b - (h - pad.t - pad.b) * (v / tmax);
    g.strokeStyle = color(5); g.lineWidth = 1; g.beginPath();
    let started = false;
    points.forEach((p, i) => {
      if (!isFinite(temps[i])) return;
      started ? g.lineTo(x(p.t), ty(temps[i])) : g.moveTo(x(p.t), ty(temps[i]));
      started = true;
    });
    g.stroke();
    g.fillStyle = color(5);
    g.fillText("°C", w - pad.r + 6, pad.t + 12);
    legend.push(["hottest °C", color(5)]);
  }
  canvas.dataset.points = String(points.length);
  $("legend").replaceChildren(...legend.map(([name, color]) => {
    const li = document.createElement("li");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = color;
    li.append(sw, document.createTextNode(name));
    return li;
  }));
}

async function refresh() {
  try {
    summary = await getJson("/summary");
    renderSummary(summary);
    refreshPeers(summary.peers || []);
  } catch (e) {
    setState("disconnected", "disconnected (" + (e.message || e) + "): retrying");
  }
}

async function refreshHistory() {
  try {
    history = await getJson("/history");
    renderEvents(history.events);
    drawChart();
  } catch (e) {
    // The summary's poll says disconnected.
  }
}

function message(text, kind) {
  const m = $("control-message");
  m.textContent = text;
  m.className = "message " + (kind || "");
}

async function control(action, token) {
  let r;
  try {
    r = await fetch("/control/" + action, { method: "POST", headers: { Authorization: "Bearer " + token } });
  } catch (e) {
    return message(action + ": " + (e.message || e), "error");
  }
  let body = {};
  try { body = await r.json(); } catch (e) { /* an empty answer */ }
  if (r.status === 401) {
    sessionStorage.removeItem("hashrig-token");
    return message(action + " refused: wrong token (" + (body.error || "401") + ")", "error");
  }
  if (!r.ok) return message(action + " refused: " + (body.error || "HTTP " + r.status), "error");
  sessionStorage.setItem("hashrig-token", token);
  message(action + ": done", "ok");
  refresh();
}

function ask(action) {
  if (summary && summary.control === false) {
    return message("control is off: start hashrig with --api-token (or HASHRIG_API_TOKEN)", "error");
  }
  const token = sessionStorage.getItem("hashrig-token");
  if (token) return control(action, token);
  pending = action;
  $("token-panel").hidden = false;
  $("token").focus();
}

function start() {
  for (const action of ["pause", "resume", "stop"]) {
    $(action).addEventListener("click", () => ask(action));
  }
  $("token-ok").addEventListener("click", () => {
    const token = $("token").value;
    $("token-panel").hidden = true;
    $("token").value = "";
    if (pending && token) control(pending, token);
    pending = null;
  });
  $("token").addEventListener("keydown", (e) => { if (e.key === "Enter") $("token-ok").click(); });
  $("token-cancel").addEventListener("click", () => { $("token-panel").hidden = true; pending = null; });
  window.addEventListener("resize", drawChart);
  // Light or dark changed: the chart in the other colours.
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", drawChart);
  refresh();
  refreshHistory();
  setInterval(refresh, SUMMARY_EVERY);
  setInterval(refreshHistory, HISTORY_EVERY);
}

document.addEventListener("DOMContentLoaded", start);

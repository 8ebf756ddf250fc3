// The troupe dashboard: one server-sent event stream (api/stream) carries
// the charts' history, then the application's state once a second. Every
// text from the application is set as text, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const series = {}; // message name -> points, as the server keeps them
let last = null;   // the last state
let maxPoints = 300;

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
  }
  for (const k of kids) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function num(n, digits) {
  if (n === undefined || n === null || isNaN(n)) return "–";
  if (digits === undefined) digits = n >= 100 ? 0 : n >= 10 ? 1 : 2;
  return n.toFixed(digits);
}

function dur(s) {
  if (!s) return "–";
  if (s < 1e-3) return (s * 1e6).toFixed(0) + " µs";
  if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + " ms";
  return s.toFixed(2) + " s";
}

function ago(t) {
  const s = (Date.now() - new Date(t).getTime()) / 1000;
  if (!isFinite(s)) return "–";
  if (s < 60) return Math.max(0, Math.round(s)) + "s";
  if (s < 3600) return Math.round(s / 60) + "m";
  if (s < 86400) return (s / 3600).toFixed(1) + "h";
  return (s / 86400).toFixed(1) + "d";
}

function clock(t) {
  const d = new Date(t);
  return isNaN(d) ? "–" : d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
}

function setLive(on, text) {
  document.body.dataset.live = on ? "on" : "off";
  $("status").textContent = text;
}

// The stream.
function connect() {
  const es = new EventSource("api/stream");
  es.addEventListener("open", () => setLive(true, "live"));
  es.addEventListener("error", () => setLive(false, "reconnecting…"));
  es.addEventListener("history", (ev) => {
    const h = JSON.parse(ev.data);
    for (const k of Object.keys(series)) delete series[k];
    Object.assign(series, h.series || {});
  });
  es.addEventListener("state", (ev) => {
    const st = JSON.parse(ev.data);
    for (const [name, p] of Object.entries(st.points || {})) {
      const s = series[name] || (series[name] = []);
      if (!s.length || s[s.length - 1].t < p.t) s.push(p);
      if (s.length > maxPoints) s.splice(0, s.length - maxPoints);
    }
    last = st;
    render(st);
    document.body.dataset.updates = String(Number(document.body.dataset.updates || 0) + 1);
  });
}

function render(st) {
  $("app").textContent = st.app || "troupe";
  document.title = (st.app || "troupe") + " · troupe dashboard";
  const err = $("error");
  err.hidden = !st.error;
  err.textContent = st.error ? "The last query failed: " + st.error : "";
  renderOverview(st);
  renderInstances(st);
  renderMessages(st);
  renderCharts(st);
  renderAlarms(st);
  renderCrashes(st);
  renderTrees(st);
  renderDead(st);
  renderActivities(st);
}

function renderOverview(st) {
  let instances = 0;
  for (const s of st.services) instances += s.instances.length;
  let rate = 0, errors = 0;
  for (const m of st.messages) { rate += m.rate; errors += m.errors; }
  const raised = st.alarms.filter((a) => a.active).length;
  $("n-nodes").textContent = st.nodes.length;
  $("n-instances").textContent = instances;
  $("n-rate").textContent = num(rate);
  $("n-errors").textContent = num(errors);
  $("n-alarms").textContent = raised;
  $("n-crashes").textContent = st.crashes.length;
  $("n-alarms").parentElement.classList.toggle("bad", raised > 0);
  $("n-errors").parentElement.classList.toggle("bad", errors > 0);
}

function renderInstances(st) {
  const rows = [];
  for (const s of st.services) {
    for (const i of s.instances) {
      rows.push(el("tr", { dataset: { service: s.name, instance: i.id } },
        el("td", { text: s.name }),
        el("td", { class: "mono", text: i.id }),
        el("td", { class: "mono", text: i.node }),
        el("td", { text: i.host + ":" + i.pid }),
        el("td", { class: "num", text: ago(i.started) }),
        el("td", { class: "num", text: i.processes }),
        el("td", { class: "num", text: i.mailbox }),
        el("td", { class: "num", text: i.restarts }),
        el("td", { class: "num" + (i.crashes ? " active" : ""), text: i.crashes })));
    }
  }
  fill($("instances").tBodies[0], rows);
}

function renderMessages(st) {
  const rows = st.messages.map((m) => el("tr", { dataset: { name: m.name } },
    el("td", { class: "mono", text: m.name }),
    el("td", { text: (m.receivers || []).join(", ") }),
    el("td", { class: "num", text: num(m.rate) }),
    el("td", { class: "num", text: num(m.received) }),
    el("td", { class: "num" + (m.errors > 0 ? " active" : ""), text: num(m.errors) }),
    el("td", null, ...Object.entries(m.codes || {}).map(([c, r]) => el("span", { class: "code", text: c + " " + num(r) + "/s" }))),
    el("td", { class: "num", text: dur(m.p50) }),
    el("td", { class: "num", text: dur(m.p90) }),
    el("td", { class: "num", text: dur(m.p99) }),
    el("td", { class: "num", text: m.inFlight }),
    el("td", { class: "num", text: m.sent + (m.failed ? " (" + m.failed + " failed)" : "") })));
  fill($("messages").tBodies[0], rows);
}

// Charts: one per message that had traffic, the busiest first.
function renderCharts(st) {
  const box = $("charts");
  const names = Object.keys(series).filter((n) => series[n].some((p) => p.rate > 0 || p.errors > 0));
  const total = (n) => series[n].reduce((a, p) => a + p.rate, 0);
  names.sort((a, b) => total(b) - total(a));
  const shown = names.slice(0, 12);
  const have = new Map([...box.children].map((c) => [c.dataset.name, c]));
  const kids = shown.map((n) => {
    let c = have.get(n);
    if (!c) {
      c = el("div", { class: "chart", dataset: { name: n } }, el("div", { class: "title mono", text: n }), el("canvas", { width: 330, height: 110 }));
    }
    return c;
  });
  box.replaceChildren(...kids);
  for (const c of kids) draw(c.querySelector("canvas"), series[c.dataset.name]);
}

function draw(canvas, pts) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 330, h = canvas.clientHeight || 110;
  if (canvas.width !== Math.round(w * dpr)) { canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr); }
  const g = canvas.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const pad = { l: 34, r: 40, t: 6, b: 14 };
  const pw = w - pad.l - pad.r, ph = h - pad.t - pad.b;
  g.strokeStyle = "#dde1e8"; g.lineWidth = 1;
  g.strokeRect(pad.l, pad.t, pw, ph);
  if (!pts || !pts.length) return;
  const n = maxPoints;
  const x = (i) => pad.l + pw * (1 - (pts.length - 1 - i) / (n - 1));
  const maxRate = Math.max(1, ...pts.map((p) => Math.max(p.rate, p.errors)));
  const maxLat = Math.max(1e-4, ...pts.map((p) => p.p99));
  const line = (get, max, color) => {
    g.beginPath(); g.strokeStyle = color; g.lineWidth = 1.5;
    pts.forEach((p, i) => {
      const y = pad.t + ph * (1 - get(p) / max);
      if (i === 0) g.moveTo(x(i), y); else g.lineTo(x(i), y);
    });
    g.stroke();
  };
  line((p) => p.rate, maxRate, "#2f6fde");
  line((p) => p.errors, maxRate, "#c62828");
  line((p) => p.p99, maxLat, "#c77700");
  g.fillStyle = "#6b7383"; g.font = "10px system-ui";
  g.textAlign = "right"; g.fillText(num(maxRate, maxRate >= 10 ? 0 : 1) + "/s", pad.l - 3, pad.t + 8);
  g.fillText("0", pad.l - 3, pad.t + ph);
  g.textAlign = "left"; g.fillText(dur(maxLat), pad.l + pw + 3, pad.t + 8);
  g.fillText(Math.round(n * ((last && last.interval) || 1) / 60) + " min", pad.l, h - 2);
}

function renderAlarms(st) {
  fill($("alarm-table").tBodies[0], st.alarms.map((a) => el("tr", { dataset: { alarm: a.name } },
    el("td", { text: a.name }),
    el("td", { class: "mono", text: a.node }),
    el("td", { class: a.active ? "active" : "ok", text: a.active ? "raised" : "clear" }),
    el("td", { text: a.since && !a.since.startsWith("0001") ? ago(a.since) + " ago" : "–" }),
    el("td", { text: a.message || "" }))));
  const evs = st.alarmEvents.slice(0, 100).map((e) => el("li", null,
    el("span", { class: "muted", text: clock(e.at) + " " }),
    el("span", { class: e.state === "raised" ? "active" : "ok", text: e.state + " " }),
    e.message));
  $("alarm-events").replaceChildren(...(evs.length ? evs : [el("li", { class: "muted", text: "no alarm has been raised" })]));
}

function renderCrashes(st) {
  const list = $("crash-list");
  const open = new Set([...list.querySelectorAll("details[open]")].map((d) => d.dataset.incident));
  const items = st.crashes.slice(0, 10).map((c) => el("div", { class: "crash", dataset: { incident: c.incident } },
    el("div", { class: "head" }, (c.service || "?") + " ", el("span", { class: "mono", text: c.instance || "" }),
      " · " + (c.process || "process") + (c.name ? " · " + c.name : "") + " · incident ", el("code", { text: c.incident })),
    el("div", null, el("span", { class: "muted", text: clock(c.at) + " " }), el("strong", { text: "panic: " }), c.panic),
    c.messageType ? el("div", { class: "muted", text: "handling " + c.messageType + (c.activity ? " · activity " + c.activity : "") + (c.traceId ? " · trace " + c.traceId : "") }) : null,
    el("details", { dataset: { incident: c.incident }, open: open.has(c.incident) },
      el("summary", { text: "stack" }), el("pre", { text: c.stack }))));
  if (st.crashes.length > items.length) items.push(el("p", { class: "muted", text: (st.crashes.length - items.length) + " older crash reports not shown" }));
  list.replaceChildren(...(items.length ? items : [el("p", { class: "muted", text: "no crash reported" })]));
}

function renderTree(p) {
  const badge = [];
  if (p.mailbox) badge.push(el("span", { class: "badge busy", text: p.mailbox + " waiting" }));
  if (p.restarts) badge.push(el("span", { class: "badge", text: p.restarts + " restarts" }));
  if (p.restarting) badge.push(el("span", { class: "badge busy", text: "restarting" }));
  if (p.pid) badge.push(el("span", { class: "badge mono", text: p.pid }));
  const kids = (p.children || []).map(renderTree);
  if (p.more) kids.push(el("li", { class: "muted", text: "… " + p.more + " more" }));
  return el("li", null, el("span", { class: p.supervisor ? "sup" : "", text: p.child || p.name || "(process)" }), ...badge,
    kids.length ? el("ul", null, ...kids) : null);
}

function renderTrees(st) {
  const boxes = [];
  for (const s of st.services) {
    for (const i of s.instances) {
      if (!i.tree) continue;
      boxes.push(el("div", { class: "tree", dataset: { instance: i.id } },
        el("div", null, el("strong", { text: s.name + " " }), el("span", { class: "mono muted", text: i.id })),
        el("ul", null, renderTree(i.tree))));
    }
  }
  $("tree-list").replaceChildren(...(boxes.length ? boxes : [el("p", { class: "muted", text: "no supervision tree" })]));
}

function renderDead(st) {
  const rows = st.deadLetters.slice(0, 50).map((d) => el("tr", null,
    el("td", { text: clock(d.at) }), el("td", { class: "mono", text: d.name }), el("td", { text: d.service }),
    el("td", { class: "mono", text: d.id }), el("td", { class: "mono", text: d.activity || "" }), el("td", { text: d.reason })));
  fill($("dead-table").tBodies[0], rows.length ? rows : [el("tr", null, el("td", { class: "muted", colspan: 6, text: "no dead letter" }))]);
}

function renderActivities(st) {
  const rows = st.activities.slice(0, 12).map((a) => el("tr", { class: "clickable", dataset: { activity: a.id }, onclick: () => follow(a.id) },
    el("td", { text: clock(a.start) }),
    el("td", { class: "mono" + (a.failed ? " active" : ""), text: a.name || "?" }),
    el("td", { text: a.from }),
    el("td", { text: a.services.join(", ") }),
    el("td", { class: "num", text: a.hops }),
    el("td", { class: "num", text: dur(a.took) })));
  fill($("activity-list").tBodies[0], rows.length ? rows : [el("tr", null, el("td", { class: "muted", colspan: 6, text: "no activity recorded yet" }))]);
}

// One activity as a timeline of its hops.
async function follow(id) {
  $("activity-id").value = id;
  const box = $("timeline");
  box.replaceChildren(el("p", { class: "muted", text: "loading " + id + "…" }));
  let tl;
  try {
    const r = await fetch("api/activity?id=" + encodeURIComponent(id));
    if (!r.ok) throw new Error(await r.text());
    tl = await r.json();
  } catch (e) {
    box.replaceChildren(el("p", { class: "error", text: String(e) }));
    return;
  }
  if (!tl.rows.length) {
    box.replaceChildren(el("p", { class: "muted", text: "no hop of " + id + " was recorded (nodes record while a dashboard is open, and a sample of the activities under heavy traffic)" }));
    return;
  }
  const span = Math.max(1e-6, ...tl.rows.map((r) => r.end));
  const rows = tl.rows.map((r) => {
    const bar = el("div", { class: "bar" + (r.code ? " failed" : "") + (r.kind !== "request" ? " oneway" : ""), title: r.name + (r.code ? " → " + r.code : "") });
    bar.style.left = (100 * r.start / span) + "%";
    bar.style.width = Math.max(0.4, 100 * (r.end - r.start) / span) + "%";
    const label = r.kind + " " + r.name + "  " + r.from + " → " + ((r.to || []).join(", ") || "?") +
      (r.kind === "request" ? "  " + dur(r.end - r.start) : "") + (r.code ? "  " + r.code : r.reply ? "  " + r.reply : "");
    return el("div", { class: "row", dataset: { id: r.id } }, el("div", { class: "label mono", title: label, text: label }), el("div", { class: "lane" }, bar));
  });
  box.replaceChildren(el("div", { class: "row" }, el("div", { class: "mono", text: "activity " + id }), el("div", { class: "axis", text: dur(span) })), ...rows);
}

// The live tap.
let tap = null;
function toggleTap(ev) {
  ev.preventDefault();
  if (tap) {
    tap.close();
    tap = null;
    $("tap-toggle").textContent = "Start";
    $("tap-status").textContent = "stopped";
    return;
  }
  const q = new URLSearchParams();
  for (const n of $("tap-name").value.split(/[\s,]+/).filter(Boolean)) q.append("name", n);
  for (const s of $("tap-service").value.split(/[\s,]+/).filter(Boolean)) q.append("service", s);
  tap = new EventSource("api/tap?" + q);
  $("tap-toggle").textContent = "Stop";
  $("tap-status").textContent = "tapping…";
  const body = $("tap-table").tBodies[0];
  let dropped = 0;
  tap.addEventListener("hops", (e) => {
    const f = JSON.parse(e.data);
    dropped += f.dropped || 0;
    $("tap-status").textContent = dropped ? dropped + " messages not shown (too many to show)" : "tapping…";
    for (const h of f.hops) {
      const row = el("tr", { class: "clickable", dataset: { activity: h.activity }, onclick: () => follow(h.activity) },
        el("td", { text: clock(h.at) }), el("td", { text: h.event }),
        el("td", { class: "mono", text: h.service + "/" + h.instance }),
        el("td", { text: h.kind }), el("td", { class: "mono", text: h.name }), el("td", { class: "mono", text: h.from }),
        el("td", { class: h.code ? "active" : "", text: h.code || "" }),
        el("td", { class: "payload mono", text: h.payload === undefined ? "" : JSON.stringify(h.payload) }));
      body.prepend(row);
    }
    while (body.rows.length > 300) body.deleteRow(-1);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  $("activity-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("activity-id").value.trim();
    if (id) follow(id);
  });
  $("tap-form").addEventListener("submit", toggleTap);
  connect();
});

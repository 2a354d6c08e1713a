"use strict";
// Allot's operator page: plain JS and inline SVG, no outside resources.
// It reads the API (api/routes.go) and long-polls GET /v1/plan for live updates.

const RES = ["cpu", "memory", "io", "net"];
// A service placed on many nodes: the page stays readable (and light).
const MAX_ROWS = 100, MAX_CHART_NODES = 8;

// ---- units: the API speaks millicores, bytes, bytes/s and bits/s ----
function scaled(v, step, units, digits) {
  let i = 0;
  while (Math.abs(v) >= step && i < units.length - 1) { v /= step; i++; }
  return (i === 0 ? String(Math.round(v)) : v.toFixed(digits)) + " " + units[i];
}
const fmt = {
  cpu: v => Math.abs(v) >= 1000 ? (v / 1000).toFixed(2) + " cores" : Math.round(v) + " millicores",
  memory: v => scaled(v, 1024, ["B", "KiB", "MiB", "GiB", "TiB"], 1),
  io: v => scaled(v, 1024, ["B/s", "KiB/s", "MiB/s", "GiB/s"], 1),
  net: v => scaled(v, 1000, ["bit/s", "kbit/s", "Mbit/s", "Gbit/s"], 1),
};
// Chart axes: one unit per chart (cpu always in cores).
const axisFmt = {...fmt, cpu: v => (v / 1000).toFixed(v < 10000 ? 2 : 0) + " cores"};
// An allocation of 0 sets no limit.
const fmtAlloc = (r, v) => v ? fmt[r](v) : "unlimited";
// Shadow prices are utility per base unit; shown per natural unit.
const priceUnit = {cpu: [1000, "core"], memory: [1 << 30, "GiB"], io: [1 << 20, "MiB/s"], net: [1e6, "Mbit/s"]};
function fmtPrice(r, p) {
  if (!p) return "—";
  const [k, u] = priceUnit[r];
  const v = p * k;
  return (Math.abs(v) >= 0.01 && Math.abs(v) < 1e4 ? v.toPrecision(3) : v.toExponential(2)) + " per " + u;
}
const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const $ = id => document.getElementById(id);
function rows(id, list) {
  $(id).querySelector("tbody").innerHTML = list.map(r => "<tr>" + r.map(c => "<td>" + c + "</td>").join("") + "</tr>").join("");
}

// ---- API access (with ACLs on: open /ui/#token=SECRET; the fragment never reaches the server) ----
const tm = location.hash.match(/token=([^&]+)/);
if (tm) { sessionStorage.setItem("allot-token", decodeURIComponent(tm[1])); history.replaceState(null, "", location.pathname); }
const hdrs = () => { const t = sessionStorage.getItem("allot-token"); return t ? {"X-Allot-Token": t} : {}; };
async function j(p) {
  const r = await fetch(p, {headers: hdrs()});
  if (r.status === 403) throw new Error(p + ": 403 (ACLs are on: open /ui/#token=SECRET with a read token)");
  if (!r.ok) throw new Error(p + ": HTTP " + r.status);
  return r.json();
}
const maybe = p => j(p).catch(() => null);

// ---- charts ----
// chart draws one (service, node, resource): the forecast band p50–p99 with
// p90, the allocation and the actual usage per epoch. Each series' values
// are also in its data-points attribute ("epoch:value ...", base units).
function chart(title, res, s) {
  const W = 310, H = 130, L = 72, R = 8, T = 18, B = 20;
  const all = [...s.alloc, ...s.p50, ...s.p99, ...s.actual];
  if (!all.length) return "";
  const xs = all.map(p => p[0]), ys = all.map(p => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1), y1 = Math.max(...ys, 1) * 1.1;
  const X = e => (L + (e - x0) / (x1 - x0) * (W - L - R)).toFixed(1);
  const Y = v => (T + (1 - v / y1) * (H - T - B)).toFixed(1);
  const pts = ser => ser.map(p => X(p[0]) + "," + Y(p[1])).join(" ");
  const data = ser => ser.map(p => p[0] + ":" + p[1]).join(" ");
  let band = "";
  if (s.p50.length) {
    const hi = s.p99.map(p => X(p[0]) + "," + Y(p[1])), lo = s.p50.slice().reverse().map(p => X(p[0]) + "," + Y(p[1]));
    band = `<polygon class="band" points="${hi.concat(lo).join(" ")}" fill="var(--band)" fill-opacity=".55" stroke="none"/>`;
  }
  // the allocation holds for a whole epoch: a step line
  const step = s.alloc.flatMap((p, i) => i ? [[p[0], s.alloc[i - 1][1]], p] : [p]);
  const grid = [0, .5, 1].map(f => `<line x1="${L}" x2="${W - R}" y1="${Y(y1 * f / 1.1)}" y2="${Y(y1 * f / 1.1)}" stroke="#e6e8eb"/><text x="${L - 4}" y="${+Y(y1 * f / 1.1) + 3}" text-anchor="end">${esc(axisFmt[res](y1 * f / 1.1))}</text>`).join("");
  // An allocation of 0 is no limit: not drawn as a line at 0.
  const limited = step.filter(p => p[1] > 0);
  const unlimited = s.alloc.length && !limited.length ? `<text x="${W - R}" y="12" text-anchor="end" fill="var(--alloc)">allocation: unlimited</text>` : "";
  return `<svg class="chart" width="${W}" height="${H}" data-title="${esc(title)}" data-resource="${res}">` +
    `<text class="title" x="${L}" y="12">${esc(title)}</text>${unlimited}${grid}` +
    `<text x="${L}" y="${H - 5}">epoch ${x0}</text><text x="${W - R}" y="${H - 5}" text-anchor="end">${x1}</text>` + band +
    `<polyline class="p50" data-points="${data(s.p50)}" points="${pts(s.p50)}" fill="none" stroke="none"/>` +
    `<polyline class="p99" data-points="${data(s.p99)}" points="${pts(s.p99)}" fill="none" stroke="none"/>` +
    `<polyline class="p90" data-points="${data(s.p90)}" points="${pts(s.p90)}" fill="none" stroke="var(--p90)" stroke-dasharray="4 3"/>` +
    `<polyline class="alloc" data-points="${data(s.alloc)}" points="${pts(limited)}" fill="none" stroke="var(--alloc)" stroke-width="2"/>` +
    `<polyline class="actual" data-points="${data(s.actual)}" points="${pts(s.actual)}" fill="none" stroke="var(--actual)" stroke-width="1.5"/>` +
    s.actual.map(p => `<circle cx="${X(p[0])}" cy="${Y(p[1])}" r="1.8" fill="var(--actual)"/>`).join("") + `</svg>`;
}

// series gathers, per node and resource, the four series of one service
// from its allocation history and its forecast view.
function series(hist, fc) {
  const out = {};
  const get = (node, r) => {
    out[node] ??= {};
    return out[node][r] ??= {alloc: [], p50: [], p90: [], p99: [], actual: []};
  };
  for (const p of (hist && hist.points) || []) for (const r of RES) get(p.node, r).alloc.push([p.epoch, p[r]]);
  for (const n of (fc && fc.nodes) || []) {
    for (const [r, fr] of Object.entries(n.resources || {})) {
      const s = get(n.node, r);
      for (const pt of fr.points || []) {
        s.actual.push([pt.epoch, pt.actual]);
        if (pt.p50 != null) { s.p50.push([pt.epoch, pt.p50]); s.p90.push([pt.epoch, pt.p90]); s.p99.push([pt.epoch, pt.p99]); }
      }
    }
  }
  return out;
}

function serviceCard(svc, hist, fc, boost, plan) {
  const weight = svc.weight || ({critical: 8, standard: 4, batch: 1})[svc.class] || "";
  let h = `<div class="card service" data-service="${esc(svc.name)}"><h3>${esc(svc.name)}<span class="badge">${esc(svc.class)}</span><span class="badge">weight ${esc(weight)}</span>`;
  if (boost) h += `<span class="badge boost">boost ×${esc(boost.factor)} until epoch ${esc(boost.start_epoch + boost.ttl_epochs)}${boost.reason ? " — " + esc(boost.reason) : ""}</span>`;
  h += `</h3>`;
  const ser = series(hist, fc);
  const allocs = (plan && plan.allocations || []).filter(a => a.service === svc.name);
  if (allocs.length) {
    h += `<table class="placements"><thead><tr><th>node</th>${RES.map(r => `<th>${r} allocated</th><th>${r} used</th>`).join("")}</tr></thead><tbody>`;
    for (const a of allocs.slice(0, MAX_ROWS)) {
      h += `<tr><td>${esc(a.node)}</td>` + RES.map(r => {
        const act = ser[a.node] && ser[a.node][r] && ser[a.node][r].actual;
        const last = act && act.length ? fmt[r](act[act.length - 1][1]) : "—";
        return `<td class="alloc-${r}">${esc(fmtAlloc(r, a[r]))}</td><td class="muted">${esc(last)}</td>`;
      }).join("") + `</tr>`;
    }
    h += `</tbody></table>`;
    if (allocs.length > MAX_ROWS) h += `<p class="muted">showing ${MAX_ROWS} of ${allocs.length} placements</p>`;
  } else h += `<p class="muted">no placement in the latest plan</p>`;
  const nodes = Object.keys(ser).sort();
  if (nodes.length > MAX_CHART_NODES) h += `<p class="muted">charts of the first ${MAX_CHART_NODES} of ${nodes.length} nodes</p>`;
  for (const node of nodes.slice(0, MAX_CHART_NODES)) {
    const charts = RES.map(r => {
      const s = ser[node][r];
      const has = s.p50.length || s.actual.length || s.alloc.some(p => p[1] > 0);
      return has ? chart(`${node} · ${r}`, r, s) : "";
    }).join("");
    if (charts) h += `<div class="charts" data-node="${esc(node)}">${charts}</div>`;
  }
  h += `<details data-service="${esc(svc.name)}"><summary>explain placements (epoch ${esc(plan ? plan.epoch : "—")})</summary><div class="explain muted">loading…</div></details></div>`;
  return h;
}

// explained keeps the last explanation shown per service, so a page
// refresh shows it at once while the new plan's is fetched.
const explained = new Map();
async function loadExplain(d) {
  const box = d.querySelector(".explain");
  if (explained.has(d.dataset.service)) { box.className = "explain"; box.innerHTML = explained.get(d.dataset.service); }
  try {
    const v = await j("/v1/plan/explain/" + encodeURIComponent(d.dataset.service));
    box.className = "explain";
    box.innerHTML = (v.placements || []).map(p => {
      let t = `<p><b>${esc(p.node)}</b>: weight ${esc(p.weight)}, boost ×${esc(p.boost)}</p><table><thead><tr><th>resource</th><th>floor</th><th>granted</th><th class="l">binding</th><th>shadow price</th><th class="l">segments above the floor (granted / width at utility)</th></tr></thead><tbody>`;
      for (const r of RES) {
        const e = (p.resources || {})[r];
        if (!e) continue;
        const segs = (e.segments || []).map(s => `${esc(s.name)}: ${esc(fmt[r](s.granted))} / ${esc(fmt[r](s.width))} at ${esc(fmtPrice(r, s.value))}`).join("; ");
        t += `<tr><td>${r}</td><td>${esc(fmt[r](e.floor))}</td><td>${esc(fmtAlloc(r, e.granted))}</td><td class="l">${esc(e.binding)}</td><td>${esc(fmtPrice(r, e.shadow_price))}</td><td class="l">${segs || "—"}</td></tr>`;
      }
      return t + "</tbody></table>";
    }).join("") || "no placements";
    explained.set(d.dataset.service, box.innerHTML);
  } catch (e) { box.innerHTML = `<span class="bad">${esc(e.message)}</span>`; }
}

const openExplain = new Set();
let index = 0;

async function refresh() {
  const [leader, members, svcs, plan, boosts, raft] = await Promise.all([maybe("/v1/status/leader"), maybe("/v1/agent/members"),
    j("/v1/services"), maybe("/v1/plan"), maybe("/v1/boosts"), maybe("/v1/status/raft")]);
  $("status").innerHTML = leader && (leader.name || leader.id) ? `leader <b>${esc(leader.name || leader.id)}</b> at ${esc(leader.address)}` : '<span class="bad">no leader</span>';
  if (plan) {
    index = plan.index;
    const e = $("epoch");
    e.dataset.epoch = plan.epoch;
    e.innerHTML = `epoch <b>${esc(plan.epoch)}</b> <span class="muted">· ${esc(new Date(plan.created).toLocaleTimeString())} · solve ${esc(plan.stats.solve_ms.toFixed(1))} ms · Jain fairness ${esc((plan.stats.fairness_jain || 0).toFixed(3))} · ${esc(plan.hash.slice(0, 19))}…</span>`;
    $("problems").innerHTML = (plan.problems || []).length ? `<div class="problems"><b>Plan problems</b><ul>${plan.problems.map(p => `<li>${esc(p)}</li>`).join("")}</ul></div>` : "";
  }
  const boostBy = {};
  for (const b of boosts || []) boostBy[b.service] = b;
  const views = await Promise.all(svcs.map(s => Promise.all([maybe("/v1/plan/history/" + encodeURIComponent(s.name)), maybe("/v1/forecast/" + encodeURIComponent(s.name))])));
  $("services").innerHTML = svcs.length ? svcs.map((s, i) => serviceCard(s, views[i][0], views[i][1], boostBy[s.name] || s.boost, plan)).join("") : '<p class="muted">no services registered</p>';
  for (const d of document.querySelectorAll("#services details")) {
    if (openExplain.has(d.dataset.service)) { d.open = true; loadExplain(d); }
    d.addEventListener("toggle", () => { if (d.open) { openExplain.add(d.dataset.service); loadExplain(d); } else openExplain.delete(d.dataset.service); });
  }
  rows("boosts", (boosts || []).map(b => [esc(b.service), "×" + esc(b.factor), esc(b.start_epoch), esc(b.start_epoch + b.ttl_epochs), `<span class="l">${esc(b.reason || "—")}</span>`]));
  const used = {};
  for (const a of (plan && plan.allocations) || []) { used[a.node] ??= {cpu: 0, memory: 0, io: 0, net: 0}; for (const r of RES) used[a.node][r] += a[r]; }
  rows("nodes", ((plan && plan.nodes) || []).map(n => {
    const u = used[n.node] || {cpu: 0, memory: 0, io: 0, net: 0};
    const cell = r => {
      const cap = n.capacity[r];
      if (!cap) return `${esc(fmt[r](u[r]))} / <span class="muted">no capacity set</span>`;
      return `<span class="bar" style="width:${(Math.min(u[r] / cap, 1) * 5).toFixed(2)}em"></span>${esc(fmt[r](u[r]))} / ${esc(fmt[r](cap))}`;
    };
    const sp = RES.map(r => `${r} ${esc(fmtPrice(r, (n.shadow_price || {})[r]))}`).join(" · ");
    return [esc(n.node), cell("cpu"), cell("memory"), cell("io"), cell("net"), sp];
  }));
  rows("peers", ((raft && raft.peers) || []).map(p => [esc(p.name || p.id), `<span class="l">${esc(p.address)}</span>`, p.voter ? "yes" : "no",
    `<span class="${p.state === "unreachable" ? "bad" : p.state === "leader" ? "ok" : ""}" title="${esc(p.error)}">${esc(p.state)}</span>`, esc(p.applied_index), esc(p.lag)]));
  rows("members", (members || []).map(m => [esc(m.name), `<span class="l">${esc(m.address)}</span>`, esc(m.role),
    `<span class="${m.status === "alive" ? "ok" : "bad"}">${esc(m.status)}</span>`, esc(m.version)]));
}

const sleep = ms => new Promise(r => setTimeout(r, ms));
async function loop() {
  for (;;) {
    try { await refresh(); $("live").className = "on"; $("live").title = "live"; }
    catch (e) { $("status").innerHTML = `<span class="bad">${esc(e.message)}</span>`; $("live").className = "muted"; await sleep(2000); }
    try {
      const r = await fetch("/v1/plan?index=" + index + "&wait=30s", {headers: hdrs()});
      if (!r.ok) await sleep(2000);
    } catch (e) { await sleep(2000); }
  }
}
loop();

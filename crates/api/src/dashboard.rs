//! The dashboard: one self-contained page (no build step, no CDN: the
//! phones' networks are often closed) from which an operator runs a
//! conversion. It shows each phone's stage and failure reason, each job's
//! phones, the power-cycle list with the desk to walk to, and filters the
//! phone list server-side with paging. It follows the server's event
//! stream (`/api/stream`) and re-reads only the page it shows, only when
//! something changed; image downloads under way arrive in the stream and
//! move their progress bars without any re-read. A selected job shows its
//! phones with their registration verdicts and a chart (plain SVG) of its
//! stages over time. Actions (preview, create, start, pause, resume,
//! cancel) go through the jobs API with the token the operator types,
//! kept in this browser only.
//!
//! Owns the page; every rule it shows (stage, normal miss, power cycle)
//! comes computed from the API, never re-derived in the script.

pub const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>phoneflip</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.2rem;color:#1d2330;background:#f6f7f9}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
.cards{display:flex;gap:.6rem;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:.5rem .9rem;min-width:7rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.85rem}
th,td{border-bottom:1px solid #e3e6ec;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4} tr.sel{background:#fff6d6} tbody.click tr{cursor:pointer}
.st-converted{color:#137333;font-weight:600}.st-converting{color:#b06000;font-weight:600}
.st-unseen{color:#5f6368}.st-unmanaged{color:#9aa0a6}
.sg-configuration_fetched,.sg-registered{color:#137333;font-weight:600}
.sg-loader_fetched,.sg-application_fetched{color:#b06000;font-weight:600}
.sg-failed{color:#c5221f;font-weight:600}.sg-unseen,.sg-seen{color:#5f6368}
.bad{color:#c5221f}.miss{color:#9aa0a6} #updated{color:#5f6368;font-size:.8rem}
form.row{display:flex;gap:.4rem;flex-wrap:wrap;align-items:end;margin:.3rem 0}
form.row label{display:flex;flex-direction:column;font-size:.75rem;color:#5f6368}
input,select{font-size:.85rem;padding:.2rem} .panel{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:.6rem;margin:.4rem 0}
#msg{font-size:.85rem} .walk{background:#fff3f0}
progress{width:7rem;height:.8rem} .ok{color:#137333} #chart svg{background:#fff;border:1px solid #e3e6ec}
.lg{display:inline-block;width:.8rem;height:.8rem;margin:0 .2rem 0 .6rem;vertical-align:middle}
</style></head>
<body>
<h1>phoneflip control room</h1><div id="updated">loading…</div>
<div id="db-alert" class="panel bad" hidden></div>
<form class="row" id="auth"><label>API token (writes)<input id="token" type="password" autocomplete="off" size="18"></label><span id="msg"></span></form>
<h2>Phones by state</h2><div class="cards" id="states"></div>
<h2>Phones by stage</h2><div class="cards" id="stages"></div>
<h2>Power-cycle list <small id="pc-count"></small></h2>
<p style="font-size:.8rem;margin:.2rem 0">SCCP phones can only be reset by their call manager: pull the power (or Ethernet) cord of each phone below once, and it fetches its new firmware.</p>
<table id="power-cycle"><thead><tr><th>Site</th><th>Desk (description)</th><th>Extension</th><th>MAC</th><th>Model</th><th>Job</th><th>Stage</th></tr></thead><tbody></tbody></table>
<h2>Migration jobs</h2>
<table id="jobs"><thead><tr><th>Job</th><th>Description</th><th>Target</th><th>Status</th><th>Converted</th><th>In progress</th><th>Waiting</th><th>Failed</th><th>Actions</th></tr></thead><tbody class="click"></tbody></table>
<div id="job-detail" class="panel" hidden><b id="job-title"></b>
<div id="chart"></div>
<div id="job-pager"><button id="job-prev">&larr; previous</button> <span id="job-page"></span> <button id="job-next">next &rarr;</button></div>
<table id="job-phones"><thead><tr><th>MAC</th><th>Description</th><th>Extension</th><th>Batch</th><th>Stage</th><th>Download</th><th>Registration</th><th>Reason</th><th>Note</th></tr></thead><tbody></tbody></table></div>
<h2>Downloads under way <small id="dl-count"></small></h2>
<table id="downloads"><thead><tr><th>MAC</th><th>Client</th><th>File</th><th>Progress</th><th>Bytes</th></tr></thead><tbody></tbody></table>
<details class="panel" id="new-job"><summary><b>New job from a query</b></summary>
<form class="row" id="job-form">
<label>Description<input name="description" value="SCCP to SIP" required></label>
<label>Template<input name="template" value="demo-sip" required></label>
<label>To<input name="to" value="sip:8.12" size="10"></label>
<label>Site<input name="site" size="8"></label>
<label>Model<select name="model"><option value="">any</option><option>7940</option><option>7960</option></select></label>
<label>Runs protocol<select name="current"><option value="">any</option><option>sccp</option><option>sip</option></select></label>
<label>MAC pattern<input name="mac_pattern" size="12" placeholder="0019AA*"></label>
<label>Tag<input name="tag" size="8"></label>
<label>Canary<input name="canary_size" type="number" value="1" min="0" size="3"></label>
<label>Batch<input name="batch_size" type="number" value="5" min="1" size="3"></label>
<label>Register within (s)<input name="register_grace_s" type="number" value="120" min="0" size="4"></label>
<button type="button" id="preview">Preview</button><button type="button" id="create">Create job</button></form>
<div id="preview-out"></div></details>
<h2>Phones</h2>
<form class="row" id="filters">
<label>Search description<input name="q" size="12"></label>
<label>Site<input name="site" size="8"></label>
<label>Model<select name="model"><option value="">any</option><option>7940</option><option>7960</option></select></label>
<label>Load<input name="load" size="12"></label>
<label>Stage<select name="stage"><option value="">any</option><option>unseen</option><option>seen</option><option>loader_fetched</option><option>application_fetched</option><option>configuration_fetched</option><option>registered</option><option>failed</option></select></label>
<label>Job<input name="job" size="4"></label>
<label>MAC<input name="mac" size="12"></label>
<label>Extension<input name="extension" size="6"></label>
<button>Filter</button></form>
<div id="pager"><button id="prev">&larr; previous</button> <span id="page"></span> <button id="next">next &rarr;</button></div>
<table id="phones"><thead><tr><th>MAC</th><th>Model</th><th>Site</th><th>Description</th><th>Extension</th><th>Runs</th><th>Wanted</th><th>State</th><th>Stage</th><th>Registration</th><th>Reason</th></tr></thead><tbody class="click"></tbody></table>
<h2 id="tl-title">Recent TFTP requests</h2>
<table id="events"><thead><tr><th>Time</th><th>Client</th><th>MAC</th><th>File</th><th>Bytes</th><th>Outcome</th></tr></thead><tbody></tbody></table>
<script>
let selected = null, selectedJob = null, offset = 0, total = 0, jobOffset = 0, jobTotal = 0, log = [], downloads = [];
const PAGE = 50, $ = id => document.getElementById(id);
// `#job=ID` opens a job's phones: a link to hand to whoever walks the floor.
{ const m = location.hash.match(/job=(\d+)/); if (m) selectedJob = Number(m[1]); }
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
$("token").value = localStorage.getItem("phoneflip-token") || "";
$("token").addEventListener("change", () => localStorage.setItem("phoneflip-token", $("token").value));
const say = (t, bad) => { $("msg").textContent = t; $("msg").className = bad ? "bad" : ""; };
async function api(method, url, body){
  const h = {"content-type": "application/json"}; const t = $("token").value;
  if (t) h.authorization = "Bearer " + t;
  const r = await fetch(url, {method, headers: h, body: body === undefined ? undefined : JSON.stringify(body)});
  const v = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error(v && v.error || r.statusText);
  return v;
}
function cards(id, obj){ $(id).innerHTML =
  Object.entries(obj || {}).map(([k,v]) => `<div class="card" data-key="${esc(k)}"><b>${v}</b>${esc(k)}</div>`).join("") || "<i>none</i>"; }
const outcome = e => e.normal_miss ? `<td class="miss">${esc(e.outcome)} (normal)</td>` : `<td class="${e.outcome==="sent"?"":"bad"}">${esc(e.outcome)}</td>`;
const eventRows = evs => evs.map(e => `<tr><td>${new Date(e.time_ms).toLocaleTimeString()}</td><td>${esc(e.client_ip)}</td><td>${esc(e.mac)}</td><td>${esc(e.file)}</td><td>${e.bytes}</td>${outcome(e)}</tr>`).join("");
const ext = p => esc((p.lines || []).map(l => l.name).join(", "));
// The job's registration verdict (per line, in the API's words).
const regCell = p => `<td class="reg ${p.registered===true?"ok":p.registered===false?"bad":""}">${esc(p.registration)}</td>`;
function filterQuery(){
  const f = new FormData($("filters")), q = new URLSearchParams();
  for (const [k, v] of f) if (v) q.set(k, v);
  q.set("limit", PAGE); q.set("offset", offset); return q.toString();
}
function jobQuery(){
  const f = Object.fromEntries(new FormData($("job-form"))), q = {};
  for (const k of ["site", "model", "mac_pattern", "tag"]) if (f[k]) q[k] = f[k];
  if (f.current) q.current = {protocol: f.current};
  return {f, q};
}
async function refreshPhones(){
  const page = await api("GET", "/api/phones?" + filterQuery());
  const phones = page.phones; total = page.total;
  $("page").textContent = total ? `phones ${offset+1}–${offset+phones.length} of ${total}` : "no phones match";
  $("prev").disabled = offset === 0; $("next").disabled = offset + PAGE >= total;
  const body = document.querySelector("#phones tbody");
  body.innerHTML = phones.map(p =>
    `<tr data-mac="${p.mac}" class="${p.mac===selected?"sel":""}"><td>${p.mac}</td><td>${p.model}</td><td>${esc(p.site)}</td><td>${esc(p.description)}</td><td>${ext(p)}</td><td>${esc(p.observed_load)}</td><td>${esc(p.desired_load ?? p.desired_protocol)}</td><td class="st-${p.state}">${p.state}</td><td class="sg-${p.stage}">${p.stage.replace(/_/g, " ")}</td>${regCell(p)}<td class="${p.stage==="failed"?"bad":""}">${esc(p.reason)}</td></tr>`).join("");
  // When the first page was on screen (the 10,000-phone test reads it).
  if (window.firstPageMs === undefined && phones.length) window.firstPageMs = performance.now();
}
// The buttons a job's status allows (the jobs API refuses the others).
const ACTIONS = {pending: ["start"], scheduled: ["start"], running: ["pause"], paused: ["resume"]};
const actions = j => (ACTIONS[j.status] || []).concat(["completed","failed","cancelled"].includes(j.status) ? [] : ["cancel"])
  .map(a => `<button data-act="${a}" data-id="${j.job.id}">${a[0].toUpperCase() + a.slice(1)}</button>`).join(" ");
const dlOf = mac => downloads.find(d => d.mac === mac);
const bar = d => d ? `<progress value="${d.bytes}" max="${d.size}"></progress> ${d.percent}%` : "";
function renderDownloads(){
  $("dl-count").textContent = downloads.length ? `(${downloads.length})` : "";
  document.querySelector("#downloads tbody").innerHTML = downloads.map(d =>
    `<tr data-mac="${d.mac ?? ""}"><td>${d.mac ?? "?"}</td><td>${esc(d.client_ip)}</td><td>${esc(d.file)}</td><td>${bar(d)}</td><td>${d.bytes} / ${d.size}</td></tr>`).join("") || `<tr><td colspan="5"><i>no image download under way</i></td></tr>`;
  for (const td of document.querySelectorAll("#job-phones td[data-dl]")) td.innerHTML = bar(dlOf(td.dataset.dl));
}
// The job's stages over time, one line per stage (plain SVG).
const SERIES = [["waiting","#9aa0a6"],["loader_fetched","#f29900"],["application_fetched","#b06000"],["configuration_fetched","#1a73e8"],["registered","#137333"],["failed","#c5221f"]];
function chart(h){
  const pts = h.points, W = 640, H = 160, n = pts.length;
  if (!n) return `<p id="chart-empty"><i>the job has not started: no stages to chart yet</i></p>`;
  const max = Math.max(1, ...pts.map(p => SERIES.reduce((a, [k]) => Math.max(a, p[k]), 0)));
  const x = i => 30 + (W - 40) * (n === 1 ? 0 : i / (n - 1)), y = v => H - 20 - (H - 30) * v / max;
  const t0 = pts[0].t_ms, t1 = pts[n-1].t_ms, sec = Math.round((t1 - t0) / 1000);
  const lines = SERIES.map(([k, c]) => `<polyline data-stage="${k}" fill="none" stroke="${c}" stroke-width="2.5" points="${pts.map((p, i) => `${x(i).toFixed(1)},${y(p[k]).toFixed(1)}`).join(" ")}"/>`).join("");
  return `<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="job stages over time">` +
    `<line x1="30" y1="${H-20}" x2="${W-10}" y2="${H-20}" stroke="#5f6368"/><line x1="30" y1="10" x2="30" y2="${H-20}" stroke="#5f6368"/>` +
    `<text x="2" y="16" font-size="11">${max}</text><text x="2" y="${H-22}" font-size="11">0</text>` +
    `<text x="30" y="${H-5}" font-size="11">start</text><text x="${W-60}" y="${H-5}" font-size="11">+${sec} s</text>${lines}</svg><div>` +
    SERIES.map(([k, c]) => `<span class="lg" style="background:${c}"></span>${k.replace(/_/g, " ")} ${pts[n-1][k]}`).join("") + "</div>";
}
async function refreshJobs(){
  // Jobs without their phones: a job of the whole fleet holds 10,000.
  const jobs = await fetch("/api/jobs/overview").then(r => r.ok ? r.json() : []);
  document.querySelector("#jobs tbody").innerHTML = jobs.map(j =>
    `<tr data-job="${j.job.id}" class="${j.job.id===selectedJob?"sel":""}"><td>${j.job.id}</td><td>${esc(j.job.description)}</td><td>${esc(j.job.target.load)}</td><td>${esc(j.status)}${j.reason?` — ${esc(j.reason)}`:""}</td><td>${j.counts.converted}</td><td>${j.counts.in_progress}</td><td>${j.counts.waiting}</td><td class="${j.counts.failed?"bad":""}">${j.counts.failed}</td><td>${actions(j)}</td></tr>`).join("") || `<tr><td colspan="9"><i>no jobs</i></td></tr>`;
  const pc = await fetch("/api/power-cycle").then(r => r.ok ? r.json() : []);
  $("pc-count").textContent = pc.length ? `(${pc.length} phone${pc.length>1?"s":""} to power-cycle)` : "";
  document.querySelector("#power-cycle tbody").innerHTML = pc.map(p =>
    `<tr class="walk" data-mac="${p.mac}"><td>${esc(p.site)}</td><td>${esc(p.description)}</td><td>${esc(p.extensions.join(", "))}</td><td>${p.mac}</td><td>${esc(p.model)}</td><td>${p.job} ${esc(p.job_description)}</td><td class="sg-${p.stage}">${p.stage.replace(/_/g, " ")}</td></tr>`).join("") || `<tr><td colspan="7"><i>no phone waits for a power cycle</i></td></tr>`;
  $("job-detail").hidden = selectedJob === null;
  if (selectedJob !== null) {
    const brief = jobs.find(j => j.job.id === selectedJob);
    jobTotal = brief ? brief.phones : 0;
    if (jobOffset >= jobTotal) jobOffset = 0;
    // One page of the job's phones, and its chart, at the same time.
    const [ph, hist] = await Promise.all([api("GET", `/api/jobs/${selectedJob}/phones?limit=${PAGE}&offset=${jobOffset}`),
      api("GET", `/api/jobs/${selectedJob}/history`)]);
    $("job-title").textContent = `Job ${selectedJob}: ${jobTotal} phones`;
    $("job-page").textContent = jobTotal ? `job phones ${jobOffset+1}–${jobOffset+ph.length} of ${jobTotal}` : "";
    $("job-pager").hidden = jobTotal <= PAGE;
    $("job-prev").disabled = jobOffset === 0; $("job-next").disabled = jobOffset + PAGE >= jobTotal;
    document.querySelector("#job-phones tbody").innerHTML = ph.map(p =>
      `<tr data-mac="${p.mac}"><td>${p.mac}</td><td>${esc(p.description)}</td><td>${esc(p.extensions.join(", "))}</td><td>${p.batch ?? ""}${p.batch===0?" (canary)":""}</td><td class="sg-${p.stage}">${p.stage.replace(/_/g, " ")}</td><td data-dl="${p.mac}">${bar(dlOf(p.mac))}</td>${regCell(p)}<td class="${p.reason?"bad":""}">${esc(p.reason)}</td><td>${esc(p.note)}${p.power_cycle?" — power-cycle it":""}</td></tr>`).join("");
    $("chart").innerHTML = chart(hist);
  }
}
async function refreshFleet(){
  const fleet = await api("GET", "/api/fleet");
  cards("states", fleet.by_state); cards("stages", fleet.by_stage);
  return fleet;
}
async function refreshDownloads(){ downloads = await api("GET", "/api/downloads"); renderDownloads(); }
async function refresh(){
  try {
    // Each section on its own: the phone page does not wait for the
    // fleet's summary (a count over every phone).
    const [fleet] = await Promise.all([refreshFleet(), refreshPhones(), refreshJobs(), refreshDownloads()]);
    const db = (await api("GET", "/api/health")).database;
    $("db-alert").hidden = !(db && db.failing);
    if (db && db.failing) $("db-alert").textContent = `The database refuses writes (${db.error}): TFTP keeps serving, ${db.held_events} TFTP events are held in memory${db.lost_events ? `, ${db.lost_events} lost` : ""}. Free disk space or make the database writable.`;
    if (selected) { $("tl-title").textContent = `Timeline of ${selected}`;
      document.querySelector("#events tbody").innerHTML = eventRows((await api("GET", `/api/phones/${selected}/timeline?limit=50`)).reverse()); }
    else { $("tl-title").textContent = "Recent TFTP requests"; document.querySelector("#events tbody").innerHTML = eventRows(log); }
    $("updated").textContent = `${fleet.phones} phones · updated ${new Date().toLocaleTimeString()}`;
    if (window.firstRefreshMs === undefined) window.firstRefreshMs = performance.now();
  } catch (e) { $("updated").textContent = "cannot reach phoneflip: " + e.message; }
}
// Changes arrive as server-sent events; at most one re-read per second.
let pending = null;
const soon = () => { if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 1000); };
// The stream opens a few seconds after the first read: an open stream is
// a fetch that never ends, which headless Chromium's virtual clock (how
// the tests render this page) waits on forever.
let lastEvent = null;
async function backlog(){
  const evs = await api("GET", "/api/events?limit=10000");
  if (evs.length) lastEvent = evs[evs.length - 1].id;
  log = evs.slice(-50).reverse();
}
function follow(){
  const es = new EventSource(lastEvent === null ? "/api/stream" : `/api/stream?after=${lastEvent}`);
  es.addEventListener("tftp", m => { log = JSON.parse(m.data).reverse().concat(log).slice(0, 50); soon(); });
  es.addEventListener("jobs", soon);
  es.addEventListener("downloads", m => { downloads = JSON.parse(m.data); renderDownloads(); });
}
document.querySelector("#phones tbody").addEventListener("click", ev => {
  const tr = ev.target.closest("tr"); if (!tr) return;
  selected = selected === tr.dataset.mac ? null : tr.dataset.mac; refresh(); });
document.querySelector("#jobs tbody").addEventListener("click", async ev => {
  const {act, id: jid} = ev.target.dataset;
  if (act) { try { const j = await api("POST", `/api/jobs/${jid}/${act}`); say(`job ${jid}: ${act} done, now ${j.status}`); } catch (e) { say(e.message, true); } return refresh(); }
  const tr = ev.target.closest("tr"); if (!tr || !tr.dataset.job) return;
  const id = Number(tr.dataset.job); selectedJob = selectedJob === id ? null : id; jobOffset = 0; refresh(); });
$("job-prev").addEventListener("click", () => { jobOffset = Math.max(0, jobOffset - PAGE); refresh(); });
$("job-next").addEventListener("click", () => { if (jobOffset + PAGE < jobTotal) { jobOffset += PAGE; refresh(); } });
$("filters").addEventListener("submit", ev => { ev.preventDefault(); offset = 0; refresh(); });
$("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); refresh(); });
$("next").addEventListener("click", () => { if (offset + PAGE < total) { offset += PAGE; refresh(); } });
$("preview").addEventListener("click", async () => {
  try { const {q} = jobQuery(); const p = await api("POST", "/api/jobs/preview", {query: q});
    $("preview-out").innerHTML = `<p id="preview-total">${p.total} phones selected, ${p.power_cycles} to power-cycle by hand</p><table><thead><tr><th>MAC</th><th>Site</th><th>Description</th><th>Extension</th><th>Runs</th><th>Stage</th></tr></thead><tbody>` +
      p.phones.map(x => `<tr><td>${x.mac}</td><td>${esc(x.site)}</td><td>${esc(x.description)}</td><td>${ext(x)}</td><td>${esc(x.observed_load)}</td><td class="sg-${x.stage}">${x.stage.replace(/_/g, " ")}</td></tr>`).join("") + "</tbody></table>";
  } catch (e) { say(e.message, true); } });
$("create").addEventListener("click", async () => {
  try { const {f, q} = jobQuery();
    const j = await api("POST", "/api/jobs", {description: f.description, template: f.template, to: f.to, query: q,
      rollout: {canary_size: Number(f.canary_size), batch_size: Number(f.batch_size), max_failures: 1, phone_timeout_ms: 1800000,
        // A SIP job's last stage: every line registered within this grace.
        register_grace_ms: f.register_grace_s === "" ? null : Number(f.register_grace_s) * 1000}});
    selectedJob = j.job.id; jobOffset = 0; say(`job ${j.job.id} created with ${j.phones.length} phones`); refresh();
  } catch (e) { say(e.message, true); } });
// The first page first; the request log's backlog after it.
refresh().then(() => backlog().catch(() => {})).then(() => {
  if (!selected) document.querySelector("#events tbody").innerHTML = eventRows(log);
  setTimeout(follow, 5000);
});
</script></body></html>
"##;

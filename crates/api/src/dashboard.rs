//! The dashboard: one self-contained page (no build step, no CDN: the
//! phones' networks are often closed) that polls the API every second. It
//! asks only for what it shows: one page of phones (the fleet summary gives
//! the totals) and never a line password (the API does not return them).

pub const PAGE: &str = r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>phoneflip</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#f6f7f9}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.cards{display:flex;gap:.8rem;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d9dde5;border-radius:8px;padding:.7rem 1rem;min-width:8rem}
.card b{display:block;font-size:1.6rem}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e6ec;padding:.35rem .6rem;text-align:left}
th{background:#eef0f4} tr.sel{background:#fff6d6} tbody tr{cursor:pointer}
.st-converted{color:#137333;font-weight:600}.st-converting{color:#b06000;font-weight:600}
.st-unseen{color:#5f6368}.st-unmanaged{color:#9aa0a6}
.bad{color:#c5221f} #updated{color:#5f6368;font-size:.8rem}
</style></head>
<body>
<h1>phoneflip fleet</h1><div id="updated">loading…</div>
<h2>Phones by state</h2><div class="cards" id="states"></div>
<h2>Phones by observed load</h2><div class="cards" id="loads"></div>
<h2>Migration jobs</h2>
<table id="jobs"><thead><tr><th>Job</th><th>Description</th><th>Target</th><th>Status</th><th>Converted</th><th>In progress</th><th>Waiting</th><th>Failed</th></tr></thead><tbody></tbody></table>
<h2>Phones</h2>
<div id="pager"><button id="prev">&larr; previous</button> <span id="page"></span> <button id="next">next &rarr;</button></div>
<table id="phones"><thead><tr><th>MAC</th><th>Model</th><th>Site</th><th>Runs</th><th>Wanted</th><th>State</th></tr></thead><tbody></tbody></table>
<h2 id="tl-title">Recent TFTP requests</h2>
<table id="events"><thead><tr><th>Time</th><th>Client</th><th>MAC</th><th>File</th><th>Bytes</th><th>Outcome</th></tr></thead><tbody></tbody></table>
<script>
let selected = null; let offset = 0; const PAGE = 50; let total = 0;
const esc = s => String(s ?? "").replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
function cards(id, obj){ document.getElementById(id).innerHTML =
  Object.entries(obj).map(([k,v]) => `<div class="card" data-key="${esc(k)}"><b>${v}</b>${esc(k)}</div>`).join("") || "<i>none</i>"; }
function eventRows(evs){ return evs.map(e => `<tr><td>${new Date(e.time_ms).toLocaleTimeString()}</td><td>${esc(e.client_ip)}</td><td>${esc(e.mac)}</td><td>${esc(e.file)}</td><td>${e.bytes}</td><td class="${e.outcome==="sent"?"":"bad"}">${esc(e.outcome)}</td></tr>`).join(""); }
async function refresh(){
  try {
    const [fleet, page] = await Promise.all([fetch("/api/fleet").then(r=>r.json()), fetch(`/api/phones?limit=${PAGE}&offset=${offset}`).then(r=>r.json())]);
    const phones = page.phones; total = page.total;
    document.getElementById("page").textContent = total ? `phones ${offset+1}–${offset+phones.length} of ${total}` : "no phones";
    document.getElementById("prev").disabled = offset === 0;
    document.getElementById("next").disabled = offset + PAGE >= total;
    cards("states", fleet.by_state); cards("loads", fleet.by_load);
    document.querySelector("#phones tbody").innerHTML = phones.map(p =>
      `<tr data-mac="${p.mac}" class="${p.mac===selected?"sel":""}"><td>${p.mac}</td><td>${p.model}</td><td>${esc(p.site)}</td><td>${esc(p.observed_load)}</td><td>${esc(p.desired_load ?? p.desired_protocol)}</td><td class="st-${p.state}">${p.state}</td></tr>`).join("");
    const jobs = await fetch("/api/jobs").then(r => r.ok ? r.json() : []);
    document.querySelector("#jobs tbody").innerHTML = jobs.map(j =>
      `<tr><td>${j.job.id}</td><td>${esc(j.job.description)}</td><td>${esc(j.job.target.load)}</td><td>${esc(j.status)}</td><td>${j.counts.converted}</td><td>${j.counts.in_progress}</td><td>${j.counts.waiting}</td><td class="${j.counts.failed?"bad":""}">${j.counts.failed}</td></tr>`).join("") || `<tr><td colspan="8"><i>no jobs</i></td></tr>`;
    const evs = selected ? await fetch(`/api/phones/${selected}/timeline?limit=50`).then(r=>r.json())
                         : (await fetch("/api/events?limit=10000").then(r=>r.json())).slice(-50).reverse();
    document.getElementById("tl-title").textContent = selected ? `Timeline of ${selected}` : "Recent TFTP requests";
    document.querySelector("#events tbody").innerHTML = eventRows(evs);
    document.getElementById("updated").textContent = `${fleet.phones} phones · updated ${new Date().toLocaleTimeString()}`;
  } catch (e) { document.getElementById("updated").textContent = "cannot reach phoneflip: " + e; }
}
document.querySelector("#phones tbody").addEventListener("click", ev => {
  const tr = ev.target.closest("tr"); if (!tr) return;
  selected = selected === tr.dataset.mac ? null : tr.dataset.mac; refresh(); });
document.getElementById("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); refresh(); });
document.getElementById("next").addEventListener("click", () => { if (offset + PAGE < total) { offset += PAGE; refresh(); } });
refresh(); setInterval(refresh, 1000);
</script></body></html>
"##;

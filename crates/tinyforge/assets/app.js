// tinyforge UI: live updates only. Every page works without this file.
"use strict";

// Streams close when the page is left: a browser keeps at most six connections per host, and a
// page kept in the back/forward cache would otherwise hold its streams open.
const streams = [];
function stream(url) {
  const es = new EventSource(url);
  streams.push(es);
  return es;
}
window.addEventListener("pagehide", () => streams.forEach((es) => es.close()));

// Forms that ask before they act (delete, revoke).
document.addEventListener("submit", (ev) => {
  const msg = ev.target.getAttribute("data-confirm");
  if (msg && !window.confirm(msg)) ev.preventDefault();
});

// Workload page: live logs, and status, version and history refreshed when this workload's
// events arrive (the logs reconnect after a deploy: a new container).
const live = document.getElementById("live");
const logs = document.getElementById("logs");
let logStream = null;
function followLogs() {
  if (!logs || !logs.dataset.src) return;
  if (logStream) logStream.close();
  logStream = stream(logs.dataset.src);
  logStream.addEventListener("log", (ev) => {
    const atEnd = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
    logs.append(ev.data + "\n");
    if (atEnd) logs.scrollTop = logs.scrollHeight;
  });
  logStream.onerror = () => logStream.close();
}
followLogs();
if (live) {
  const id = live.dataset.workload;
  const es = stream(`/api/events?plain=true&workload_id=${encodeURIComponent(id)}`);
  let pending = null;
  es.onmessage = (ev) => {
    const kind = JSON.parse(ev.data).kind;
    clearTimeout(pending);
    pending = setTimeout(async () => {
      const res = await fetch(location.pathname, { credentials: "same-origin" });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      for (const sel of ["dl.facts", "#history"]) {
        const now = document.querySelector(sel), next = doc.querySelector(sel);
        if (now && next) now.replaceWith(next);
      }
      if (kind === "deploy.succeeded") followLogs();
    }, 150);
  };
}

// Events page: new events on top.
const table = document.getElementById("events");
if (table) {
  const state = document.getElementById("live-state");
  const es = stream(`/api/events?plain=true&after=${table.dataset.after}`);
  es.onopen = () => { state.textContent = "Live."; };
  es.onmessage = (ev) => {
    const e = JSON.parse(ev.data);
    const tr = document.createElement("tr");
    tr.className = "fresh";
    const cells = [e.at, e.kind, e.message];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      if (i === 2 && e.workload_id) {
        const a = document.createElement("a");
        a.href = `/workloads/${encodeURIComponent(e.workload_id)}`;
        a.textContent = text;
        td.append(a);
      } else {
        td.textContent = text;
      }
      tr.append(td);
    });
    table.tBodies[0].prepend(tr);
  };
}

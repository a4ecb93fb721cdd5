// The Live calls tab (supervisors and admins): every live call, kept up
// to date from the WebSocket's `call` snapshots, each with a transfer.
import { api } from "/static/api.js";
import * as calls from "/static/calls.js";
import { $, h, duration, since, stateText, transferBody } from "/static/util.js";

const rows = new Map(); // call id → {tr, cells}

export function initLive() {
  calls.bus.addEventListener("live", render);
  setInterval(tickDurations, 1000);
}

export async function loadLive() {
  try {
    calls.setLive(await api("GET", "/api/live-calls"));
    $("#live-error").textContent = "";
  } catch (err) {
    $("#live-error").textContent = `The live calls could not be read: ${err.message}`;
  }
}

export function resetLive() {
  rows.clear();
  $("#live-table tbody").replaceChildren();
}

// render updates the rows in place, so a "Transfer to" being typed keeps
// its text and focus.
function render() {
  const body = $("#live-table tbody");
  const list = [...calls.live.values()].filter((c) => c.state !== "ended").sort((a, b) => Date.parse(a.started) - Date.parse(b.started));
  const ids = new Set(list.map((c) => c.id));
  for (const [id, r] of rows) {
    if (!ids.has(id)) {
      r.tr.remove();
      rows.delete(id);
    }
  }
  list.forEach((c, i) => {
    let r = rows.get(c.id);
    if (!r) {
      r = makeRow(c);
      rows.set(c.id, r);
    }
    r.snap = c;
    r.agent.textContent = c.user ? `${c.user}${c.extension ? ` (${c.extension})` : ""}` : c.extension || "";
    r.partner.textContent = [c.partner_name, c.number].filter(Boolean).join(" · ") + (c.direction === "in" ? " ← in" : " → out");
    r.state.textContent = stateText(c.state);
    r.tr.dataset.state = c.state;
    r.button.disabled = c.state !== "answered";
    // Keep the sorted order, moving a row only when needed (a move loses focus).
    if (body.children[i] !== r.tr) body.insertBefore(r.tr, body.children[i] || null);
  });
  $("#live-empty").hidden = list.length > 0;
  tickDurations();
}

function makeRow(c) {
  const agent = h("td", { id: `live-agent-${c.id}` });
  const partner = h("td");
  const state = h("td");
  const dur = h("td", { class: "num" });
  const input = h("input", { "aria-label": "Transfer to", placeholder: "102 or +32…", autocomplete: "off", size: 10 });
  const result = h("span", { class: "hint", role: "status" });
  const button = h("button", { type: "submit", class: "small", "aria-describedby": `live-agent-${c.id}` }, "Transfer");
  const form = h("form", { class: "inline-form" }, input, button, result);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (!v) return;
    result.textContent = "…";
    try {
      await api("POST", `/api/live-calls/${encodeURIComponent(c.id)}/transfer`, transferBody(v));
      result.textContent = "Transferring";
      input.value = "";
    } catch (err) {
      result.textContent = "";
      $("#live-error").textContent = `Transfer failed: ${err.message}`;
    }
  });
  const tr = h("tr", { data: { call: c.id } }, agent, partner, state, dur, h("td", {}, form));
  return { tr, agent, partner, state, dur, button, snap: c };
}

function tickDurations() {
  for (const r of rows.values()) {
    const c = r.snap;
    r.dur.textContent = duration(since(c.answered || c.started));
  }
}

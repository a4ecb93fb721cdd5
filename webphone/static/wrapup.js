// The wrap-up after each call of mine: outcome, note, purpose and an
// optional follow-up call, saved with PATCH /api/events/{id}.
import { api } from "/static/api.js";
import * as calls from "/static/calls.js";
import { $, h, outcomes, outcomeText, localInputValue, rfc3339, refreshIdle } from "/static/util.js";

const pending = []; // ended calls waiting for their wrap-up, oldest first
let snap = null; // the call the form is for
let purposeKnown = false; // the event's purpose was read, so sending it keeps it
let partnerWindow = null; // the partner's next call window, if known

// findQueueItem(partner_id) → a queue item (with next_window) or undefined.
let findQueueItem = () => undefined;

export function initWrapup(opts) {
  findQueueItem = opts.findQueueItem || findQueueItem;
  const form = $("#wrapup");
  form.addEventListener("submit", save);
  $("#wrapup-skip").addEventListener("click", () => {
    $("#wrapup-status").textContent = "Wrap-up skipped.";
    next();
  });
  $("#wrapup-followup").addEventListener("change", () => {
    const on = $("#wrapup-followup").checked;
    $("#wrapup-followup-fields").hidden = !on;
    if (on && !$("#wrapup-due").value) $("#wrapup-due").value = localInputValue(defaultDue());
  });
  calls.bus.addEventListener("wrapup", (ev) => {
    pending.push(ev.detail);
    if (!snap) next();
  });
}

// reset drops every pending wrap-up (log out).
export function resetWrapup() {
  pending.length = 0;
  snap = null;
  $("#wrapup").hidden = true;
}

function next() {
  snap = pending.shift() || null;
  const form = $("#wrapup");
  form.hidden = !snap;
  refreshIdle();
  if (snap) open(snap);
}

// defaultDue: the partner's next call window start, else tomorrow 09:00.
function defaultDue() {
  const soon = Date.now() + 5 * 60 * 1000;
  if (partnerWindow && Date.parse(partnerWindow.start) > soon) return new Date(partnerWindow.start);
  const d = new Date();
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return d;
}

async function open(s) {
  const form = $("#wrapup");
  form.reset();
  $("#wrapup-error").textContent = "";
  $("#wrapup-followup-fields").hidden = true;
  $("#wrapup-due").value = "";
  const who = s.partner_name || s.number || "unknown";
  $("#wrapup-about").textContent = `Call ${s.direction === "in" ? "from" : "to"} ${who}${s.outcome ? ` — ${outcomeText(s.outcome)}` : ""}`;
  $("#wrapup-summary").value = s.partner_name ? `Call back ${s.partner_name}` : "Call back";

  // Outcomes an agent may set; phoned's own verdict (interrupted) or none
  // is kept as it is with the empty choice.
  const sel = $("#wrapup-outcome");
  const settable = outcomes.some(([v]) => v === s.outcome);
  sel.replaceChildren(...outcomes.map(([v, label]) => h("option", { value: v }, label)));
  if (!settable) sel.prepend(h("option", { value: "" }, s.outcome ? `${outcomeText(s.outcome)} (set by phoned)` : "—"));
  sel.value = settable ? s.outcome : "";

  partnerWindow = null;
  purposeKnown = false;
  const q = s.partner_id ? findQueueItem(s.partner_id) : undefined;
  if (q && q.next_window) partnerWindow = q.next_window;

  const purposeSel = $("#wrapup-purpose");
  purposeSel.replaceChildren(h("option", { value: "" }, "(none)"));
  const [purposes, event, partner] = await Promise.all([
    api("GET", "/api/purposes").catch(() => []),
    api("GET", `/api/events/${s.event_id}`).catch(() => null),
    s.partner_id && !partnerWindow ? api("GET", `/api/partners/${s.partner_id}`).catch(() => null) : null,
  ]);
  if (snap !== s) return; // another wrap-up took the form meanwhile
  for (const p of purposes || []) purposeSel.append(h("option", { value: p.name }, p.name));
  if (event) {
    purposeKnown = true;
    if (event.purpose && ![...purposeSel.options].some((o) => o.value === event.purpose)) {
      purposeSel.append(h("option", { value: event.purpose }, event.purpose));
    }
    purposeSel.value = event.purpose || "";
    if (!$("#wrapup-note").value) $("#wrapup-note").value = event.note || "";
  }
  if (partner && partner.next_window) partnerWindow = partner.next_window;
}

async function save(ev) {
  ev.preventDefault();
  if (!snap) return;
  const err = $("#wrapup-error");
  err.textContent = "";
  const body = { note: $("#wrapup-note").value };
  const outcome = $("#wrapup-outcome").value;
  if (outcome) body.outcome = outcome;
  const purpose = $("#wrapup-purpose").value;
  if (purpose || purposeKnown) body.purpose = purpose;
  if ($("#wrapup-followup").checked) {
    const v = $("#wrapup-due").value;
    const due = v ? new Date(v) : null;
    if (!due || Number.isNaN(due.getTime())) {
      err.textContent = "Choose when to call back";
      $("#wrapup-due").focus();
      return;
    }
    body.follow_up = { due: rfc3339(due), summary: $("#wrapup-summary").value.trim() };
  }
  const btn = $("#wrapup-save");
  btn.disabled = true;
  try {
    await api("PATCH", `/api/events/${snap.event_id}`, body);
    $("#wrapup-status").textContent = body.follow_up ? "Wrap-up saved, follow-up call planned." : "Wrap-up saved.";
    calls.bus.dispatchEvent(new CustomEvent("queue"));
    next();
  } catch (e) {
    err.textContent = `Not saved: ${e.message}`;
    const field = { outcome: "#wrapup-outcome", note: "#wrapup-note", purpose: "#wrapup-purpose", "follow_up.due": "#wrapup-due", "follow_up.summary": "#wrapup-summary" }[e.field];
    if (field) $(field).focus();
  } finally {
    btn.disabled = false;
  }
}

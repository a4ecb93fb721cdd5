// The call screen: the partner card, the state and timer, and the
// controls of the current call (mute, hold, keypad, transfer, hang up).
import { api, q } from "/static/api.js";
import * as calls from "/static/calls.js";
import { $, h, when, duration, since, stateText, outcomeText, transferBody, refreshIdle, windowText } from "/static/util.js";

const DIGITS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

let shown = null; // the session the screen was last drawn for
let cardKey = ""; // what the partner card shows (partner id or number)
let holdBusy = false;

export function initCallScreen() {
  const pad = $("#call-dtmf");
  for (const d of DIGITS) pad.append(h("button", { type: "button", class: "digit", onclick: () => sendDigit(d) }, d));

  $("#call-mute").addEventListener("click", () => calls.toggleMute());
  $("#call-hold").addEventListener("click", toggleHold);
  $("#call-keypad").addEventListener("click", () => {
    const open = $("#call-dtmf").hidden;
    $("#call-dtmf").hidden = !open;
    $("#call-keypad").setAttribute("aria-expanded", String(open));
  });
  $("#call-hangup").addEventListener("click", () => calls.hangup());
  $("#call-transfer-form").addEventListener("submit", transfer);
  $("#call-consult").addEventListener("click", consult);
  $("#call-consult-connect").addEventListener("click", () => consultAction("consult/transfer", "Connecting…"));
  $("#call-consult-cancel").addEventListener("click", () => consultAction("consult/cancel", "Back to the caller…"));

  calls.bus.addEventListener("change", render);
  calls.bus.addEventListener("error", (ev) => {
    $("#call-error").textContent = ev.detail || "";
  });
  setInterval(tick, 1000);
  render();
}

const callPath = (s, action) => `/api/live-calls/${encodeURIComponent(s.id)}/${action}`;

function render() {
  const s = calls.getCurrent();
  $("#callscreen").hidden = !s;
  refreshIdle();
  if (!s) {
    shown = null;
    cardKey = "";
    return;
  }
  if (s !== shown) {
    // A new call on screen: clear what belonged to the previous one.
    shown = s;
    $("#call-dtmf").hidden = true;
    $("#call-keypad").setAttribute("aria-expanded", "false");
    $("#call-dtmf-sent").textContent = "";
    $("#call-transfer-result").textContent = "";
    $("#call-transfer-to").value = "";
  }
  const snap = s.snap;
  const state = snap ? snap.state : "";
  let text = snap ? stateText(state) : s.kind === "dial" ? "Calling…" : "Connecting…";
  if (s.hangingUp && state !== "ended") text = "Hanging up…";
  if (s.reattaching) text = "Reconnecting the audio…";
  if (state === "ended" && snap.outcome) text += ` — ${outcomeText(snap.outcome)}`;
  $("#call-state").textContent = text;
  $("#call-state").dataset.state = state || "starting";

  const talking = state === "answered" || state === "held";
  $("#call-mute").setAttribute("aria-pressed", String(s.muted));
  $("#call-mute").disabled = !s.leg;
  $("#call-hold").setAttribute("aria-pressed", String(state === "held"));
  $("#call-hold").disabled = !talking || holdBusy;
  $("#call-keypad").disabled = state !== "answered";
  $("#call-transfer").disabled = state !== "answered";
  const co = snap && snap.consult;
  $("#call-consult").disabled = state !== "answered" && !(state === "held" && !co);
  $("#call-transfer-form").hidden = !!co;
  $("#call-consulting").hidden = !co;
  if (co) {
    const words = { ringing: "rings", answered: "is on the line: the caller waits on hold", transferring: "— connecting the caller…" };
    $("#call-consult-state").textContent = `Consulting ${co.target}: ${words[co.state] || co.state}`;
    $("#call-consult-connect").disabled = co.state !== "answered";
    $("#call-consult-cancel").disabled = co.state === "transferring";
  }
  $("#call-hangup").disabled = s.hangingUp;
  $("#call-dtmf-rx").textContent = s.dtmfIn ? `They pressed: ${s.dtmfIn}` : "";
  renderOthers(s);
  renderCard(s);
  tick();
}

function tick() {
  const s = calls.getCurrent();
  const t = $("#call-timer");
  if (!s || !s.snap || !s.snap.answered) {
    t.textContent = "";
    return;
  }
  t.textContent = duration(since(s.snap.answered));
}

// The other calls of this page (held, or reattached) with a way to show them.
function renderOthers(s) {
  const others = calls.getSessions().filter((x) => x !== s);
  const box = $("#call-others");
  box.hidden = others.length === 0;
  box.replaceChildren(
    ...others.map((o) => {
      const name = o.label.name || (o.snap && (o.snap.partner_name || o.snap.number)) || "call";
      return h("p", {}, `Also live: ${name} (${stateText(o.snap && o.snap.state)}) `,
        h("button", { type: "button", class: "small", onclick: () => calls.show(o) }, `Show call with ${name}`));
    }),
  );
}

// The partner card: name, company, number, and up to 5 recent events.
function renderCard(s) {
  const snap = s.snap || {};
  const pid = snap.partner_id || (s.partner && s.partner.id) || s.label.partner_id || 0;
  const number = snap.number || s.label.number || "";
  const key = `${pid}|${number}|${snap.partner_name || s.label.name || ""}`;
  if (key === cardKey) return;
  cardKey = key;
  const base = { name: snap.partner_name || (s.partner && s.partner.name) || s.label.name || "", company: (s.partner && s.partner.company) || s.label.company || "", number };
  drawCard($("#call-partner"), base);
  $("#call-events").replaceChildren();
  if (!pid) return;
  api("GET", `/api/partners/${pid}`)
    .then((p) => {
      if (cardKey !== key) return;
      drawCard($("#call-partner"), { ...base, name: p.name || base.name, company: p.company, next: p.next_window });
    })
    .catch(() => {});
  api("GET", "/api/events" + q({ partner_id: pid, limit: 5 }))
    .then((evs) => {
      if (cardKey !== key) return;
      $("#call-events").replaceChildren(...(evs || []).slice(0, 5).map(eventItem));
    })
    .catch(() => {});
}

// drawCard fills a partner card (also used by the incoming panel).
export function drawCard(el, { name, company, number, next }) {
  const lines = [
    h("p", { class: "pc-name" }, name || number || "Unknown caller"),
    company ? h("p", { class: "pc-company" }, company) : null,
    number && name ? h("p", { class: "pc-number" }, number) : null,
    next ? h("p", { class: "pc-window hint" }, `Next call window: ${windowText(next)}`) : null,
  ];
  el.replaceChildren(...lines.filter(Boolean));
}

function eventItem(e) {
  const dir = e.direction === "in" ? "In" : "Out";
  const bits = [when(e.start), dir, outcomeText(e.outcome) || e.state, e.duration_seconds ? duration(e.duration_seconds) : ""].filter(Boolean);
  return h("li", {}, bits.join(" · "), e.note ? h("span", { class: "ev-note" }, ` — ${e.note}`) : null);
}

async function toggleHold() {
  const s = calls.getCurrent();
  if (!s || !s.id || holdBusy) return;
  const held = s.snap && s.snap.state === "held";
  holdBusy = true;
  render();
  try {
    await api("POST", callPath(s, held ? "resume" : "hold"));
    calls.patchState(s, held ? "answered" : "held");
  } catch (err) {
    calls.showError(err.message);
  } finally {
    holdBusy = false;
    render();
  }
}

async function sendDigit(d) {
  const s = calls.getCurrent();
  if (!s || !s.id) return;
  const sent = $("#call-dtmf-sent");
  sent.textContent = (sent.textContent || "Sent: ") + d;
  try {
    await api("POST", callPath(s, "dtmf"), { digits: d });
  } catch (err) {
    calls.showError(err.message);
  }
}

// consult calls the "Transfer to" target while the caller waits on hold
// (an attended transfer: Connect hands the caller over).
async function consult() {
  const s = calls.getCurrent();
  const target = $("#call-transfer-to").value.trim();
  if (!s || !s.id) return;
  if (!target) {
    $("#call-transfer-to").focus();
    calls.showError("Type the extension or number to consult in \"Transfer to\"");
    return;
  }
  calls.showError("");
  try {
    await api("POST", callPath(s, "consult"), transferBody(target));
    $("#call-transfer-result").textContent = "";
  } catch (err) {
    calls.showError(`Consult failed: ${err.message}`);
  }
}

async function consultAction(action, words) {
  const s = calls.getCurrent();
  if (!s || !s.id) return;
  $("#call-transfer-result").textContent = words;
  calls.showError("");
  try {
    await api("POST", callPath(s, action));
  } catch (err) {
    $("#call-transfer-result").textContent = "";
    calls.showError(err.message);
  }
}

async function transfer(ev) {
  ev.preventDefault();
  const s = calls.getCurrent();
  const target = $("#call-transfer-to").value.trim();
  if (!s || !s.id || !target) return;
  const result = $("#call-transfer-result");
  result.textContent = `Transferring to ${target}…`;
  calls.showError("");
  try {
    await api("POST", callPath(s, "transfer"), transferBody(target));
    result.textContent = `Transfer to ${target} under way`;
  } catch (err) {
    result.textContent = "";
    calls.showError(`Transfer failed: ${err.message}`);
  }
}

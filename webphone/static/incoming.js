// The incoming call panel: the caller's card, Answer and Reject, the ring
// tone and the notification.
import * as calls from "/static/calls.js";
import { drawCard } from "/static/callscreen.js";
import { startRing, stopRing, notify } from "/static/ring.js";
import { $, refreshIdle } from "/static/util.js";

let shownId = null; // the ringing call the panel shows

export function initIncoming() {
  $("#incoming-answer").addEventListener("click", () => {
    if (shownId) calls.answer(shownId);
  });
  $("#incoming-reject").addEventListener("click", () => {
    if (shownId) calls.reject(shownId);
  });
  calls.bus.addEventListener("ringing", render);
  render();
}

function render() {
  const entries = [...calls.ringingCalls.values()];
  const panel = $("#incoming");
  if (entries.length === 0) {
    panel.hidden = true;
    shownId = null;
    stopRing();
    refreshIdle();
    return;
  }
  // The latest call to ring is shown; the others are counted.
  const { snap, partner } = entries[entries.length - 1];
  const name = (partner && partner.name) || snap.partner_name || "";
  drawCard($("#incoming-card"), { name, company: partner ? partner.company : "", number: snap.number });
  const more = $("#incoming-more");
  more.hidden = entries.length < 2;
  more.textContent = entries.length > 1 ? `${entries.length - 1} more call(s) ringing` : "";
  $("#incoming-title").textContent = calls.active() ? "Incoming call (you are on a call)" : "Incoming call";
  panel.hidden = false;
  refreshIdle();
  if (shownId !== snap.id) {
    shownId = snap.id;
    window.phoned.marks.incomingShown = Date.now();
    notify(name || snap.number || "an unknown number", snap.id);
  }
  // phoned names the one page of the agent that plays the tone.
  if (entries.some((e) => e.ring !== false)) startRing();
  else stopRing();
}

// The work tabs: Next activities (the queue), Contacts, Keypad, History.
// Every "Call" button hands a target to dial().
import { api, q } from "/static/api.js";
import { $, h, clock, when, windowText, inWindow, duration, outcomeText } from "/static/util.js";

let dial = () => {};
let user = null;
let queueItems = [];

export function initPanels(opts) {
  dial = opts.dial;
  initContacts();
  initKeypad();
}

export function setPanelsUser(u) {
  user = u;
  queueItems = [];
  $("#queue-table tbody").replaceChildren();
  $("#history-table tbody").replaceChildren();
  $("#contacts-list").replaceChildren();
  $("#contacts-q").value = "";
  $("#dial-number").value = "";
}

// findQueueItem returns today's queue item for a partner (for its call window).
export function findQueueItem(partnerId) {
  return queueItems.find((c) => c.partner_id === partnerId);
}

// ---- Next activities ----

// The partner's call windows: today's ranges, else the next one.
function windowsCell(c) {
  const today = Array.isArray(c.windows_today) ? c.windows_today : [];
  if (today.length) {
    const open = today.some((w) => inWindow(w));
    return h("td", { class: open ? "window open" : "window" }, today.map(windowText).join(", "), open ? h("span", { class: "badge" }, "open now") : null);
  }
  if (c.next_window) return h("td", { class: "window" }, `Next: ${windowText(c.next_window)}`);
  return h("td", { class: "window muted" }, "windows_today" in c || "next_window" in c ? "No window" : "");
}

export async function refreshQueue() {
  if (!user) return;
  const body = $("#queue-table tbody");
  try {
    const calls = (await api("GET", "/api/queue")) || [];
    queueItems = calls;
    $("#queue-error").textContent = "";
    $("#queue-empty").hidden = calls.length > 0;
    body.replaceChildren(
      ...calls.map((c) => {
        const nameId = `q-partner-${c.id}`;
        const overdue = Date.parse(c.due) < Date.now();
        return h("tr", { data: { callId: c.id, partnerId: c.partner_id } },
          h("td", { class: overdue ? "due overdue" : "due" }, clock(c.due)),
          h("td", { id: nameId, class: "name" }, c.partner_name || ""),
          h("td", { class: "num" }, c.phone || ""),
          h("td", {}, c.summary || ""),
          windowsCell(c),
          h("td", { class: "act" },
            h("button", {
              type: "button", class: "go small", "aria-describedby": nameId,
              onclick: () => dial({ call_id: c.id }, { name: c.partner_name, number: c.phone, partner_id: c.partner_id }),
            }, "Call")));
      }),
    );
  } catch (err) {
    $("#queue-error").textContent = `The queue could not be read: ${err.message}`;
  }
}

// ---- Contacts ----

function initContacts() {
  let timer = 0;
  const input = $("#contacts-q");
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(searchContacts, 250);
  });
  $("#contacts-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    clearTimeout(timer);
    searchContacts();
  });
}

let searchSeq = 0;

export async function searchContacts() {
  const text = $("#contacts-q").value.trim();
  const seq = ++searchSeq;
  try {
    const list = (await api("GET", "/api/partners" + q({ q: text, limit: 50 }))) || [];
    if (seq !== searchSeq) return; // a newer search answered first
    $("#contacts-error").textContent = "";
    $("#contacts-empty").hidden = list.length > 0;
    $("#contacts-list").replaceChildren(...list.map(contactItem));
  } catch (err) {
    if (seq === searchSeq) $("#contacts-error").textContent = `The search failed: ${err.message}`;
  }
}

function contactItem(p) {
  const nameId = `c-name-${p.id}`;
  const phones = Array.isArray(p.phones) ? p.phones : [];
  return h("li", { class: "contact", data: { partnerId: p.id } },
    h("div", { class: "contact-head" },
      h("span", { id: nameId, class: "name" }, p.name),
      p.company ? h("span", { class: "company" }, p.company) : null),
    phones.length
      ? h("ul", { class: "numbers" },
        phones.map((ph, i) => {
          const numId = `c-num-${p.id}-${i}`;
          const number = ph.e164 || ph.number;
          return h("li", {},
            h("span", { id: numId, class: "num" }, ph.number, ph.type && ph.type !== "phone" ? h("span", { class: "type" }, ` (${ph.type})`) : null),
            h("button", {
              type: "button", class: "go small", "aria-describedby": `${nameId} ${numId}`,
              onclick: () => dial({ number }, { name: p.name, company: p.company, number, partner_id: p.id }),
            }, "Call"));
        }))
      : h("p", { class: "hint" }, "No number"));
}

// ---- Keypad ----

function initKeypad() {
  const input = $("#dial-number");
  const pad = $("#dial-pad");
  for (const d of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
    pad.append(h("button", { type: "button", class: "digit", onclick: () => { input.value += d; input.focus(); } }, d));
  }
  pad.append(h("button", { type: "button", class: "digit", onclick: () => { input.value += "+"; input.focus(); } }, "+"));
  pad.append(h("button", { type: "button", class: "digit", "aria-label": "Delete last digit", onclick: () => { input.value = input.value.slice(0, -1); input.focus(); } }, "⌫"));
  $("#dial-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const number = input.value.trim();
    if (number) dial({ number }, { number });
  });
}

// ---- History ----

export async function refreshHistory() {
  if (!user) return;
  try {
    const evs = (await api("GET", "/api/events" + q({ user: user.login, limit: 50 }))) || [];
    $("#history-error").textContent = "";
    $("#history-empty").hidden = evs.length > 0;
    $("#history-table tbody").replaceChildren(...evs.map(historyRow));
  } catch (err) {
    $("#history-error").textContent = `The history could not be read: ${err.message}`;
  }
}

function historyRow(e) {
  const party = (e.parties || []).find((p) => p.name) || null;
  const number = e.direction === "in" ? e.from_number : e.to_number;
  const nameId = `h-name-${e.id}`;
  const target = number ? { number } : party && party.partner_id ? { partner_id: party.partner_id } : null;
  return h("tr", { data: { eventId: e.id } },
    h("td", {}, when(e.start)),
    h("td", { class: "dir" }, e.direction === "in" ? "In" : "Out"),
    h("td", { id: nameId, class: "name" }, party ? party.name : number || "Unknown"),
    h("td", { class: `outcome ${e.outcome || ""}` }, outcomeText(e.outcome) || (e.state === "in_progress" ? "In progress" : "")),
    h("td", { class: "num" }, e.duration_seconds ? duration(e.duration_seconds) : ""),
    h("td", { class: "act" },
      target
        ? h("button", {
          type: "button", class: "go small", "aria-describedby": nameId,
          onclick: () => dial(target, { name: party ? party.name : "", number, partner_id: party ? party.partner_id : 0 }),
        }, "Call")
        : null));
}

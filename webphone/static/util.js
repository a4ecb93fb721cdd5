// Small helpers shared by the widget's modules: DOM building, formatting,
// and the words for phoned's error codes.

export const $ = (sel, root = document) => root.querySelector(sel);

// h builds an element: h("button", {type: "button", class: "go", onclick}, "Call").
// Keys starting with "on" are listeners, "text" sets textContent, "data"
// is a dataset object; anything else is an attribute (false/null skip it).
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (k === "data") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

// A unique enough id for requests and legs: letters, digits and "-".
export function newId(prefix) {
  const rnd = crypto.randomUUID ? crypto.randomUUID() : Math.random().toString(36).slice(2) + Date.now().toString(36);
  return `${prefix}-${rnd}`;
}

const pad = (n) => String(n).padStart(2, "0");

function sameDay(a, b) {
  return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
}

// "09:30" in the browser's zone.
export function clock(t) {
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// "09:30" today, else "3 Dec 09:30".
export function when(t) {
  if (!t) return "";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return "";
  if (sameDay(d, new Date())) return clock(d);
  return d.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
}

// A call window {start, end} as "09:00–12:00", with the weekday when it is
// not today ("Tue 09:00–12:00").
export function windowText(w) {
  if (!w || !w.start) return "";
  const s = new Date(w.start);
  const range = `${clock(s)}–${clock(w.end)}`;
  if (sameDay(s, new Date())) return range;
  return `${s.toLocaleDateString([], { weekday: "short" })} ${range}`;
}

// Whether now falls in the window.
export function inWindow(w, now = Date.now()) {
  return !!w && Date.parse(w.start) <= now && now < Date.parse(w.end);
}

// Seconds as "4:05" or "1:02:03".
export function duration(sec) {
  sec = Math.max(0, Math.floor(sec || 0));
  const hh = Math.floor(sec / 3600), mm = Math.floor((sec % 3600) / 60), ss = sec % 60;
  return hh ? `${hh}:${pad(mm)}:${pad(ss)}` : `${mm}:${pad(ss)}`;
}

// Seconds since an RFC 3339 time (0 when absent).
export function since(t) {
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : (Date.now() - ms) / 1000;
}

// The value of a datetime-local input for a Date: "2026-12-03T09:00".
export function localInputValue(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// A Date as RFC 3339 in the browser's zone: "2026-12-03T09:00:00+01:00"
// (what the API's time fields parse).
export function rfc3339(d) {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// Words for the error codes of the WebSocket's `error` messages.
const codeWords = {
  not_allowed: "This number is not allowed by the dial plan",
  bad_number: "This is not a phone number phoned can call",
  busy: "Busy",
  no_answer: "No answer",
  unreachable: "The number could not be reached",
  no_route: "The number could not be reached",
  no_device: "No phone is available to take this call",
  not_found: "This call is no longer live",
  forbidden: "You may not do this",
};

export function errorWords(code, text) {
  return codeWords[code] || text || "Something went wrong";
}

// The outcomes an agent may record (comm.Outcome, SetByAgent), with words.
export const outcomes = [
  ["answered", "Answered"],
  ["no_answer", "No answer"],
  ["busy", "Busy"],
  ["rejected", "Rejected"],
  ["missed", "Missed"],
  ["failed", "Failed"],
  ["transferred", "Transferred"],
  ["forwarded", "Forwarded"],
];

const outcomeWords = Object.fromEntries([...outcomes, ["interrupted", "Interrupted"]]);
export const outcomeText = (o) => (o ? outcomeWords[o] || o : "");

// The words of a live call's state.
const stateWords = {
  dialling: "Calling…",
  ringing: "Ringing…",
  answered: "Connected",
  held: "On hold",
  transferring: "Transferring…",
  ended: "Call ended",
};
export const stateText = (s) => stateWords[s] || s || "";

// The body of a transfer: a number (forward) when the target starts with
// "+" or has more than 10 digits, else an extension.
export function transferBody(target) {
  const v = target.trim();
  const digits = v.replace(/\D/g, "");
  return v.startsWith("+") || digits.length > 10 ? { number: v } : { extension: v };
}

// refreshIdle shows the "Ready" line of the phone column when it has
// nothing else to show (no incoming call, call screen or wrap-up).
export function refreshIdle() {
  const busy = ["incoming", "callscreen", "wrapup"].some((id) => !document.getElementById(id).hidden);
  document.getElementById("phone-idle").hidden = busy;
}

// partnerName picks the name to show for a call snapshot.
export function snapName(snap, fallback = "") {
  if (!snap) return fallback;
  return snap.partner_name || snap.number || fallback;
}

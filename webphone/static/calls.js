// The calls of this page: the WebSocket messages about calls, and the
// agent's actions (dial, answer, reject, hang up, reattach). The UI
// modules listen to `bus`:
//   change  — the current call or a session changed (call screen)
//   ringing — the set of calls ringing for me changed (incoming panel)
//   live    — a live call snapshot arrived (live calls tab)
//   wrapup  — a call of mine ended with an event to wrap up (detail: snapshot)
//   ended   — a call of mine ended (detail: snapshot)
//   error   — words to show in the call area (detail: string)
//   queue   — the queue changed
//   user    — `hello` named the user (detail: user)
import { api } from "/static/api.js";
import { Leg } from "/static/phone.js";
import { newId, errorWords } from "/static/util.js";

export const bus = new EventTarget();
const emit = (type, detail) => bus.dispatchEvent(new CustomEvent(type, { detail }));

// The test hooks of the Go browser tests: keep the shape.
window.phoned = window.phoned || { pc: null, call: null, ws: "closed", marks: { dialClick: null, incomingShown: null } };

export const live = new Map(); // call id → latest snapshot, every live call this page hears of
export const ringingCalls = new Map(); // call id → {snap, partner}: ringing for me
const sessions = []; // the calls this page has (or is getting) a leg for
let current = null; // the session shown in the call screen
const mine = new Set(); // ids of calls this page took part in: they get a wrap-up
const wrapped = new Set(); // ids whose wrap-up was offered
const endedSnaps = new Map(); // recent ended snapshots, for a dial linked late
const cancelledReqs = new Set(); // dials hung up before phoned named their call

let signal = null;
let me = null;
let helloAt = 0; // when this page last got its hello (Date.now())

// A page that has just (re)connected also reattaches a call of mine that
// phoned reports detached right after the hello: after a reload, the
// hello may come before phoned has seen the old page's socket close.
const REATTACH_AFTER_HELLO = 10000;

export function init(sig) {
  signal = sig;
}

export function setUser(u) {
  me = u;
}

export const getCurrent = () => current;
export const getSessions = () => sessions.slice();

// active reports whether a call is in the call screen and not over.
export function active() {
  return !!current && !(current.snap && current.snap.state === "ended");
}

export function showError(text) {
  emit("error", text);
}

function publish() {
  window.phoned.pc = current && current.leg ? current.leg.pc : null;
  window.phoned.call = current ? current.snap || null : null;
  emit("change");
}

const sessionFor = (id) => sessions.find((s) => s.id === id);

function newSession(fields) {
  return { id: null, req: null, kind: "dial", leg: null, snap: null, label: {}, partner: null, muted: false, dtmfIn: "", media: "new", hangingUp: false, ...fields };
}

function makeLeg(s) {
  return new Leg({
    sendIce: (leg, candidate) => signal.send({ type: "ice", leg, candidate }),
    onState: (st) => {
      s.media = st;
      if (st === "failed" && sessions.includes(s)) showError("The audio connection failed");
      publish();
    },
    onMicFail: (err) => {
      if (!sessions.includes(s)) return;
      hangup(s);
      showError(err.message);
    },
  });
}

// drop forgets a session without a wrap-up (its call never was, or is not ours).
function drop(s) {
  if (s.leg) s.leg.close();
  s.leg = null;
  const i = sessions.indexOf(s);
  if (i >= 0) sessions.splice(i, 1);
  if (current === s) current = sessions[sessions.length - 1] || null;
  publish();
}

// finish ends a session whose call has ended.
function finish(s, snap) {
  drop(s);
  offerWrapup(snap);
  emit("ended", snap);
}

function offerWrapup(snap) {
  if (!snap || !snap.event_id || !mine.has(snap.id) || wrapped.has(snap.id)) return;
  if (me && snap.user_id && snap.user_id !== me.id) return;
  wrapped.add(snap.id);
  emit("wrapup", snap);
}

// link gives a session the id phoned gave its call.
function link(s, id) {
  if (s.id || !id) return;
  s.id = id;
  mine.add(id);
  const snap = live.get(id) || endedSnaps.get(id);
  if (snap) {
    s.snap = snap;
    if (snap.state === "ended") finish(s, snap);
  }
}

// ---- messages from phoned ----

export function handle(msg) {
  switch (msg.type) {
    case "hello":
      return onHello(msg);
    case "sdp":
      return onSDP(msg);
    case "ice": {
      const s = sessions.find((x) => x.leg && x.leg.id === msg.leg);
      if (s) s.leg.addIce(msg.candidate || null);
      return;
    }
    case "incoming":
      return onIncoming(msg);
    case "call":
      return onSnapshot(msg.call);
    case "taken":
      if (ringingCalls.delete(msg.call)) emit("ringing");
      return;
    case "dtmf": {
      const s = sessionFor(msg.call);
      if (s) {
        s.dtmfIn += msg.digit || "";
        publish();
      }
      return;
    }
    case "queue":
      emit("queue");
      return;
    case "error":
      return onError(msg);
  }
}

function onHello(msg) {
  helloAt = Date.now();
  if (msg.user) {
    me = msg.user;
    emit("user", me);
  }
  const calls = Array.isArray(msg.calls) ? msg.calls : [];
  const ids = new Set(calls.map((c) => c.id));
  for (const c of calls) live.set(c.id, c);
  // A dial still waiting for its call: the offer may be lost with the old
  // socket; if phoned placed the call, it comes back below as detached.
  for (const s of sessions.slice()) {
    if (!s.id) {
      drop(s);
      showError("The connection to phoned dropped while calling");
    } else if (!ids.has(s.id)) {
      // Ended while the socket was down.
      finish(s, { ...(s.snap || {}), id: s.id, state: "ended" });
    }
  }
  let ring = false;
  for (const c of calls) {
    if (me && c.user_id !== me.id) continue;
    if (c.state === "ended") continue;
    const s = sessionFor(c.id);
    if (s) s.snap = c;
    if (c.state === "ringing" && c.direction === "in" && !s) {
      if (!ringingCalls.has(c.id)) ringingCalls.set(c.id, { snap: c, partner: null, ring: true });
      ring = true;
      continue;
    }
    if (c.browser && c.attached === false) reattach(c);
  }
  if (ring) emit("ringing");
  emit("live");
  publish();
}

function onSDP(msg) {
  let s = sessions.find((x) => x.leg && x.leg.id === msg.leg);
  if (!s && msg.req) s = sessions.find((x) => x.req === msg.req);
  if (!s) {
    // A dial hung up before phoned answered: end its call.
    if (msg.req && cancelledReqs.has(msg.req) && msg.call) {
      cancelledReqs.delete(msg.req);
      mine.add(msg.call);
      signal.send({ type: "hangup", call: msg.call });
    }
    return;
  }
  link(s, msg.call);
  if (!sessions.includes(s) || !s.leg) return;
  s.leg.setAnswer(msg.sdp).catch((err) => showError(`The audio could not be set up: ${err.message}`));
  publish();
}

function onIncoming(msg) {
  const c = msg.call;
  if (!c) return;
  live.set(c.id, c);
  emit("live");
  if (c.state !== "ringing" || sessionFor(c.id)) return;
  // ring: whether this page plays the tone (phoned picks one page per agent).
  ringingCalls.set(c.id, { snap: c, partner: msg.partner || null, ring: msg.ring !== false });
  emit("ringing");
}

function onSnapshot(c) {
  if (!c) return;
  if (c.state === "ended") {
    live.delete(c.id);
    endedSnaps.set(c.id, c);
    if (endedSnaps.size > 50) endedSnaps.delete(endedSnaps.keys().next().value);
  } else {
    live.set(c.id, c);
  }
  emit("live");
  const r = ringingCalls.get(c.id);
  if (r) {
    if (c.state === "ringing") r.snap = c;
    else ringingCalls.delete(c.id);
    emit("ringing");
  }
  const s = sessionFor(c.id);
  if (s) {
    s.snap = c;
    if (c.state === "ended") finish(s, c);
    else publish();
  } else if (c.browser && c.attached === false && (c.state === "answered" || c.state === "held") &&
    me && c.user_id === me.id && Date.now() - helloAt < REATTACH_AFTER_HELLO) {
    reattach(c);
  } else if (c.state === "ended") {
    offerWrapup(c);
    if (mine.has(c.id)) emit("ended", c);
  }
}

function onError(msg) {
  const text = errorWords(msg.code, msg.error);
  if (!msg.req && !msg.call && msg.code === "bad_request") {
    // A message of ours phoned did not take (e.g. `focus`): nothing for the agent to do.
    console.warn("phoned:", msg.error);
    return;
  }
  let s = msg.req ? sessions.find((x) => x.req === msg.req) : null;
  if (!s && msg.call) s = sessionFor(msg.call);
  if (s && s.leg && !s.leg.answered) {
    // phoned refused the offer (dial, answer or reattach): this leg is done.
    s.leg.close();
    s.leg = null;
    if (s.kind === "dial" && msg.call) {
      link(s, msg.call); // its call's end brings the wrap-up
      if (sessions.includes(s)) {
        const snap = live.get(msg.call);
        if (!snap) drop(s);
        else publish();
      }
    } else {
      drop(s);
    }
  }
  showError(text);
}

// ---- the agent's actions ----

// dial places a call from the browser. target is {call_id}, {partner_id}
// or {number}; label {name, company, number, partner_id} is for the screen.
export async function dial(target, label = {}) {
  window.phoned.marks.dialClick = Date.now();
  showError("");
  if (!signal || !signal.open) {
    showError("Not connected to phoned: wait until it shows Online, then retry");
    return;
  }
  if (active()) {
    showError("Hang up the current call first");
    return;
  }
  const s = newSession({ kind: "dial", req: newId("req"), label });
  sessions.push(s);
  current = s;
  s.leg = makeLeg(s);
  publish();
  let sdp;
  try {
    sdp = await s.leg.start();
  } catch (err) {
    if (sessions.includes(s)) drop(s);
    showError(err.message);
    return;
  }
  if (!sessions.includes(s)) return; // hung up while the mic opened
  if (!signal.send({ type: "dial", req: s.req, leg: s.leg.id, sdp, ...target })) {
    drop(s);
    showError("The connection to phoned dropped: retry when it shows Online");
    return;
  }
  s.leg.ready();
}

// answer takes a ringing call in this page; a call in the screen is put
// on hold first (one call at a time in the screen).
export async function answer(id) {
  const r = ringingCalls.get(id);
  if (!r) return;
  showError("");
  if (!signal || !signal.open) {
    showError("Not connected to phoned: wait until it shows Online, then retry");
    return;
  }
  ringingCalls.delete(id);
  emit("ringing");
  if (current && current.id && current.snap && current.snap.state === "answered") {
    api("POST", `/api/live-calls/${encodeURIComponent(current.id)}/hold`).catch((err) => showError(err.message));
  }
  const s = newSession({ id, kind: "answer", snap: r.snap, partner: r.partner });
  mine.add(id);
  sessions.push(s);
  current = s;
  s.leg = makeLeg(s);
  publish();
  let sdp;
  try {
    sdp = await s.leg.start();
  } catch (err) {
    if (sessions.includes(s)) drop(s);
    showError(err.message);
    const snap = live.get(id);
    if (snap && snap.state === "ringing") {
      ringingCalls.set(id, { ...r, snap }); // it still rings: let the agent choose again
      emit("ringing");
    }
    return;
  }
  if (!sessions.includes(s)) return;
  if (!signal.send({ type: "answer", call: id, leg: s.leg.id, sdp })) {
    drop(s);
    showError("The connection to phoned dropped: the call could not be answered");
    return;
  }
  s.leg.ready();
}

export function reject(id) {
  if (ringingCalls.delete(id)) emit("ringing");
  if (!signal.send({ type: "reject", call: id })) {
    api("POST", `/api/live-calls/${encodeURIComponent(id)}/hangup`).catch((err) => showError(err.message));
  }
}

// reattach gives a live call of mine, detached after a reload or a
// dropped socket, a new RTCPeerConnection.
async function reattach(snap) {
  let s = sessionFor(snap.id);
  if (s && s.reattaching) return;
  if (!s) {
    s = newSession({ id: snap.id, kind: "reattach", snap });
    sessions.push(s);
  }
  if (s.leg) s.leg.close();
  s.kind = "reattach";
  s.snap = snap;
  s.reattaching = true;
  mine.add(snap.id);
  if (!active()) current = s;
  s.leg = makeLeg(s);
  publish();
  let sdp;
  try {
    sdp = await s.leg.start();
  } catch (err) {
    s.reattaching = false;
    if (s.leg) s.leg.close();
    s.leg = null;
    publish();
    showError(`${err.message} (the call goes on without your audio)`);
    return;
  }
  s.reattaching = false;
  if (!sessions.includes(s) || !s.leg) return;
  s.leg.setMuted(s.muted);
  if (signal.send({ type: "reattach", call: snap.id, leg: s.leg.id, sdp })) s.leg.ready();
}

// hangup ends the call of a session (the current one by default).
export function hangup(s = current) {
  if (!s) return;
  if (!s.id) {
    if (s.req) cancelledReqs.add(s.req);
    drop(s);
    return;
  }
  s.hangingUp = true;
  publish();
  if (!signal.send({ type: "hangup", call: s.id })) {
    api("POST", `/api/live-calls/${encodeURIComponent(s.id)}/hangup`).catch((err) => showError(err.message));
  }
}

export function toggleMute(s = current) {
  if (!s) return;
  s.muted = !s.muted;
  if (s.leg) s.leg.setMuted(s.muted);
  publish();
}

// setSnapshot applies a state the API confirmed before its snapshot arrives.
export function patchState(s, state) {
  if (!s || !s.snap) return;
  s.snap = { ...s.snap, state };
  publish();
}

export function show(s) {
  if (sessions.includes(s)) {
    current = s;
    publish();
  }
}

// setLive fills the live calls from GET /api/live-calls.
export function setLive(list) {
  for (const c of list || []) if (!live.has(c.id)) live.set(c.id, c);
  emit("live");
}

export function setWS(state) {
  window.phoned.ws = state === "open" ? "open" : "closed";
}

// reset forgets everything (log out): legs are closed, calls go on in phoned.
export function reset() {
  for (const s of sessions.splice(0)) if (s.leg) s.leg.close();
  current = null;
  live.clear();
  ringingCalls.clear();
  mine.clear();
  wrapped.clear();
  endedSnaps.clear();
  me = null;
  emit("ringing");
  emit("live");
  publish();
}

// The agent's page: log in, then the work tabs and the phone. This module
// wires the others together: api.js (JSON API), ws.js (signalling),
// calls.js (the calls), callscreen.js, incoming.js, wrapup.js, panels.js
// (queue, contacts, keypad, history), live.js (supervisors), ring.js.
import { api, ApiError, setUnauthorizedHandler } from "/static/api.js";
import { Signal } from "/static/ws.js";
import * as calls from "/static/calls.js";
import { initTabs } from "/static/tabs.js";
import { initPanels, setPanelsUser, refreshQueue, refreshHistory, searchContacts, findQueueItem } from "/static/panels.js";
import { initCallScreen } from "/static/callscreen.js";
import { initIncoming } from "/static/incoming.js";
import { initWrapup, resetWrapup } from "/static/wrapup.js";
import { initLive, loadLive, resetLive } from "/static/live.js";
import { unlock } from "/static/ring.js";
import { $ } from "/static/util.js";

let user = null;

const signal = new Signal({ onMessage: calls.handle, onStatus });
calls.init(signal);

// onStatus shows the connection to phoned in the header.
function onStatus(state, failures) {
  calls.setWS(state);
  const conn = $("#conn");
  conn.dataset.state = state;
  if (state === "open") {
    conn.textContent = "Online";
    sendFocus();
  } else if (!user) conn.textContent = "Offline";
  else if (state === "connecting" && failures === 0) conn.textContent = "Connecting…";
  else conn.textContent = "Reconnecting…";
  // A socket refused again and again may mean the session has ended.
  if (state === "closed" && failures >= 2 && user) checkSession();
}

// sendFocus tells phoned whether this page is visible, so that it picks
// which page of the agent rings.
function sendFocus() {
  signal.send({ type: "focus", visible: !document.hidden });
}
document.addEventListener("visibilitychange", sendFocus);

async function checkSession() {
  try {
    await api("GET", "/api/me");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) sessionEnded();
  }
}

const isSupervisor = (u) => u && (u.role === "supervisor" || u.role === "admin");

const tabs = initTabs($("#tabs"), (id) => {
  if (!user) return;
  if (id === "tab-history") refreshHistory();
  if (id === "tab-queue") refreshQueue();
  if (id === "tab-live" && isSupervisor(user)) loadLive();
});

function showHeader(u) {
  $("#agent-name").textContent = u.name || u.login;
  $("#agent-ext").textContent = u.extension ? `ext. ${u.extension}` : "no extension";
}

function showApp(u) {
  user = u;
  calls.setUser(u);
  setPanelsUser(u);
  showHeader(u);
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#agent").hidden = false;
  $("#logout").hidden = false;
  $("#tab-live").hidden = !isSupervisor(u);
  tabs.select("tab-queue");
  refreshQueue();
  searchContacts();
  if (isSupervisor(u)) loadLive();
  signal.start();
  // The first click after login may ask for notifications and unlock audio.
  document.addEventListener("click", unlock, { once: true, capture: true });
}

function showLogin(message = "") {
  user = null;
  $("#login").hidden = false;
  $("#app").hidden = true;
  $("#agent").hidden = true;
  $("#logout").hidden = true;
  $("#login-error").textContent = message;
  $("#login input[name=login]").focus();
}

// leave ends everything of this page (calls go on in phoned).
function leave() {
  signal.stop();
  calls.reset();
  resetWrapup();
  resetLive();
  document.removeEventListener("click", unlock, { capture: true });
}

function sessionEnded() {
  if (!user) return;
  leave();
  showLogin("Your session has ended: log in again.");
}

setUnauthorizedHandler(sessionEnded);

$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const button = ev.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const res = await api("POST", "/api/login", { login: form.get("login"), password: form.get("password") });
    ev.target.reset();
    showApp(res.user);
  } catch (err) {
    showLogin(err.message);
  } finally {
    button.disabled = false;
  }
});

$("#logout").addEventListener("click", async () => {
  leave();
  await api("POST", "/api/logout").catch(() => {});
  showLogin();
});

initPanels({ dial: calls.dial });
initCallScreen();
initIncoming();
initWrapup({ findQueueItem });
initLive();

calls.bus.addEventListener("queue", () => refreshQueue());
calls.bus.addEventListener("ended", () => {
  refreshQueue();
  refreshHistory();
});
calls.bus.addEventListener("user", (ev) => {
  if (user && ev.detail) showHeader(ev.detail);
});

try {
  const me = await api("GET", "/api/me");
  if (me && me.user) showApp(me.user);
  else showLogin("This page is for users; API tokens have no phone.");
} catch (err) {
  showLogin(err instanceof ApiError && err.status === 401 ? "" : err.message);
}

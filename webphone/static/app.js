// The agent's page: log in, then show today's next activities.
import { api, ApiError } from "/static/api.js";

const $ = (sel) => document.querySelector(sel);

async function showQueue(user) {
  $("#login").hidden = true;
  $("#queue").hidden = false;
  $("#logout").hidden = false;
  $("#who").textContent = `${user.name || user.login} (${user.role}${user.extension ? ", extension " + user.extension : ""})`;
  const body = $("#queue tbody");
  body.replaceChildren();
  try {
    const calls = await api("GET", "/api/queue");
    $("#queue .empty").hidden = calls.length > 0;
    for (const c of calls) {
      const row = body.insertRow();
      const due = new Date(c.due);
      for (const text of [due.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }), c.partner_name, c.phone, c.summary]) {
        row.insertCell().textContent = text;
      }
    }
  } catch (err) {
    $("#queue .error").textContent = err.message;
  }
}

function showLogin(message = "") {
  $("#login").hidden = false;
  $("#queue").hidden = true;
  $("#logout").hidden = true;
  $("#who").textContent = "";
  $("#login .error").textContent = message;
}

$("#login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  try {
    const res = await api("POST", "/api/login", { login: form.get("login"), password: form.get("password") });
    ev.target.reset();
    await showQueue(res.user);
  } catch (err) {
    showLogin(err.message);
  }
});

$("#logout").addEventListener("click", async () => {
  await api("POST", "/api/logout").catch(() => {});
  showLogin();
});

try {
  const me = await api("GET", "/api/me");
  if (me.user) await showQueue(me.user);
  else showLogin("This page is for users; API tokens have no queue.");
} catch (err) {
  showLogin(err instanceof ApiError && err.status === 401 ? "" : err.message);
}

/**
 * A one-page sandbox at `/`: pick a community and a user, write as that user, watch the
 * community's replies arrive, press their keyboard buttons. Plain HTML and a little inline script
 * over the control API; no external assets.
 */

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export function uiPage(apiBaseUrl: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>VK emulator</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: flex; height: 100vh; color: #222; }
  aside { width: 300px; padding: 12px; border-right: 1px solid #ddd; overflow: auto; background: #f7f8fa; }
  main { flex: 1; display: flex; flex-direction: column; }
  h1 { font-size: 16px; margin: 0 0 8px; }
  label { display: block; margin: 10px 0 4px; font-weight: 600; }
  select, input, button { font: inherit; padding: 4px 6px; }
  select, input[type=text] { width: 100%; box-sizing: border-box; }
  code { font-size: 12px; word-break: break-all; }
  #log { flex: 1; overflow: auto; padding: 12px; background: #edeef0; }
  .msg { max-width: 60%; margin: 6px 0; padding: 6px 10px; border-radius: 10px; background: #fff; white-space: pre-wrap; }
  .out { margin-right: auto; }
  .in { margin-left: auto; background: #cce4ff; }
  .meta { font-size: 11px; color: #777; }
  .kb button { margin: 2px; }
  form { display: flex; gap: 6px; padding: 10px; border-top: 1px solid #ddd; }
  form input { flex: 1; }
  .muted { color: #777; font-size: 12px; }
</style>
</head>
<body>
<aside>
  <h1>VK emulator</h1>
  <div class="muted">API base: <code>${escapeHtml(apiBaseUrl)}</code></div>
  <label for="community">Community</label>
  <select id="community"></select>
  <button id="newCommunity" type="button">New community</button>
  <div id="info" class="muted"></div>
  <label for="user">Write as user</label>
  <select id="user"></select>
  <input id="userName" type="text" placeholder="First name of a new user">
  <button id="newUser" type="button">New user</button>
</aside>
<main>
  <div id="log"></div>
  <div id="keyboard" class="kb"></div>
  <form id="send"><input id="text" type="text" placeholder="Message" autocomplete="off"><button>Send</button></form>
</main>
<script>
const $ = (id) => document.getElementById(id);
const api = async (path, method = "GET", body) => {
  const res = await fetch("/_control" + path, { method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
  const data = await res.json();
  if (!res.ok) throw new Error(data.error || res.statusText);
  return data;
};
const el = (tag, props = {}, ...children) => { const e = Object.assign(document.createElement(tag), props); e.append(...children); return e; };
let communities = [], users = [];

async function refreshLists() {
  communities = await api("/communities");
  users = await api("/users");
  fill($("community"), communities.map((c) => [c.id, c.name + " (" + c.id + ")"]));
  fill($("user"), users.map((u) => [u.id, u.firstName + " " + u.lastName + " (" + u.id + ")"]));
  const c = communities.find((x) => String(x.id) === $("community").value);
  $("info").replaceChildren(...(c ? [
    el("div", { textContent: "token: " }, el("code", { textContent: c.tokens[0] ? c.tokens[0].value : "none" })),
    el("div", { textContent: "servers: " + (c.servers.map((s) => s.url + " [" + s.status + "]").join(", ") || "none") }),
    el("div", { textContent: "long poll: " + (c.longPoll.enabled ? "on" : "off") }),
  ] : []));
}

function fill(select, options) {
  const keep = select.value;
  select.replaceChildren(...options.map(([value, text]) => el("option", { value, textContent: text })));
  if (options.some(([value]) => String(value) === keep)) select.value = keep;
}

function buttons(message, userId) {
  const rows = (message.keyboard && message.keyboard.buttons) || [];
  return rows.map((row) => el("div", {}, ...row.map((b) => el("button", {
    type: "button",
    textContent: b.action.label || b.action.type,
    onclick: () => api("/communities/" + $("community").value + "/buttons", "POST", { userId, label: b.action.label, messageId: message.id }).then(refreshLog, alert),
  }))));
}

async function refreshLog() {
  const gid = $("community").value, uid = Number($("user").value);
  if (!gid || !uid) return;
  const messages = await api("/communities/" + gid + "/conversations/" + uid);
  const log = $("log");
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
  log.replaceChildren(...messages.map((m) => el("div", { className: "msg " + (m.out ? "out" : "in") },
    el("div", { textContent: m.deleted ? "(deleted)" : m.text }),
    ...m.attachments.map((a) => el("div", { className: "meta", textContent: "[" + a.type + "]" })),
    ...(m.keyboard && m.keyboard.inline ? buttons(m, uid) : []),
    el("div", { className: "meta", textContent: new Date(m.date * 1000).toLocaleTimeString() + (m.updateTime ? " (edited)" : "") }))));
  const standard = messages.filter((m) => m.out && m.keyboard && !m.keyboard.inline).pop();
  $("keyboard").replaceChildren(...(standard ? buttons(standard, uid) : []));
  if (atBottom) log.scrollTop = log.scrollHeight;
}

$("send").onsubmit = async (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (!text) return;
  await api("/communities/" + $("community").value + "/messages", "POST", { userId: Number($("user").value), text }).catch(alert);
  $("text").value = "";
  refreshLog();
};
$("newUser").onclick = async () => {
  const u = await api("/users", "POST", { firstName: $("userName").value || "Sandbox" });
  await refreshLists();
  $("user").value = u.id;
  refreshLog();
};
$("newCommunity").onclick = async () => {
  const c = await api("/communities", "POST", {});
  await refreshLists();
  $("community").value = c.id;
  refreshLists();
};
$("community").onchange = () => { refreshLists(); refreshLog(); };
$("user").onchange = refreshLog;
refreshLists().then(refreshLog);
setInterval(() => { refreshLog().catch(() => {}); }, 1000);
setInterval(() => { refreshLists().catch(() => {}); }, 5000);
</script>
</body>
</html>`;
}

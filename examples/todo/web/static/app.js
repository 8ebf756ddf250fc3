// The todo page's script: forms without reloading, and live updates from
// the web service's WebSocket (/live). The page works without it.
(function () {
  "use strict";
  const app = document.getElementById("app");
  if (!app) return;
  const state = {
    list: app.dataset.list, filter: app.dataset.filter || "all",
    epoch: app.dataset.epoch, seq: Number(app.dataset.seq),
    first: app.dataset.first === "true", last: app.dataset.last === "true",
    pending: new Map(), fetching: false, gapTimer: 0, ws: null, retry: 500,
  };

  function $(sel, root) { return (root || app).querySelector(sel); }
  function showError(msg) {
    const p = $(".error");
    p.textContent = msg || "";
    p.hidden = !msg;
  }
  function status(msg) { $(".live").textContent = msg; }

  // Forms: post with fetch; the change comes back as a live event.
  document.addEventListener("submit", async function (e) {
    const f = e.target;
    if (!app.contains(f) || f.classList.contains("new-list")) return;
    if (f.classList.contains("share")) return; // a normal post: the page comes back
    e.preventDefault();
    const body = new URLSearchParams(new FormData(f));
    try {
      const r = await fetch(f.action, { method: "POST", body: body, headers: { "X-Requested-With": "fetch" } });
      if (r.status === 204) {
        showError("");
        if (f.classList.contains("add")) f.reset();
        if (f.classList.contains("edit-form")) refetch();
        return;
      }
      const j = await r.json().catch(function () { return { error: "the server answered " + r.status }; });
      showError(j.error);
    } catch (err) {
      showError("The server cannot be reached; try again.");
    }
  });

  // Edit in place: the Edit link opens an input; Enter saves, Escape cancels.
  app.addEventListener("click", function (e) {
    const a = e.target.closest("a.edit");
    if (!a) return;
    e.preventDefault();
    const li = a.closest("li.todo");
    if (!li || $(".inline", li)) return;
    const title = $(".title", li);
    const f = document.createElement("form");
    f.className = "inline edit-form";
    f.method = "post";
    f.action = actionURL(li.dataset.id, "edit");
    const input = document.createElement("input");
    input.name = "title";
    input.value = title.textContent;
    input.setAttribute("aria-label", "Title");
    input.style.width = "100%";
    f.appendChild(input);
    title.hidden = true;
    li.insertBefore(f, title);
    input.focus();
    input.addEventListener("keydown", function (k) {
      if (k.key === "Escape") { f.remove(); title.hidden = false; }
    });
  });

  function actionURL(id, action) {
    return "/lists/" + encodeURIComponent(state.list) + "/todos/" + encodeURIComponent(id) + "/" + action;
  }

  function render(t) {
    const li = document.getElementById("todo-item").content.firstElementChild.cloneNode(true);
    li.dataset.id = t.id;
    li.dataset.version = t.version;
    li.dataset.created = t.createdAt;
    li.classList.toggle("completed", t.completed);
    $(".title", li).textContent = t.title; // text, never HTML
    $("form.toggle", li).action = actionURL(t.id, "complete");
    $("form.toggle input[name=completed]", li).value = String(!t.completed);
    $("form.toggle button", li).setAttribute("aria-label", t.completed ? "Mark as not done" : "Mark as done");
    $("form.delete", li).action = actionURL(t.id, "delete");
    $("a.edit", li).href = "?edit=" + encodeURIComponent(t.id);
    return li;
  }
  function shown(t) {
    return state.filter === "all" || (state.filter === "active") === !t.completed;
  }
  function find(id) {
    for (const li of app.querySelectorAll("li.todo")) if (li.dataset.id === id) return li;
    return null;
  }
  // onPage reports whether a todo made at when belongs to the page shown:
  // a page holds the todos made between its first and its last (the first
  // page all before its last, the last page all after its first), so a todo
  // of another page changes only the counts here.
  function onPage(when) {
    const items = $(".todos").querySelectorAll("li.todo");
    if (items.length === 0) return state.first && state.last;
    const lo = Date.parse(items[0].dataset.created), hi = Date.parse(items[items.length - 1].dataset.created);
    return (state.first || when >= lo) && (state.last || when <= hi);
  }
  function place(t) {
    const old = find(t.id);
    if (!shown(t)) { if (old) old.remove(); return; }
    const li = render(t);
    if (old) { old.replaceWith(li); return; }
    const when = Date.parse(t.createdAt);
    if (!onPage(when)) return;
    const ul = $(".todos");
    for (const other of ul.children) {
      if (Date.parse(other.dataset.created) > when) { ul.insertBefore(li, other); return; }
    }
    ul.appendChild(li);
  }
  function counts(dActive, dCompleted) {
    const a = $(".active-count"), c = $(".completed-count"), t = $(".total-count");
    a.textContent = Math.max(0, Number(a.textContent) + dActive);
    c.textContent = Math.max(0, Number(c.textContent) + dCompleted);
    t.textContent = Number(a.textContent) + Number(c.textContent);
  }
  function tidy() {
    $(".empty").hidden = app.querySelectorAll("li.todo").length > 0;
    $("form.clear").hidden = Number($(".completed-count").textContent) === 0;
  }

  function apply(ev) {
    switch (ev.kind) {
      case "created":
        if (!find(ev.todo.id)) counts(ev.todo.completed ? 0 : 1, ev.todo.completed ? 1 : 0);
        place(ev.todo);
        break;
      case "updated":
        if (ev.wasCompleted !== ev.todo.completed) counts(ev.todo.completed ? -1 : 1, ev.todo.completed ? 1 : -1);
        place(ev.todo);
        break;
      case "deleted": {
        const li = find(ev.todo.id);
        if (li) li.remove();
        counts(ev.wasCompleted ? 0 : -1, ev.wasCompleted ? -1 : 0);
        break;
      }
      case "cleared":
        app.querySelectorAll("li.todo.completed").forEach(function (li) { li.remove(); });
        counts(0, -Number($(".completed-count").textContent));
        break;
    }
    tidy();
  }

  function addList(l) {
    const nav = $(".lists");
    for (const a of nav.querySelectorAll("a.list-link")) if (a.dataset.list === l.id) return;
    const a = document.createElement("a");
    a.className = "list-link";
    a.dataset.list = l.id;
    a.href = "/lists/" + encodeURIComponent(l.id);
    a.textContent = l.name;
    nav.insertBefore(a, $(".new-list"));
  }

  // receive orders the events of the list by sequence number: the next one
  // is applied, older ones are ignored, and a gap that does not fill within
  // a moment (or another epoch) means asking for the page again.
  function receive(msg) {
    if (msg.kind === "list" || msg.kind === "shared") { addList(msg.listInfo); return; }
    if (msg.kind === "error") { status("live updates paused: " + msg.error); return; }
    if (msg.list !== state.list) return;
    if (msg.kind === "state") {
      status("live");
      if (msg.epoch !== state.epoch || msg.seq > state.seq) refetch();
      return;
    }
    if (state.fetching) { state.pending.set(msg.seq, msg); return; }
    if (msg.epoch !== state.epoch) { refetch(); return; }
    if (msg.seq <= state.seq) return;
    state.pending.set(msg.seq, msg);
    drain();
    if (state.pending.size > 0 && !state.gapTimer) {
      state.gapTimer = setTimeout(function () { state.gapTimer = 0; if (state.pending.size) refetch(); }, 300);
    }
  }
  function drain() {
    for (;;) {
      const next = state.pending.get(state.seq + 1);
      if (!next) break;
      state.pending.delete(state.seq + 1);
      state.seq++;
      apply(next);
    }
    for (const k of state.pending.keys()) if (k <= state.seq) state.pending.delete(k);
  }

  // refetch loads the page again and swaps its content in, keeping what the
  // user is typing.
  async function refetch() {
    if (state.fetching) return;
    state.fetching = true;
    try {
      const r = await fetch(location.pathname + location.search.replace(/([?&])edit=[^&]*/, "$1"), { headers: { "X-Requested-With": "refetch" } });
      const doc = new DOMParser().parseFromString(await r.text(), "text/html");
      const fresh = doc.getElementById("app");
      if (fresh) {
        const typed = $(".new-title") ? $(".new-title").value : "";
        const error = $(".error").textContent;
        app.innerHTML = fresh.innerHTML;
        state.epoch = fresh.dataset.epoch;
        state.seq = Number(fresh.dataset.seq);
        state.first = fresh.dataset.first === "true";
        state.last = fresh.dataset.last === "true";
        if ($(".new-title")) $(".new-title").value = typed;
        showError(error);
      }
    } catch (err) {
      status("could not refresh the list");
    } finally {
      state.fetching = false;
      const held = Array.from(state.pending.values());
      state.pending.clear();
      held.forEach(function (m) { if (m.epoch === state.epoch && m.seq > state.seq) state.pending.set(m.seq, m); });
      drain();
    }
  }

  function connect() {
    if (!("WebSocket" in window)) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(proto + "//" + location.host + "/live?list=" + encodeURIComponent(state.list));
    state.ws = ws;
    ws.onopen = function () { state.retry = 500; status("live"); app.dataset.live = "on"; };
    ws.onmessage = function (e) {
      try { receive(JSON.parse(e.data)); } catch (err) { status("bad live message"); }
    };
    ws.onclose = function () {
      app.dataset.live = "off";
      status("reconnecting…");
      setTimeout(connect, state.retry);
      state.retry = Math.min(state.retry * 2, 5000);
    };
  }
  connect();

  // For tests and debugging: drop the live connection as a network fault
  // would; the page reconnects and catches up.
  window.todoLive = { drop: function () { if (state.ws) state.ws.close(); } };
})();

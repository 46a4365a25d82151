/* discuss moderation: keyboard flow (j/k/a/r/f/x/o/?) and in-place actions.
   Progressive: every action is a plain form that works without this file. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Messages in the staff member's language, from the page (base_staff.html); English if absent.
  var STRINGS = (function () {
    var meta = document.querySelector('meta[name="dashboard-strings"]');
    try { return meta ? JSON.parse(meta.content) : {}; } catch (e) { return {}; }
  }());
  function str(key, fallback) { return STRINGS[key] || fallback; }
  function commentStatus(body) {
    var status = (STRINGS.statuses || {})[body.status] || body.status;
    return str("comment_status", "Comment #{id}: {status}").replace("{id}", body.id).replace("{status}", status);
  }

  var items = function () { return Array.prototype.slice.call(document.querySelectorAll(".mod-item")); };
  var current = null;

  function select(item, scroll) {
    if (!item) { return; }
    if (current) { current.classList.remove("is-selected"); }
    current = item;
    item.classList.add("is-selected");
    if (scroll !== false) {
      item.scrollIntoView({ block: "nearest" });
      item.focus({ preventScroll: true });
    }
  }

  function move(step) {
    var list = items();
    if (!list.length) { return; }
    var index = current ? list.indexOf(current) : -1;
    var next = list[Math.max(0, Math.min(list.length - 1, index + step))];
    select(next || list[0]);
  }

  function nextOpen(after) {
    var list = items();
    for (var i = list.indexOf(after) + 1; i < list.length; i++) {
      if (!list[i].classList.contains("is-done")) { return list[i]; }
    }
    return null;
  }

  function updateCounts(counts) {
    Object.keys(counts || {}).forEach(function (queue) {
      document.querySelectorAll('[data-count="' + queue + '"]').forEach(function (el) {
        el.textContent = counts[queue];
      });
    });
  }

  function flash(message, kind) {
    var box = document.querySelector(".flashes");
    if (!box) {
      box = document.createElement("div");
      box.className = "flashes";
      document.body.insertBefore(box, document.querySelector("main"));
    }
    box.textContent = "";
    var p = document.createElement("p");
    p.className = "flash flash-" + (kind || "ok");
    p.setAttribute("role", "status");
    p.textContent = message;
    box.appendChild(p);
  }

  /* One polite live region that exists from page load (a region added at the moment it gets its
     text is not read out reliably), so j/k/a/r results are heard as well as seen. */
  function announce(message) {
    var live = document.getElementById("mod-live");
    if (!live) { return; }
    live.textContent = "";
    setTimeout(function () { live.textContent = message; }, 30);
  }

  function submitAction(form) {
    var item = form.closest(".mod-item");
    var data = new FormData(form);
    if (document.querySelector(".site-switch select") && document.querySelector(".site-switch select").value) {
      data.append("site_filtered", "1");
    }
    fetch(form.action, { method: "POST", body: data, credentials: "same-origin",
                         headers: { "X-Requested-With": "fetch", "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (result) {
        var ok = result[0], body = result[1];
        if (!ok) { flash((body.error && body.error.message) || str("failed", "That did not work."), "error"); return; }
        updateCounts(body.counts);
        announce(commentStatus(body));
        if (body.undo_url) { offerUndo(body.undo_url, commentStatus(body)); }
        if (document.querySelector(".thread-panel")) { refreshPage(); return; }
        if (item) {
          item.classList.add("is-done");
          item.querySelector(".status-badge").textContent = body.status + " ✓";
          item.classList.remove("status-pending", "status-published", "status-rejected");
          item.classList.add("status-" + body.status);
          if (item === current) { select(nextOpen(item) || item); }
        }
      })
      .catch(function () { form.submit(); });
  }

  /* After an action, the comment page re-reads itself (author counts, thread counts, history)
     and the queue re-reads one item after an undo: the server renders, the page swaps it in. */
  function fetchPage() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.text(); })
      .then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
  }

  function refreshPage() {
    return fetchPage().then(function (doc) {
      var fresh = doc.querySelector("main"), main = document.querySelector("main");
      if (fresh && main) { main.innerHTML = fresh.innerHTML; bind(main); select(items()[0], false); }
    });
  }

  function refreshItem(commentId) {
    return fetchPage().then(function (doc) {
      var fresh = doc.getElementById("c" + commentId), old = document.getElementById("c" + commentId);
      if (fresh && old) {
        old.replaceWith(fresh);
        bind(fresh);
        select(fresh, false);
      }
    });
  }

  var undoTimer = null;
  function offerUndo(url, label) {
    var old = document.querySelector(".undo-toast");
    if (old) { old.remove(); }
    clearTimeout(undoTimer);
    var toast = document.createElement("div");
    toast.className = "undo-toast";
    toast.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = label;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "js-undo";
    button.textContent = str("undo", "Undo");
    button.addEventListener("click", function () {
      toast.remove();
      clearTimeout(undoTimer);
      var data = new FormData();
      var token = document.querySelector('meta[name="csrf-token"]');
      data.append("csrf_token", token ? token.content : "");
      fetch(url, { method: "POST", body: data, credentials: "same-origin",
                   headers: { "X-Requested-With": "fetch", "Accept": "application/json" } })
        .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
        .then(function (result) {
          var ok = result[0], body = result[1];
          if (!ok) { flash((body.error && body.error.message) || str("undo_failed", "Could not undo."), "error"); return; }
          updateCounts(body.counts);
          flash(str("undone", "Undone."), "ok");
          if (document.querySelector(".thread-panel")) { refreshPage(); }
          else if (body.comment_id) { refreshItem(body.comment_id); }
        });
    });
    toast.appendChild(text);
    toast.appendChild(button);
    document.body.appendChild(toast);
    undoTimer = setTimeout(function () { toast.remove(); }, 10000);
  }

  function clickAction(name) {
    if (!current) { return; }
    var form = current.querySelector('form.js-action[data-action="' + name + '"]');
    if (form) { submitAction(form); }
  }

  function toggleHelp() {
    var help = document.getElementById("kbd-help");
    if (help) { help.hidden = !help.hidden; }
  }

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "Escape") {
      var help = document.getElementById("kbd-help");
      if (help && !help.hidden) { help.hidden = true; return; }
      if (typing(event.target)) { event.target.blur(); }
      return;
    }
    if (typing(event.target)) { return; }
    var handlers = {
      j: function () { move(1); }, k: function () { move(-1); },
      a: function () { clickAction("approve"); }, r: function () { clickAction("reject"); },
      f: function () { clickAction("feature"); }, "?": toggleHelp,
      x: function () { if (current) { var box = current.querySelector(".js-select"); box.checked = !box.checked; countSelected(); } },
      o: function () { if (current) { window.location = current.querySelector("a.time").href; } },
      "/": function () { var s = document.getElementById("search"); if (s) { s.focus(); } }
    };
    var handler = handlers[event.key];
    if (handler) { event.preventDefault(); handler(); }
  });

  function countSelected() {
    var n = document.querySelectorAll(".js-select:checked").length;
    var label = document.querySelector(".selected-count");
    if (label) { label.textContent = n ? n + " selected" : ""; }
  }

  function bind(root) {
    root.querySelectorAll("form.js-action").forEach(function (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); submitAction(form); });
    });
    var roots = root.classList && root.classList.contains("mod-item") ? [root] : root.querySelectorAll(".mod-item");
    Array.prototype.forEach.call(roots, function (item) {
      item.addEventListener("click", function (event) {
        if (!event.target.closest("a, button, input, select, summary, label")) { select(item, false); }
      });
    });
    root.querySelectorAll(".js-select").forEach(function (box) { box.addEventListener("change", countSelected); });
  }

  /* A table wider than a phone scrolls sideways inside its box; keyboard users need to reach it
     (Tab to it, then arrow keys), so only a box that actually scrolls becomes a tab stop. */
  function focusableScrollers() {
    document.querySelectorAll(".audit, .table-scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth + 1) { box.setAttribute("tabindex", "0"); }
      else if (box.getAttribute("tabindex") === "0") { box.removeAttribute("tabindex"); }
    });
  }
  window.addEventListener("resize", focusableScrollers);

  document.addEventListener("DOMContentLoaded", function () {
    bind(document);
    focusableScrollers();
    var live = document.createElement("div");
    live.id = "mod-live";
    live.className = "visually-hidden";
    live.setAttribute("role", "status");
    document.body.appendChild(live);
    document.querySelectorAll(".js-help").forEach(function (button) { button.addEventListener("click", toggleHelp); });
    document.querySelectorAll(".js-autosubmit select, select.js-autosubmit-field").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    var all = document.querySelector(".js-select-all");
    if (all) {
      all.addEventListener("change", function () {
        document.querySelectorAll(".js-select").forEach(function (box) { box.checked = all.checked; });
        countSelected();
      });
    }
    document.querySelectorAll(".js-expire").forEach(function (el) {
      setTimeout(function () { el.remove(); }, 1000 * parseInt(el.getAttribute("data-seconds") || "10", 10));
    });
    var first = items()[0];
    if (first) { select(first, false); }
  });
}());

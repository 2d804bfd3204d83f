/* fieldops technician pages offline (issue 16): the phone's half.
   - Today (online) asks the service worker to keep the day's pages (tech/sw.js "keep"),
     and an order page seen online its own, whenever the order's version changed.
   - A page shown from the kept copy, or with the phone offline, says
     "Offline, last synced 10:42" (the time the copy was rendered).
   - Offline, a step form is not sent but queued in IndexedDB (tech/queue.js, idb-keyval):
     its fields and files, the phone's time of the action, the version the page showed,
     and `after`, the previous queued step of the same order. (A step whose sending fails
     on the way is queued by the worker the same way.)
   - Back online (the `online` event, a page load, a retry timer with backoff) the queue is
     sent in order, one request each, to the replay endpoint. Applied or duplicate: removed.
     Refused: moved to "Not sent" with the order's later steps (made on top of it). Held
     (a sign-off drawn offline that needs the code sent to the customer's phone, R26):
     kept, with a field for the code; the order's later steps wait, other orders' go on;
     the code typed in sends the same step again. A network error, a 5xx or an answer that
     is not the replay's: stop and retry later.
   - Logging out clears the kept pages and the queue, after asking if steps are waiting.
   - The session ended on the server (the replay answers 401, or lands on the login page):
     the kept pages and the steps carrying customer data are dropped at once (R40,
     tech/queue.js), and the login page says the session ended. The worker does the same
     when a page it fetches is sent to the login page (tech/sw.js).
   The words come translated from the server (json_script "offline-words"). */
(function () {
  "use strict";
  var root = document.documentElement;
  var q = window.fieldopsQueue;
  var wordsNode = document.getElementById("offline-words");
  if (!q || !wordsNode || !root.dataset.user) { return; }
  var kv = q.kv, store = q.store, iso = q.iso;
  var words = JSON.parse(wordsNode.textContent);
  var user = root.dataset.user;
  var STEP_URL = new RegExp("^" + root.dataset.scope + "orders/(\\d+)/([a-z-]+)/$");

  function count(forms, n) { return forms[n === 1 ? "one" : "other"].replace("%(count)s", n); }

  function mine(list) { return (list || []).filter(function (e) { return e.user === user; }); }

  function label(entry) { return words.labels[entry.step] || entry.label || entry.step; }

  // Offline, a step of the visit is queued instead of sent (capture: before the pages'
  // own handlers, which would send it).
  window.addEventListener("submit", function (event) {
    var form = event.target;
    if (navigator.onLine || form.method.toLowerCase() !== "post") { return; }
    var match = new URL(form.action, location.href).pathname.match(STEP_URL);
    if (!match) { return; }
    event.preventDefault();
    event.stopImmediatePropagation();
    if (words.steps.indexOf(match[2]) === -1) { window.alert(words.needs_network); return; }
    if (form.dataset.queueing) { return; }
    form.dataset.queueing = "1";
    if (form.fieldopsPrepare) { form.fieldopsPrepare(); }
    var now = new Date();
    q.entryFrom(new FormData(form), { user: user, order: match[1], step: match[2],
                                      number: root.dataset.orderNumber }, now).then(q.enqueue).then(function () {
      sessionStorage.setItem("fieldops-saved", words.saved);
      location.assign(root.dataset.scope + "orders/" + match[1] + "/");
    });
  }, true);

  // --- What is waiting, and what was not sent ------------------------------------------
  function li(text, extra) {
    var item = document.createElement("li");
    item.textContent = text;
    if (extra) { item.appendChild(extra); }
    return item;
  }

  function show() {
    return Promise.all([kv.get("queue", store), kv.get("refused", store)]).then(function (lists) {
      var queue = mine(lists[0]), refused = mine(lists[1]);
      var waiting = document.querySelector("[data-waiting]");
      var saved = sessionStorage.getItem("fieldops-saved");
      sessionStorage.removeItem("fieldops-saved");
      if (waiting) {
        waiting.textContent = (saved ? saved + " " : "") + (queue.length ? count(words.waiting, queue.length) : "");
        waiting.hidden = !waiting.textContent;
        waiting.dataset.count = queue.length;
      }
      var own = document.querySelector("[data-order-queue]");
      if (own) {
        var list = own.querySelector("ul"), order = Number(own.dataset.orderQueue);
        list.textContent = "";
        queue.filter(function (e) { return e.order === order; }).forEach(function (e) {
          var item = li(label(e) + " · " + words.saved_at.replace("%(time)s", e.saved));
          item.dataset.queued = e.step;
          list.appendChild(item);
        });
        own.hidden = !list.children.length;
      }
      heldBox(queue);
      var box = document.querySelector("[data-not-sent]");
      if (box) {
        var ul = box.querySelector("ul");
        ul.textContent = "";
        refused.forEach(function (e) {
          var dismiss = document.createElement("button");
          dismiss.type = "button";
          dismiss.textContent = words.dismiss;
          dismiss.addEventListener("click", function () { forget(e.client_id); });
          var item = li(label(e) + (e.number ? " · " + e.number : "") + ": " + e.message + " " + e.todo + " ", dismiss);
          item.dataset.refused = e.step;
          ul.appendChild(item);
        });
        box.hidden = !refused.length;
      }
      return queue.length;
    });
  }

  // Sign-offs waiting for the customer's code: the code is typed in here and the same
  // step goes again; "Send a new code" opens the sign-off page (online).
  function heldBox(queue) {
    var box = document.querySelector("[data-held]");
    if (!box) { return; }
    var ul = box.querySelector("ul"), held = queue.filter(function (e) { return e.held; });
    ul.textContent = "";
    held.forEach(function (e) {
      var form = document.createElement("form"), id = "code-" + e.client_id;
      form.className = "held-code";
      var text = document.createElement("p");
      text.textContent = label(e) + (e.number ? " · " + e.number : "") + ": " + e.message;
      var field = document.createElement("label");
      field.htmlFor = id;
      field.textContent = words.code;
      var input = document.createElement("input");
      input.type = "text"; input.id = id; input.name = "code"; input.required = true;
      input.inputMode = "numeric"; input.autocomplete = "one-time-code";
      input.pattern = "[0-9]{6}"; input.maxLength = 6;
      var finish = document.createElement("button");
      finish.type = "submit";
      finish.className = "primary";
      finish.textContent = words.finish;
      var again = document.createElement("a");
      again.href = root.dataset.scope + "orders/" + e.order + "/sign-off/";
      again.className = "btn";
      again.textContent = words.new_code;
      form.append(text, field, input, finish, again);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        withCode(e.client_id, input.value.trim()).then(replay);
      });
      var item = li("");
      item.dataset.held = e.step;
      item.appendChild(form);
      ul.appendChild(item);
    });
    box.hidden = !held.length;
  }

  function withCode(clientId, code) {
    return kv.update("queue", function (queue) {
      return (queue || []).map(function (e) {
        if (e.client_id !== clientId) { return e; }
        e.fields = e.fields.filter(function (f) { return f[0] !== "code"; }).concat([["code", code]]);
        e.held = false;
        return e;
      });
    }, store);
  }

  function hold(entry, answer) {
    return kv.update("queue", function (queue) {
      return (queue || []).map(function (e) {
        if (e.client_id === entry.client_id) { e.held = true; e.message = answer.message || ""; }
        return e;
      });
    }, store);
  }

  function forget(clientId) {
    return kv.update("refused", function (list) {
      return (list || []).filter(function (e) { return e.client_id !== clientId; });
    }, store).then(show);
  }

  // Offline, the order page offers the whole visit (the steps after a queued one, too):
  // a link to each step's kept page, a one-tap form for "on my way".
  function visitLinks(nav) {
    if (nav.dataset.built) { return; }
    nav.dataset.built = "1";
    var base = root.dataset.scope + "orders/" + nav.dataset.offlineVisit + "/";
    words.steps.forEach(function (name) {
      if (!words.labels[name]) { return; }
      var control;
      if (words.one_tap.indexOf(name) !== -1) {
        control = document.createElement("form");
        control.method = "post";
        control.action = base + name + "/";
        [["csrfmiddlewaretoken", csrf()], ["version", nav.dataset.version]].forEach(function (pair) {
          var input = document.createElement("input");
          input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
          control.appendChild(input);
        });
        var button = document.createElement("button");
        button.type = "submit";
        button.textContent = words.labels[name];
        button.dataset.visitStep = name;
        control.appendChild(button);
      } else {
        control = document.createElement("a");
        control.className = "btn";
        control.href = base + name + "/";
        control.textContent = words.labels[name];
        control.dataset.visitStep = name;
      }
      nav.appendChild(control);
    });
  }

  function banner() {
    var offline = !navigator.onLine || root.dataset.copy === "kept";
    var node = document.querySelector("[data-offline-banner]");
    if (node) { node.textContent = words.banner; node.hidden = !offline; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-offline-only]"), function (n) {
      n.hidden = !offline;
    });
    var visit = document.querySelector("[data-offline-visit]");
    if (visit) {
      if (offline) { visitLinks(visit); }
      visit.hidden = !offline;
    }
  }

  // --- Replay ------------------------------------------------------------------------------
  var failures = 0, timer = null;

  function csrf() {
    var found = document.cookie.split("; ").filter(function (c) { return c.indexOf("csrftoken=") === 0; })[0];
    return found ? decodeURIComponent(found.slice("csrftoken=".length)) : "";
  }

  function retryLater() {
    failures += 1;
    clearTimeout(timer);
    timer = setTimeout(replay, Math.min(300, 5 * Math.pow(2, failures - 1)) * 1000);
  }

  function send(entry) {
    var body = new FormData();
    body.append("client_id", entry.client_id);
    body.append("order", entry.order);
    body.append("step", entry.step);
    body.append("phone_at", entry.phone_at);
    body.append("phone_sent_at", iso(new Date()));
    body.append("version", entry.version);
    body.append("after", entry.after || "");
    entry.fields.forEach(function (f) { body.append(f[0], f[1]); });
    entry.files.forEach(function (f) { body.append(f[0], f[1], f[2]); });
    return fetch(words.endpoint, { method: "POST", body: body, credentials: "same-origin",
                                   headers: { "X-CSRFToken": csrf() } });
  }

  function refuse(entry, answer) {
    return kv.get("queue", store).then(function (queue) {
      var out = [], keep = [];
      (queue || []).forEach(function (e) {
        if (e.client_id === entry.client_id) {
          e.message = answer.message || "";
          e.todo = words.todo[answer.code] || words.todo.rule;
          e.code = answer.code || "";
          out.push(e);
        } else if (out.length && e.order === entry.order && e.user === entry.user) {
          e.message = words.earlier_refused; e.todo = ""; e.code = "earlier";
          out.push(e);
        } else {
          keep.push(e);
        }
      });
      return kv.update("refused", function (list) { return (list || []).concat(out); }, store)
        .then(function () { return kv.set("queue", keep, store); });
    });
  }

  function remove(entry) {
    return kv.update("queue", function (queue) {
      return (queue || []).filter(function (e) { return e.client_id !== entry.client_id; });
    }, store);
  }

  // The oldest step that may go now: not one waiting for the customer's code, nor a later
  // step of its order (made on top of it).
  function nextToSend(queue) {
    var waiting = {};
    return mine(queue).filter(function (e) {
      var blocked = e.held || waiting[e.order];
      if (blocked) { waiting[e.order] = true; }
      return !blocked;
    })[0];
  }

  // One step at a time, oldest first; true when the queue is done, false to retry later.
  function sendNext() {
    return kv.get("queue", store).then(function (queue) {
      var entry = nextToSend(queue);
      if (!entry) { return true; }
      return send(entry).then(function (response) {
        if (response.status === 401 || (response.redirected && new URL(response.url).pathname === words.login)) {
          return sessionEnded().then(function () { return true; });
        }
        if (response.status >= 500) { return false; }
        return response.json().then(function (answer) {
          if (response.ok && (answer.status === "applied" || answer.status === "duplicate")) {
            return remove(entry).then(sendNext);
          }
          if (answer.status === "refused") { return refuse(entry, answer).then(sendNext); }
          if (answer.status === "held") { return hold(entry, answer).then(sendNext); }
          return false;
        }, function () { return false; });  // not the replay's answer (a login page): later
      }, function () { return false; });  // a network error: later
    });
  }

  var running = null;
  function replay() {
    if (!navigator.onLine) { return Promise.resolve(); }
    if (running) { return running; }
    var work = function () {
      return sendNext().then(function (done) {
        if (done) { failures = 0; } else { retryLater(); }
      });
    };
    // One tab replays at a time.
    running = (navigator.locks ? navigator.locks.request("fieldops-replay", work) : work())
      .catch(retryLater).then(show).then(function () { running = null; });
    return running;
  }

  // --- Keeping the day's pages ---------------------------------------------------------
  // Today lists the pages to keep: its own and the assets ("pages"), and per order its page
  // and its visit's step pages with the order's version ("orders"). An order's pages are
  // fetched again only when its version changed since they were kept (an order page seen
  // online says its version too), so the copies carry the version the server has now.
  var KEPT = "fieldops-kept";

  function keep(urls, versions) {
    if (!navigator.onLine || !("serviceWorker" in navigator) || !urls.length) { return; }
    navigator.serviceWorker.addEventListener("message", function (event) {
      if (!event.data || event.data.type !== "kept") { return; }
      var kept = JSON.parse(localStorage.getItem(KEPT) || "{}");
      Object.keys(versions).forEach(function (order) { kept[order] = versions[order]; });
      localStorage.setItem(KEPT, JSON.stringify(kept));
      root.dataset.kept = event.data.kept;
    });
    navigator.serviceWorker.ready.then(function (registration) {
      registration.active.postMessage({ type: "keep", urls: urls });
    });
  }

  function changed(groups) {
    var kept = JSON.parse(localStorage.getItem(KEPT) || "{}"), urls = [], versions = {};
    groups.forEach(function (group) {
      if (kept[group.order] === group.version) { return; }
      urls = urls.concat(group.urls);
      versions[group.order] = group.version;
    });
    return { urls: urls, versions: versions };
  }

  function keepDay() {
    var node = document.getElementById("offline-keep");
    var visit = document.querySelector("[data-offline-visit]");
    if (node) {
      var day = JSON.parse(node.textContent), todo = changed(day.orders);
      keep(day.pages.concat(todo.urls), todo.versions);
    } else if (visit && root.dataset.copy === "live") {
      var order = visit.dataset.offlineVisit, base = root.dataset.scope + "orders/" + order + "/";
      // The page itself is kept by the worker as it is shown; its steps' pages are fetched.
      var urls = words.steps.filter(function (name) {
        return words.one_tap.indexOf(name) === -1;
      }).map(function (name) { return base + name + "/"; });
      var mine = changed([{ order: order, version: Number(visit.dataset.version), urls: urls }]);
      keep(mine.urls, mine.versions);
    }
  }

  // Another technician's kept pages never show on this phone: they go when the user changes.
  // After the session ended the pages were dropped ("user" with them): fetch the day again.
  function ownerCheck() {
    var previous = localStorage.getItem("fieldops-user");
    localStorage.setItem("fieldops-user", user);
    var known = kv.get("user", store).then(function (stored) {
      if (!stored) { localStorage.removeItem(KEPT); }
      return kv.set("user", user, store);  // for the worker, which queues a failed step
    });
    if (previous && previous !== user && window.caches) {
      localStorage.removeItem(KEPT);
      return known.then(function () { return caches.delete("fieldops-pages"); });
    }
    return known;
  }

  // --- The session ended on the server ---------------------------------------------------
  var ended = false;
  function sessionEnded() {
    if (ended) { return Promise.resolve(); }
    ended = true;
    localStorage.removeItem(KEPT);
    return q.forgetCustomerData(words.customer_fields).then(function () {
      location.assign(words.login + "?next=" + encodeURIComponent(location.pathname) + "&" + words.ended + "=1");
    });
  }

  // --- Logging out -----------------------------------------------------------------------
  function clearAll() {
    var jobs = [kv.clear(store)];
    if (window.caches) {
      jobs.push(caches.keys().then(function (keys) {
        return Promise.all(keys.filter(function (k) { return k.indexOf("fieldops") === 0; })
          .map(function (k) { return caches.delete(k); }));
      }));
    }
    localStorage.removeItem("fieldops-user");
    localStorage.removeItem(KEPT);
    return Promise.all(jobs);
  }

  var logout = document.querySelector("form[data-logout]");
  if (logout) {
    logout.addEventListener("submit", function (event) {
      event.preventDefault();
      kv.get("queue", store).then(function (queue) {
        var n = mine(queue).length;
        if (n && !window.confirm(count(words.lost, n))) {
          delete logout.dataset.sent;  // tech/app.js's guard against a double tap
          setTimeout(function () {
            Array.prototype.forEach.call(logout.querySelectorAll("button"), function (b) { b.disabled = false; });
          }, 10);
          return;
        }
        clearAll().then(function () { logout.submit(); });
      });
    });
  }

  window.addEventListener("online", function () { banner(); failures = 0; replay(); });
  window.addEventListener("offline", banner);
  banner();
  ownerCheck().then(function () { keepDay(); return show(); }).then(replay);
})();

/* The dispatcher's day board on EventCalendar's resource timeline (@event-calendar/build,
   pinned in npm.toml): technicians as rows, the day's hours across. A drop calls the
   server, which runs the same services as the desk; a refusal is shown in words and the
   block goes back (the library's revert()). Times are wall-clock times in the operator's
   zone, sent and received without an offset. */
(function () {
  "use strict";

  var root = document.getElementById("board");
  if (!root || typeof EventCalendar === "undefined") { return; }
  var status = document.getElementById("board-status");
  var list = document.getElementById("board-unassigned");
  var none = document.getElementById("board-unassigned-none");
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
  var editable = root.dataset.editable === "1";

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function hour(h) { return pad(Number(h)) + ":00"; }

  /* A Date the calendar gives back, as the wall-clock string it was drawn from. */
  function wallClock(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) +
      "T" + pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":00";
  }

  function say(message, refused) {
    status.textContent = message;
    status.hidden = !message;
    status.classList.toggle("refused", Boolean(refused));
    status.setAttribute("role", refused ? "alert" : "status");
  }

  function dark() {
    var theme = document.documentElement.dataset.theme || "auto";
    return theme === "dark" || (theme === "auto" &&
      window.matchMedia("(prefers-color-scheme: dark)").matches);
  }
  function applyTheme() { root.classList.toggle("ec-dark", dark()); }

  function showUnassigned(items) {
    list.replaceChildren();
    items.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.url;
      a.textContent = item.number;
      li.append(a, " · " + item.kind + " · " + item.area + " · " + item.window);
      li.dataset.order = item.number;
      list.append(li);
    });
    none.hidden = items.length > 0;
  }

  var calendar = EventCalendar.create(root, {
    view: "resourceTimelineDay",
    date: root.dataset.day,
    locale: root.dataset.locale,
    headerToolbar: { start: "", center: "", end: "" },
    slotMinTime: hour(root.dataset.firstHour),
    slotMaxTime: hour(root.dataset.lastHour),
    slotDuration: "01:00",
    slotWidth: 88,
    slotLabelFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    eventTimeFormat: { hour: "2-digit", minute: "2-digit", hour12: false },
    snapDuration: "00:15",
    resourceAreaHeaderContent: root.dataset.techniciansLabel,
    editable: editable,
    eventDurationEditable: false,
    resources: [],
    events: [],
    eventDidMount: function (info) {
      var props = info.event.extendedProps;
      if (props.kind === "visit") {
        info.el.dataset.order = props.number;
        info.el.title = props.label + " · " + props.state + " · " + props.window;
      }
    },
    eventDrop: drop
  });
  applyTheme();

  /* The resource timeline marks itself up as an ARIA table whose row headers sit outside
     its rows, which screen readers cannot follow (axe: aria-required-children/-parent).
     Its rows are drawn as plain blocks instead, inside one labelled region; the same
     orders are listed in words beside it and each block has its order in its text. */
  var TABLE_ROLES = ["table", "rowgroup", "row", "rowheader", "columnheader", "cell"];
  var TABLE_ATTRIBUTES = ["aria-colspan", "aria-rowspan", "aria-colindex", "aria-rowindex",
                          "aria-colcount", "aria-rowcount"];
  function plainRoles() {
    root.querySelectorAll(".ec, .ec *").forEach(function (el) {
      if (TABLE_ROLES.indexOf(el.getAttribute("role")) >= 0) { el.removeAttribute("role"); }
      TABLE_ATTRIBUTES.forEach(function (name) {
        if (el.hasAttribute(name)) { el.removeAttribute(name); }
      });
    });
  }
  root.setAttribute("role", "region");
  root.setAttribute("aria-label", root.dataset.label);
  plainRoles();
  new MutationObserver(plainRoles).observe(root, { childList: true, subtree: true });

  function load() {
    return fetch(root.dataset.url, { headers: { Accept: "application/json" },
                                     credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        calendar.setOption("slotMinTime", hour(data.hours[0]));
        calendar.setOption("slotMaxTime", hour(data.hours[1]));
        calendar.setOption("resources", data.resources);
        calendar.setOption("events", data.events);
        showUnassigned(data.unassigned);
        root.dataset.loaded = String(Number(root.dataset.loaded || 0) + 1);
      })
      .catch(function () { say(root.dataset.failed, true); });
  }

  function post(url, version, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "If-Match": '"' + version + '"', "X-CSRFToken": csrf ? csrf.value : "" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    });
  }

  function drop(info) {
    var props = info.event.extendedProps;
    var order = props.order;
    var request;
    if (info.newResource) {
      /* A technician's row dispatches or reassigns; the "Unassigned" row takes the order
         off its technician, back to the queue (R4). */
      var technician = info.newResource.extendedProps.technician || null;
      request = post(root.dataset.assignUrl.replace("/0/", "/" + order + "/"), props.version,
                     { technician: technician });
    } else {
      request = post(root.dataset.planUrl.replace("/0/", "/" + order + "/"), props.version,
                     { start: wallClock(info.event.start) });
    }
    say(root.dataset.saving, false);
    request.then(function (answer) {
      var message = answer.data.message || root.dataset.failed;
      if (!answer.ok) { info.revert(); }
      say(message, !answer.ok);
      /* revert() puts back the times; the board as the server has it puts back the row
         too, and shows what another dispatcher changed meanwhile (412). */
      load();
    }).catch(function () {
      info.revert();
      say(root.dataset.failed, true);
      load();
    });
  }

  window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", applyTheme);
  new MutationObserver(applyTheme).observe(document.documentElement,
                                           { attributes: true, attributeFilter: ["data-theme"] });
  load();
}());

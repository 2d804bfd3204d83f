/* fieldops technician pages: small progressive enhancements.
   Every page works without this file (plain forms); with it:
   - the service worker is registered (installable app, cached app shell);
   - a free slot tapped on the booking page fills in its day and time (R9);
   - check-in fills in the browser's location (R17);
   - the sign-off page gets a signature pad drawn with a finger (R26; signature_pad);
   - a form can't be sent twice by a double tap.
   Offline, tech/offline.js queues the step forms instead (issue 16). */
(function () {
  "use strict";
  var root = document.documentElement;

  if ("serviceWorker" in navigator && root.dataset.sw) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(root.dataset.sw, { scope: root.dataset.scope })
        .catch(function () { /* pages work without it */ });
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.sent) { event.preventDefault(); return; }
    form.dataset.sent = "1";
    Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
      setTimeout(function () { b.disabled = true; }, 0);
    });
  });

  // R9: a free slot tapped fills in the day and the time; typing a time clears the slot.
  var slots = document.querySelector("[data-slots]");
  if (slots) {
    var slotForm = slots.closest("form");
    var dayInput = slotForm.querySelector("input[name=day]");
    var timeInput = slotForm.querySelector("input[name=start]");
    slots.addEventListener("change", function (event) {
      var radio = event.target;
      if (radio.name !== "slot") { return; }
      if (dayInput) { dayInput.value = radio.dataset.day; }
      if (timeInput) { timeInput.value = radio.dataset.time; }
    });
    if (timeInput) {
      timeInput.addEventListener("input", function () {
        Array.prototype.forEach.call(slots.querySelectorAll("input[name=slot]"),
          function (r) { if (r.checked && r.dataset.time !== timeInput.value) { r.checked = false; } });
      });
    }
  }

  // R13: "On my way" sends where the phone is, if it says within a few seconds, for the
  // customer's arrival estimate; without it the step goes through all the same.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-ping]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.located || !("geolocation" in navigator)) { return; }
      event.preventDefault();
      var send = function () { form.dataset.located = "1"; form.submit(); };
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.querySelector("input[name=latitude]").value = pos.coords.latitude.toFixed(6);
        form.querySelector("input[name=longitude]").value = pos.coords.longitude.toFixed(6);
        send();
      }, send, { enableHighAccuracy: true, timeout: 4000, maximumAge: 60000 });
    });
  });

  // R17: the location of the check-in, from the browser.
  var geo = document.querySelector("[data-geolocate]");
  if (geo) {
    var status = geo.querySelector("[data-geo-status]");
    var set = function (name, value) {
      var input = geo.querySelector("input[name=" + name + "]");
      if (input) { input.value = value; }
    };
    if (!("geolocation" in navigator)) {
      status.textContent = status.dataset.unavailable;
    } else {
      status.textContent = status.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        set("latitude", pos.coords.latitude.toFixed(6));
        set("longitude", pos.coords.longitude.toFixed(6));
        set("accuracy", Math.round(pos.coords.accuracy));
        status.textContent = status.dataset.found + " " + pos.coords.latitude.toFixed(5) +
          ", " + pos.coords.longitude.toFixed(5) + " (±" + Math.round(pos.coords.accuracy) + " m)";
        status.dataset.ok = "1";
      }, function () {
        status.textContent = status.dataset.denied;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    }
  }

  // R26: the customer's signature, drawn with a finger on a canvas by signature_pad
  // (npm, pinned in npm.toml, served as vendor/signature_pad/), which smooths the strokes
  // and keeps each point's time.
  var pad = document.querySelector("canvas[data-signature]");
  if (pad && window.SignaturePad) {
    var form = pad.closest("form");
    var field = form.querySelector("input[name=signature]");
    var timing = form.querySelector("input[name=strokes]");
    var signature = new window.SignaturePad(pad, { penColor: "#000", minWidth: 1, maxWidth: 3,
                                                   backgroundColor: "rgba(0,0,0,0)" });
    var fit = function () {
      // The canvas's pixels follow its CSS size and the screen's density; resizing clears
      // it, so only a real change of size does.
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var width = pad.offsetWidth * ratio, height = pad.offsetHeight * ratio;
      if (pad.width === width && pad.height === height) { return; }
      var kept = signature.toData();
      pad.width = width; pad.height = height;
      pad.getContext("2d").scale(ratio, ratio);
      signature.clear();
      if (kept.length) { signature.fromData(kept); }
    };
    window.addEventListener("resize", fit);
    fit();
    // The strokes as drawn, [x, y, ms since the first touch], sent with the image (R26).
    var strokes = function () {
      var data = signature.toData(), t0 = null;
      return data.map(function (group) {
        return group.points.map(function (p) {
          if (t0 === null) { t0 = p.time; }
          return [Math.round(p.x), Math.round(p.y), Math.max(0, Math.round(p.time - t0))];
        });
      });
    };
    var clear = form.querySelector("[data-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        signature.clear(); field.value = "";
        if (timing) { timing.value = ""; }
      });
    }
    var fill = function () {
      if (!signature.isEmpty()) {
        field.value = signature.toDataURL("image/png");
        if (timing) { timing.value = JSON.stringify(strokes()); }
      }
    };
    form.addEventListener("submit", fill, true);
    // tech/offline.js fills the fields the same way before it queues the form offline.
    form.fieldopsPrepare = fill;
  }
})();

/* fieldops technician pages: small progressive enhancements, no library.
   Every page works without this file (plain forms); with it:
   - the service worker is registered (installable app, cached app shell);
   - check-in fills in the browser's location (R17);
   - the sign-off page gets a signature pad drawn with a finger (R26);
   - a form can't be sent twice by a double tap. */
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

  // R26: the customer's signature, drawn with a finger on a canvas.
  var pad = document.querySelector("canvas[data-signature]");
  if (pad) {
    var form = pad.closest("form");
    var field = form.querySelector("input[name=signature]");
    var timing = form.querySelector("input[name=strokes]");
    var ctx = pad.getContext("2d");
    var drawn = 0, last = null, strokes = [], t0 = null;
    var fit = function () {
      var ratio = window.devicePixelRatio || 1;
      pad.width = pad.clientWidth * ratio;
      pad.height = pad.clientHeight * ratio;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.lineJoin = "round"; ctx.strokeStyle = "#000";
      drawn = 0; strokes = []; t0 = null;
    };
    // The strokes as drawn, [x, y, ms since the first touch], sent with the image (R26).
    var mark = function (p) {
      if (t0 === null) { t0 = Date.now(); }
      strokes[strokes.length - 1].push([Math.round(p.x), Math.round(p.y), Date.now() - t0]);
    };
    var point = function (e) {
      var r = pad.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    pad.addEventListener("pointerdown", function (e) {
      e.preventDefault(); pad.setPointerCapture(e.pointerId); last = point(e);
      strokes.push([]); mark(last);
    });
    pad.addEventListener("pointermove", function (e) {
      if (!last) { return; }
      var p = point(e);
      ctx.beginPath(); ctx.moveTo(last.x, last.y); ctx.lineTo(p.x, p.y); ctx.stroke();
      drawn += Math.abs(p.x - last.x) + Math.abs(p.y - last.y);
      last = p; mark(p);
    });
    var stop = function () { last = null; };
    pad.addEventListener("pointerup", stop);
    pad.addEventListener("pointercancel", stop);
    var clear = form.querySelector("[data-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, pad.width, pad.height); drawn = 0; field.value = "";
        strokes = []; t0 = null; if (timing) { timing.value = ""; }
      });
    }
    fit();
    form.addEventListener("submit", function () {
      if (drawn > 0) {
        field.value = pad.toDataURL("image/png");
        if (timing) { timing.value = JSON.stringify(strokes); }
      }
    }, true);
  }
})();

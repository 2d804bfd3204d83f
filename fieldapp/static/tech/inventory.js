/* Equipment (R45) and materials (R46) steps.
   Steppers: big + / - buttons change the quantity next to them (whole steps; metres
   may also be typed with one decimal).
   Scanner: the barcode reader (npm barcode-detector, a BarcodeDetector polyfill) is
   loaded only when the camera or a photo is opened; its WebAssembly file is served from
   our own static files (data-wasm), never from a CDN, so scanning works offline. */
(function () {
  "use strict";

  function stepper(button) {
    var input = document.getElementById(button.getAttribute("data-for"));
    if (!input) { return; }
    var value = parseFloat(String(input.value).replace(",", ".")) || 0;
    var next = Math.round((value + parseFloat(button.getAttribute("data-by"))) * 10) / 10;
    input.value = next === 0 ? "" : String(next);
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-by]");
    if (button) { event.preventDefault(); stepper(button); }
  });

  var box = document.querySelector("[data-scanner]");
  if (!box) { return; }
  var target = document.getElementById(box.getAttribute("data-target"));
  var status = box.querySelector("[data-scan-status]");
  var video = box.querySelector("[data-scan-video]");
  var stopButton = box.querySelector("[data-scan-stop]");
  var stream = null;
  var detectorPromise = null;

  function say(text) { status.hidden = false; status.textContent = text; }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function detector() {
    if (!detectorPromise) {
      say(box.getAttribute("data-loading"));
      var wasm = box.getAttribute("data-wasm");
      detectorPromise = loadScript(box.getAttribute("data-script")).then(function () {
        var api = window.BarcodeDetectionAPI;
        if (api && api.prepareZXingModule) {
          api.prepareZXingModule({
            overrides: {
              locateFile: function (path, prefix) {
                return path.endsWith(".wasm") ? wasm + path : prefix + path;
              }
            }
          });
        }
        return new window.BarcodeDetector();
      });
    }
    return detectorPromise;
  }

  function found(codes) {
    if (!codes || !codes.length) { return false; }
    var text = String(codes[0].rawValue || "").replace(/\s+/g, "").toUpperCase();
    if (!text) { return false; }
    target.value = text;
    target.dispatchEvent(new Event("change", { bubbles: true }));
    say(box.getAttribute("data-found") + " " + text);
    return true;
  }

  function stop() {
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.hidden = true;
    stopButton.hidden = true;
  }

  function loop(found_) {
    if (!stream) { return; }
    detector().then(function (d) { return d.detect(video); }).then(function (codes) {
      if (found_(codes)) { stop(); target.focus(); } else { window.setTimeout(function () { loop(found_); }, 250); }
    }).catch(function () { window.setTimeout(function () { loop(found_); }, 500); });
  }

  box.querySelector("[data-scan-camera]").addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      say(box.getAttribute("data-failed"));
      return;
    }
    detector().then(function () {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    }).then(function (media) {
      stream = media;
      video.srcObject = media;
      video.hidden = false;
      stopButton.hidden = false;
      return video.play();
    }).then(function () { loop(found); }).catch(function () {
      stop();
      say(box.getAttribute("data-failed"));
    });
  });

  stopButton.addEventListener("click", stop);

  box.querySelector("[data-scan-file]").addEventListener("change", function (event) {
    var file = event.target.files && event.target.files[0];
    if (!file) { return; }
    detector().then(function (d) {
      return createImageBitmap(file).then(function (bitmap) { return d.detect(bitmap); });
    }).then(function (codes) {
      if (!found(codes)) { say(box.getAttribute("data-none")); }
    }).catch(function () { say(box.getAttribute("data-failed")); });
  });
})();

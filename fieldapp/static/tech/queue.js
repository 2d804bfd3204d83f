/* fieldops technician pages: the queue of steps made offline (issue 16), in IndexedDB
   through idb-keyval. Shared by the pages (tech/offline.js: the phone is offline) and the
   service worker (tech/sw.js: a step sent online failed on the way), so a step is queued
   the same way whichever saw the network fail.
   An entry: client_id (crypto.randomUUID), user, order, step, the form's fields and files
   (photos compressed to a max edge and a byte cap; the signature, a PNG data URL, too; its
   strokes field as it is), phone_at (the phone's time of the action, ISO 8601 with its
   offset), position (where the form has one), version (the order version the page
   showed), after (the client id of the order's previous queued step, null for the first).
   Keys of the store: "queue" (waiting, oldest first), "refused" (not sent), "user".
   When the session has ended (expired on the server), forgetCustomerData drops the kept
   pages (customer names, numbers, addresses) and the steps that carry customer data
   (fieldapp/offline.py CUSTOMER_FIELDS, R40); the others stay, to be sent after the next
   login. */
(function (scope) {
  "use strict";
  var kv = scope.idbKeyval;
  if (!kv) { return; }
  var store = kv.createStore("fieldops-offline", "queue");
  var MAX_EDGE = 1600, MAX_BYTES = 400 * 1024;              // a photo
  var SIGNATURE_EDGE = 1000, SIGNATURE_BYTES = 200 * 1024;  // the signature drawing
  var SKIPPED = ["csrfmiddlewaretoken", "version"];

  function pad(n, width) { return String(n).padStart(width || 2, "0"); }

  // ISO 8601 in the phone's own time with its offset: 2026-12-07T10:42:05.123+08:00.
  function iso(d) {
    var offset = -d.getTimezoneOffset(), a = Math.abs(offset);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." +
      pad(d.getMilliseconds(), 3) + (offset >= 0 ? "+" : "-") + pad(Math.floor(a / 60)) + ":" + pad(a % 60);
  }

  // --- Compression: a canvas (OffscreenCanvas in the worker), a max edge, then a smaller
  // size and quality until the image is under the cap.
  function encode(bitmap, width, height, type, quality) {
    var w = Math.max(1, Math.round(width)), h = Math.max(1, Math.round(height)), canvas;
    if (typeof OffscreenCanvas !== "undefined") {
      canvas = new OffscreenCanvas(w, h);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, w, h);
      return canvas.convertToBlob({ type: type, quality: quality });
    }
    canvas = document.createElement("canvas");
    canvas.width = w; canvas.height = h;
    canvas.getContext("2d").drawImage(bitmap, 0, 0, w, h);
    return new Promise(function (resolve) { canvas.toBlob(resolve, type, quality); });
  }

  function shrink(blob, edge, cap, type) {
    return createImageBitmap(blob).then(function (bitmap) {
      var scale = Math.min(1, edge / Math.max(bitmap.width, bitmap.height)), quality = 0.85;
      if (scale === 1 && blob.size <= cap) { return blob; }
      function attempt() {
        return encode(bitmap, bitmap.width * scale, bitmap.height * scale, type, quality).then(function (out) {
          if (!out || out.size <= cap || scale < 0.1) { return out; }
          scale *= 0.8; quality = Math.max(0.5, quality - 0.1);
          return attempt();
        });
      }
      return attempt();
    });
  }

  function compressPhoto(file) {
    var name = file.name || "photo.jpg";
    if (!file.type || file.type.indexOf("image/") !== 0 || typeof createImageBitmap === "undefined") {
      return Promise.resolve([file, name]);
    }
    return shrink(file, MAX_EDGE, MAX_BYTES, "image/jpeg").then(function (blob) {
      if (!blob || blob === file || blob.size >= file.size) { return [file, name]; }
      return [blob, name.replace(/\.[^.]*$/, "") + ".jpg"];
    }).catch(function () { return [file, name]; });
  }

  function dataUrl(blob) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.readAsDataURL(blob);
    });
  }

  // The signature stays a PNG data URL, as the online form sends it.
  function compressSignature(url) {
    if (!url || url.indexOf("data:image/") !== 0) { return Promise.resolve(url); }
    return fetch(url).then(function (r) { return r.blob(); }).then(function (blob) {
      return shrink(blob, SIGNATURE_EDGE, SIGNATURE_BYTES, "image/png").then(function (out) {
        return out === blob || !out ? url : dataUrl(out);
      });
    }).catch(function () { return url; });
  }

  // An entry from a step form's data; meta: user, order, step, label, number.
  function entryFrom(data, meta, now) {
    var fields = [], files = [], jobs = [];
    data.forEach(function (value, name) {
      if (SKIPPED.indexOf(name) !== -1) { return; }
      if (value instanceof Blob) {
        if (!value.size) { return; }
        jobs.push(compressPhoto(value).then(function (pair) { files.push([name, pair[0], pair[1]]); }));
      } else if (name === "signature") {
        jobs.push(compressSignature(value).then(function (url) { fields.push([name, url]); }));
      } else {
        fields.push([name, value]);
      }
    });
    var position = null;
    if (data.get("latitude") && data.get("longitude")) {
      position = { latitude: Number(data.get("latitude")), longitude: Number(data.get("longitude")),
                   accuracy: data.get("accuracy") ? Number(data.get("accuracy")) : null };
    }
    return Promise.all(jobs).then(function () {
      return {
        client_id: crypto.randomUUID(), user: meta.user, order: Number(meta.order),
        step: meta.step, label: meta.label || "", number: meta.number || "",
        fields: fields, files: files, phone_at: iso(now),
        saved: pad(now.getHours()) + ":" + pad(now.getMinutes()), position: position,
        version: data.get("version") || "", after: null
      };
    });
  }

  function enqueue(entry) {
    return kv.update("queue", function (queue) {
      queue = queue || [];
      var earlier = queue.filter(function (e) { return e.order === entry.order && e.user === entry.user; });
      entry.after = earlier.length ? earlier[earlier.length - 1].client_id : null;
      queue.push(entry);
      return queue;
    }, store);
  }

  // --- The session ended: what holds customer data goes at once -------------------------
  function carries(entry, fields) {
    return entry.fields.concat(entry.files).some(function (f) {
      return fields.indexOf(f[0]) !== -1 && f[1] !== "" && f[1] !== null;
    });
  }

  // The kept entries, a dropped step's later steps re-linked to the last one kept.
  function without(list, fields) {
    var last = {}, dropped = {};
    return (list || []).filter(function (e) {
      var key = e.user + ":" + e.order;
      if (e.after && dropped[e.after]) { e.after = last[key] || null; }
      if (carries(e, fields)) { dropped[e.client_id] = true; return false; }
      last[key] = e.client_id;
      return true;
    });
  }

  function forgetCustomerData(fields) {
    var jobs = [
      kv.update("queue", function (list) { return without(list, fields); }, store),
      kv.update("refused", function (list) { return without(list, fields); }, store),
      kv.del("user", store)  // the next page loaded after a login fetches the day again
    ];
    if (scope.caches) { jobs.push(scope.caches.delete("fieldops-pages")); }
    return Promise.all(jobs);
  }

  scope.fieldopsQueue = { kv: kv, store: store, iso: iso, pad: pad, entryFrom: entryFrom,
                          enqueue: enqueue, forgetCustomerData: forgetCustomerData };
})(self);

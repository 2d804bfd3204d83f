// The dashboards' behaviour, from our own static file: the Content-Security-Policy runs no
// inline script. Loaded after the chart scripts where a page draws charts.
(function () {
  "use strict";

  // Each chart: a <div class="fo-chart"> and its options in <script type="application/json">
  // (dashboards.charts).
  // Chart.js and Chartkick are loaded only by the pages that draw a chart.
  if (window.Chartkick) document.querySelectorAll(".fo-chart").forEach(function (element) {
    var source = document.getElementById(element.id + "-json");
    if (!source) return;
    var o = JSON.parse(source.textContent);
    new Chartkick[o.type](element.id, o.data, o.options);
  });

  // The language picker submits as soon as a language is chosen.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // The "Now" panel is its own small page, fetched at once and then polled.
  var panel = document.querySelector("[data-now]");
  if (!panel) return;
  var seconds = parseFloat(panel.dataset.poll) || 15;
  function refresh() {
    fetch(panel.dataset.url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var body = panel.querySelector("[data-now-body]");
        var next = document.createElement("div");
        next.innerHTML = html;
        body.replaceWith(next.firstElementChild || next);
      })
      .catch(function () {})
      .finally(function () { window.setTimeout(refresh, seconds * 1000); });
  }
  refresh();  // at once, then every few seconds
})();

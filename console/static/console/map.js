/* The dispatcher's map: open orders, technicians' last positions and a line from each
   technician to their next order, drawn with Leaflet from the page's JSON. Without tiles
   (offline, a blocked tile server) the markers and lines still draw on the blank map. */
(function () {
  "use strict";

  function draw() {
    var box = document.getElementById("order-map");
    var source = document.getElementById("map-data");
    if (!box || !source || !window.L) { return; }
    var data = JSON.parse(source.textContent);
    var map = L.map(box, {keyboard: true});
    L.tileLayer(box.dataset.tiles, {
      attribution: box.dataset.attribution, maxZoom: 19
    }).addTo(map);
    var bounds = [];
    data.lines.forEach(function (line) {
      L.polyline([line.from, line.to], {
        className: "map-line", color: "#1d4ed8", weight: 2, dashArray: "6 4"
      }).addTo(map);
    });
    data.orders.forEach(function (order) {
      L.circleMarker([order.lat, order.lon], {
        className: "map-order", radius: 7, color: "#9a3412", fillColor: "#f97316",
        fillOpacity: 0.9, weight: 2
      }).bindTooltip(order.number + " · " + order.state + " · " + order.area).addTo(map);
      bounds.push([order.lat, order.lon]);
    });
    data.technicians.forEach(function (tech) {
      L.circleMarker([tech.lat, tech.lon], {
        className: "map-technician", radius: 8, color: "#1e3a8a", fillColor: "#3b82f6",
        fillOpacity: 0.9, weight: 3
      }).bindTooltip(tech.name + " · " + tech.at).addTo(map);
      bounds.push([tech.lat, tech.lon]);
    });
    if (bounds.length) {
      map.fitBounds(bounds, {padding: [30, 30], maxZoom: 15});
    } else {
      map.setView(data.centre, 11);
    }
    box.dataset.drawn = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
}());

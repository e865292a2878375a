// The supervision dashboard's charts: Chart.js (UMD build, from npm) fed by the JSON in
// #charts[data-source] (same filters as the page). No inline script. Each chart is kept in
// window.zhifaCharts[name] so that tests and the console can read what was drawn; #charts gets
// data-rendered="1" when all are drawn ("error" if the data could not be loaded).
(function () {
  "use strict";
  var host = document.getElementById("charts");
  if (!host || typeof Chart === "undefined") { return; }
  var PALETTE = ["#0d6efd", "#fd7e14", "#20c997", "#6f42c1", "#d63384", "#198754", "#ffc107", "#6c757d"];
  window.zhifaCharts = window.zhifaCharts || {};

  function dataset(spec, index, doughnut) {
    var color = spec.color || (doughnut ? PALETTE : PALETTE[index % PALETTE.length]);
    return { label: spec.label, data: spec.data, backgroundColor: color, borderColor: doughnut ? "#fff" : color, borderWidth: 1 };
  }

  function draw(canvas, payload) {
    var name = canvas.getAttribute("data-chart");
    var kind = canvas.getAttribute("data-type") || "bar";
    var doughnut = kind === "doughnut";
    var stacked = canvas.getAttribute("data-stacked") === "1";
    var options = { responsive: true, animation: false, plugins: { legend: { position: "bottom" } } };
    if (!doughnut) {
      options.indexAxis = canvas.getAttribute("data-horizontal") === "1" ? "y" : "x";
      options.scales = { x: { stacked: stacked, beginAtZero: true }, y: { stacked: stacked, beginAtZero: true } };
    }
    if (window.zhifaCharts[name]) { window.zhifaCharts[name].destroy(); }
    window.zhifaCharts[name] = new Chart(canvas, {
      type: kind,
      data: { labels: payload.labels, datasets: payload.datasets.map(function (d, i) { return dataset(d, i, doughnut); }) },
      options: options
    });
  }

  fetch(host.getAttribute("data-source"), { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
    .then(function (payload) {
      host.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
        var data = payload[canvas.getAttribute("data-chart")];
        if (data) { draw(canvas, data); }
      });
      host.setAttribute("data-rendered", "1");
    })
    .catch(function () { host.setAttribute("data-rendered", "error"); });
})();

// Draws the daily report's charts with Chart.js (served from node_modules through Django's static files).
(function () {
  "use strict";
  var source = document.getElementById("report-chart-data");
  if (!source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  var css = getComputedStyle(document.body);
  Chart.defaults.font.family = css.fontFamily;
  Chart.defaults.color = "#5c6877";
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;  // a report is read, not watched; and it prints as it is
  var blue = "#1d5fbf", red = "#b3261e", orange = "#d58512";
  var measureColours = {central: "#7d1b14", home: "#b3261e", monitor: "#e6a23c"};
  var percentTicks = {callback: function (v) { return v + "%"; }};

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) new Chart(canvas, config);
  }

  var trend = data.trend;
  draw("chart-trend", {
    type: "line",
    data: {
      labels: trend.labels,
      datasets: [
        {label: trend.names.rate, data: trend.rate, yAxisID: "rate", borderColor: blue, backgroundColor: blue, tension: 0.25},
        {label: trend.names.under_control, data: trend.under_control, yAxisID: "count", borderColor: red, backgroundColor: red, tension: 0.25},
        {label: trend.names.abnormal, data: trend.abnormal, yAxisID: "count", borderColor: orange, backgroundColor: orange, borderDash: [5, 3], tension: 0.25}
      ]
    },
    options: {
      interaction: {mode: "index", intersect: false},
      plugins: {legend: {position: "bottom"}},
      scales: {
        rate: {type: "linear", position: "left", min: 0, max: 100, ticks: percentTicks},
        count: {type: "linear", position: "right", beginAtZero: true, ticks: {precision: 0}, grid: {drawOnChartArea: false}}
      }
    }
  });

  var units = data.units;
  if (units.labels.length) {
    draw("chart-rate-units", {
      type: "bar",
      data: {labels: units.labels, datasets: [{label: units.names.rate, data: units.rate, backgroundColor: blue, maxBarThickness: 36}]},
      options: {plugins: {legend: {display: false}}, scales: {y: {min: 0, max: 100, ticks: percentTicks}}}
    });
    draw("chart-control-units", {
      type: "bar",
      data: {
        labels: units.labels,
        datasets: units.measures.map(function (m) {
          return {label: m.name, data: m.values, backgroundColor: measureColours[m.key] || "#888", maxBarThickness: 36};
        })
      },
      options: {plugins: {legend: {position: "bottom"}}, scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}}}
    });
  }
})();

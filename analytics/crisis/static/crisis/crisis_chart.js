// Observed vs expected mentions per hour on a crisis alert's page (data from json_script).
(function () {
  "use strict";
  var canvas = document.getElementById("crisis-chart");
  var source = document.getElementById("crisis-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var fmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
    { weekday: "short", hour: "2-digit", minute: "2-digit" });
  var labels = data.labels.map(function (iso) { return fmt.format(new Date(iso)); });
  var alertIndex = data.labels.indexOf(data.alert_hour);
  new Chart(canvas, {
    type: "line",
    data: {
      labels: labels,
      datasets: [
        { label: data.observed_label, data: data.observed, borderColor: "#dc3545", backgroundColor: "#dc3545",
          pointRadius: data.observed.map(function (_v, i) { return i === alertIndex ? 5 : 0; }), tension: 0.2 },
        { label: data.expected_label, data: data.expected, borderColor: "#6c757d", borderDash: [6, 4],
          pointRadius: 0, spanGaps: true, tension: 0.2 }
      ]
    },
    options: { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false },
               scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
  });
})();

/* The analytics dashboard: one Chart.js chart per series, read from the analytics API with the
   page's filters; the care figures from the care API when it answers (else "not available"). */
(function () {
  "use strict";
  const labelsNode = document.getElementById("analytics-labels");
  if (!labelsNode || typeof Chart === "undefined") return;
  const L = JSON.parse(labelsNode.textContent);
  const colours = {positive: "#198754", neutral: "#6c757d", negative: "#dc3545", untagged: "#adb5bd"};
  const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + " %");
  const when = (t, interval) => {
    const d = new Date(t);
    return interval === "hour" ? d.toLocaleString([], {day: "2-digit", month: "2-digit", hour: "2-digit"})
      : d.toLocaleDateString([], {day: "2-digit", month: "2-digit"});
  };
  const bars = (rows, label, key) => ({
    type: "bar",
    data: {labels: rows.map((r) => r[label]), datasets: [{label: L.mentions, data: rows.map((r) => r[key])}]},
    options: {indexAxis: "y", plugins: {legend: {display: false}}},
  });
  const charts = {
    "volume": (d) => ({
      type: "bar",
      data: {labels: d.points.map((p) => when(p.t, d.interval)),
             datasets: ["positive", "neutral", "negative", "untagged"].map((s) => ({
               label: L[s], data: d.points.map((p) => p[s]), backgroundColor: colours[s]}))},
      options: {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true}}},
      summary: L.total + ": " + d.total,
    }),
    "sentiment": (d) => ({
      type: "line",
      data: {labels: d.points.map((p) => when(p.t, d.interval)),
             datasets: [{label: L.net_sentiment, data: d.points.map((p) => p.net_sentiment), spanGaps: true}]},
      options: {scales: {y: {min: -1, max: 1}}},
      summary: L.net_sentiment + ": " + pct(d.net_sentiment) + " · " + L.previous + ": " + pct(d.previous_net_sentiment),
    }),
    "reach": (d) => ({
      type: "bar",
      data: {labels: d.points.map((p) => when(p.t, d.interval)),
             datasets: [{label: L.reach, data: d.points.map((p) => p.reach), yAxisID: "y"},
                        {label: L.engagement_rate, type: "line", data: d.points.map((p) => p.engagement_rate),
                         yAxisID: "rate"}]},
      options: {scales: {y: {beginAtZero: true}, rate: {position: "right", beginAtZero: true}}},
      summary: L.reach + ": " + d.reach + " · " + L.engagement_rate + ": " + pct(d.engagement_rate),
    }),
    "share-of-voice": (d) => ({
      type: "doughnut",
      data: {labels: d.rows.map((r) => r.name), datasets: [{data: d.rows.map((r) => r.mentions)}]},
      summary: L.brand_share + ": " + pct(d.brand_share),
    }),
    "top-authors": (d) => Object.assign(bars(d.by_volume.map((r) => ({...r, who: "@" + (r.handle || r.author_id)})),
                                              "who", "mentions"),
      {summary: L.by_reach + ": " + d.by_reach.slice(0, 3).map((r) => "@" + r.handle + " (" + r.followers + ")").join(", ")}),
    "top-topics": (d) => bars(d.rows, "name", "mentions"),
    "top-terms": (d) => bars(d.rows, "term", "mentions"),
  };
  document.querySelectorAll("canvas[data-series]").forEach((canvas) => {
    const name = canvas.dataset.series;
    fetch(canvas.dataset.url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
      .then((data) => {
        const config = charts[name](data);
        const summary = document.querySelector('[data-summary="' + name + '"]');
        if (summary && config.summary) summary.textContent = config.summary;
        delete config.summary;
        new Chart(canvas, config);
      })
      .catch(() => { canvas.replaceWith(Object.assign(document.createElement("p"), {textContent: L.failed})); });
  });
  const care = document.querySelector("[data-testid=care-section]");
  if (!care) return;
  const body = document.getElementById("care-body");
  const duration = (s) => (s === null || s === undefined ? "–" : s < 3600 ? Math.round(s / 60) + " min" : (s / 3600).toFixed(1) + " h");
  fetch(care.dataset.url, {headers: {Accept: "application/json"}, credentials: "same-origin"})
    .then((r) => (r.ok ? r.json() : Promise.reject(r.status)))
    .then((d) => {
      const rows = [
        [L.first_response, duration(d.first_response.median_seconds) + " / " + duration(d.first_response.p90_seconds) + " (" + d.first_response.count + ")"],
        [L.resolution, duration(d.resolution.median_seconds) + " / " + duration(d.resolution.p90_seconds) + " (" + d.resolution.count + ")"],
        [L.sla_breaches, d.sla_breaches.first_response + " / " + d.sla_breaches.resolution],
        [L.backlog, String(d.backlog)],
      ];
      const table = document.createElement("table");
      table.className = "table table-sm w-auto";
      rows.forEach(([k, v]) => {
        const tr = table.insertRow();
        tr.insertCell().textContent = k;
        tr.insertCell().textContent = v;
      });
      body.replaceChildren(table);
      body.classList.remove("text-body-secondary");
    })
    .catch(() => { body.textContent = L.not_available; });
})();

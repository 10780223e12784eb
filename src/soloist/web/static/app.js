// Soloist web app: CSRF header for HTMX, auto-submitting selects, and the dashboard charts.
(function () {
  "use strict";

  document.addEventListener("htmx:configRequest", function (event) {
    var body = document.body;
    event.detail.headers[body.dataset.csrfHeader] = body.dataset.csrfToken;
  });

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function drawCharts() {
    var source = document.getElementById("dashboard-data");
    if (!source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    window.soloistCharts = {};
    Chart.defaults.animation = false;
    var revenue = document.getElementById("revenue-chart");
    if (revenue) {
      window.soloistCharts.revenue = new Chart(revenue, {
        type: "line",
        data: {
          labels: data.revenue.labels,
          datasets: [{
            label: revenue.dataset.label, data: data.revenue.values,
            borderColor: "#2563eb", backgroundColor: "rgba(37, 99, 235, 0.15)", fill: true,
            tension: 0.25
          }]
        },
        options: { responsive: true, plugins: { legend: { display: false } } }
      });
    }
    var segments = document.getElementById("segment-chart");
    if (segments) {
      window.soloistCharts.segments = new Chart(segments, {
        type: "bar",
        data: {
          labels: data.segments.labels,
          datasets: [
            { label: segments.dataset.label, data: data.segments.customers,
              backgroundColor: "#2563eb", yAxisID: "y" },
            { label: segments.dataset.valueLabel, data: data.segments.value,
              backgroundColor: "#f59e0b", yAxisID: "y1" }
          ]
        },
        options: {
          responsive: true,
          scales: { y: { position: "left" }, y1: { position: "right", grid: { drawOnChartArea: false } } }
        }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    autosubmit();
    drawCharts();
  });
})();

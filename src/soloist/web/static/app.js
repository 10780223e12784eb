// Soloist web app: CSRF header for HTMX, auto-submitting selects, print buttons, the dashboard charts, the
// campaign editor (language and A/B version tabs, live preview, field buttons, confirm dialogs,
// results chart) and the journey editor (the fields of the chosen trigger and action).
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
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
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
      // A month the data end inside of is partial: the line to it is dashed, its point hollow.
      var partial = data.revenue.partial || [];
      var isPartial = function (i) { return !!partial[i]; };
      window.soloistCharts.revenue = new Chart(revenue, {
        type: "line",
        data: {
          labels: data.revenue.labels,
          datasets: [{
            label: revenue.dataset.label, data: data.revenue.values,
            borderColor: "#2563eb", backgroundColor: "rgba(37, 99, 235, 0.15)", fill: true,
            tension: 0.25,
            segment: {
              borderDash: function (ctx) { return isPartial(ctx.p1DataIndex) ? [6, 4] : undefined; },
              borderColor: function (ctx) {
                return isPartial(ctx.p1DataIndex) ? "rgba(37, 99, 235, 0.45)" : undefined;
              }
            },
            pointBackgroundColor: data.revenue.values.map(function (_, i) {
              return isPartial(i) ? "#ffffff" : "#2563eb";
            })
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

  // --- the campaign editor -------------------------------------------------------------------

  function activePanel(editor) {
    return editor.querySelector(".panel.on") || editor.querySelector(".panel");
  }

  // The panel shown is the chosen language's, of the chosen A/B version (A when there are none).
  function showPanel(editor) {
    var language = document.getElementById("active-tab");
    var variant = document.getElementById("active-variant");
    editor.querySelectorAll(".panel").forEach(function (panel) {
      var same = panel.dataset.language === (language ? language.value : "en") &&
        (panel.dataset.variant || "A") === (variant ? variant.value : "A");
      panel.classList.toggle("on", same);
    });
  }

  function campaignEditor() {
    var editor = document.querySelector("form[data-preview-url]");
    var pane = document.getElementById("preview");
    if (!editor || !pane) { return; }
    var customer = document.getElementById("preview-customer");
    var body = document.body;
    var timer = null;
    var sent = 0;
    var lastFocused = null;

    function refresh() {
      var panel = activePanel(editor);
      var data = new FormData();
      data.append("language", panel.dataset.language);
      data.append("subject", panel.querySelector("[data-part=subject]").value);
      data.append("body", panel.querySelector("[data-part=body]").value);
      data.append("customer", customer ? customer.value : "");
      var headers = {};
      headers[body.dataset.csrfHeader] = body.dataset.csrfToken;
      var mine = ++sent;
      pane.setAttribute("aria-busy", "true");
      fetch(editor.dataset.previewUrl, {
        method: "POST", body: data, headers: headers, credentials: "same-origin"
      }).then(function (response) { return response.text(); }).then(function (html) {
        if (mine !== sent) { return; }  // an older answer arriving late
        pane.innerHTML = html;
        pane.removeAttribute("aria-busy");
      }).catch(function () { pane.removeAttribute("aria-busy"); });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 300);
    }

    editor.addEventListener("input", function (event) {
      if (event.target.closest(".panel")) { later(); }
    });
    editor.addEventListener("focusin", function (event) {
      if (event.target.matches("[data-part]")) { lastFocused = event.target; }
    });
    if (customer) { customer.addEventListener("input", later); }

    editor.querySelectorAll(".tab").forEach(function (tab) {
      tab.addEventListener("click", function () {
        editor.querySelectorAll(".tab").forEach(function (other) {
          other.setAttribute("aria-selected", other === tab ? "true" : "false");
        });
        var chosen = document.getElementById("active-tab");
        if (chosen) { chosen.value = tab.dataset.language; }
        showPanel(editor);
        lastFocused = null;
        refresh();
      });
    });

    // A/B versions: a tab each; the "add" tab becomes a version of its own when chosen, and
    // switches the test on (the sample-size guide then plans for one more version).
    editor.querySelectorAll(".variant-tab").forEach(function (tab) {
      tab.addEventListener("click", function () {
        editor.querySelectorAll(".variant-tab").forEach(function (other) {
          other.setAttribute("aria-selected", other === tab ? "true" : "false");
        });
        if (tab.classList.contains("add")) {
          tab.classList.remove("add");
          tab.textContent = tab.dataset.written;
          var count = document.getElementById("variant-count");
          if (count) { count.value = String(editor.querySelectorAll(".variant-tab:not(.add)").length); }
          var toggle = document.getElementById("ab-toggle");
          if (toggle) {
            toggle.checked = true;
            toggle.dispatchEvent(new Event("change", { bubbles: true }));
          }
        }
        var chosen = document.getElementById("active-variant");
        if (chosen) { chosen.value = tab.dataset.variant; }
        showPanel(editor);
        lastFocused = null;
        refresh();
      });
    });

    editor.querySelectorAll("button.field").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = lastFocused && lastFocused.closest(".panel.on") ? lastFocused
          : activePanel(editor).querySelector("[data-part=body]");
        var text = button.dataset.insert;
        var start = target.selectionStart, end = target.selectionEnd;
        target.value = target.value.slice(0, start) + text + target.value.slice(end);
        target.focus();
        target.selectionStart = target.selectionEnd = start + text.length;
        target.dispatchEvent(new Event("input", { bubbles: true }));
      });
    });
    refresh();
  }

  function dialogs() {
    document.querySelectorAll("[data-open-dialog]").forEach(function (button) {
      button.addEventListener("click", function () {
        var dialog = document.getElementById(button.dataset.openDialog);
        if (dialog && dialog.showModal) { dialog.showModal(); }
      });
    });
    document.querySelectorAll("[data-close-dialog]").forEach(function (button) {
      button.addEventListener("click", function () { button.closest("dialog").close(); });
    });
  }

  function drawCampaignChart() {
    var source = document.getElementById("campaign-data");
    var canvas = document.getElementById("campaign-chart");
    if (!source || !canvas || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    Chart.defaults.animation = false;
    window.soloistCharts = window.soloistCharts || {};
    window.soloistCharts.campaign = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: canvas.dataset.label, data: data.clicks, backgroundColor: "#2563eb" },
          { label: canvas.dataset.valueLabel, data: data.orders, backgroundColor: "#f59e0b" }
        ]
      },
      options: { responsive: true, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  // The journey editor shows the fields of the chosen trigger and action only.
  function journeyEditor() {
    var form = document.getElementById("journey-form");
    if (!form) { return; }
    var trigger = document.getElementById("trigger-select");
    function show() {
      var chosenTrigger = trigger ? trigger.value : form.dataset.trigger;
      var action = form.querySelector("[name=action]:checked");
      var chosenAction = action ? action.value : form.dataset.action;
      form.querySelectorAll("[data-triggers]").forEach(function (field) {
        field.hidden = field.dataset.triggers.split(" ").indexOf(chosenTrigger) < 0;
      });
      form.querySelectorAll("[data-action]").forEach(function (field) {
        field.hidden = field.dataset.action !== chosenAction;
      });
    }
    form.addEventListener("change", show);
    show();
    var recent = document.getElementById("recent-customer");
    var typed = document.getElementById("timeline-customer");
    if (recent && typed) {
      recent.addEventListener("change", function () {
        typed.value = recent.value;
        if (recent.value) { recent.form.requestSubmit(); }
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    autosubmit();
    drawCharts();
    campaignEditor();
    journeyEditor();
    dialogs();
    drawCampaignChart();
  });
})();

// --- support desk: the canned-reply picker ------------------------------------------------
// The ticket page writes each canned reply out for its customer (#canned-data); "Insert" puts
// the chosen one where the cursor is (at the end, after a blank line, before the reply was
// touched) instead of sending the form, which without JavaScript does the same on the server.
(function () {
  "use strict";

  function cannedPicker() {
    var source = document.getElementById("canned-data");
    var button = document.getElementById("insert-canned");
    var select = document.getElementById("canned-select");
    var body = document.getElementById("reply-body");
    if (!source || !button || !select || !body) { return; }
    var texts = JSON.parse(source.textContent);
    var touched = false;
    body.addEventListener("focus", function () { touched = true; });
    button.addEventListener("click", function (event) {
      var text = texts[select.value];
      if (typeof text !== "string") { return; }  // not written out here: the server inserts it
      event.preventDefault();
      var start, end;
      if (touched) {
        start = body.selectionStart;
        end = body.selectionEnd;
      } else {
        var kept = body.value.replace(/\s+$/, "");
        body.value = kept ? kept + "\n\n" : "";
        start = end = body.value.length;
      }
      body.value = body.value.slice(0, start) + text + body.value.slice(end);
      body.focus();
      body.selectionStart = body.selectionEnd = start + text.length;
      body.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  document.addEventListener("DOMContentLoaded", cannedPicker);
})();
// --- end of the support desk ----------------------------------------------------------------

// --- sales pipeline: the board's drag and drop, the reason dialog, the forecast chart -------
// A card dragged to another column moves there at once and its move is posted (the card's own
// "Move to" form, as JSON); the board and the forecast are then read again, so the columns' sums
// are the server's. A refused move puts the card back and says why. A drop on the won or lost
// column first asks the reason in a dialog (a lost deal needs one); closing it puts the card
// back. Without JavaScript the "Move to" form does the same, asking the reason on a page.
(function () {
  "use strict";

  var drag = null;  // {card, from, next}: what is dragged, and where it came from
  var pending = null;  // the drop waiting for its reason

  function drawForecast() {
    var source = document.getElementById("forecast-data");
    var canvas = document.getElementById("forecast-chart");
    if (!source || !canvas || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    window.soloistCharts = window.soloistCharts || {};
    if (window.soloistCharts.forecast) { window.soloistCharts.forecast.destroy(); }
    Chart.defaults.animation = false;
    window.soloistCharts.forecast = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: canvas.dataset.label, data: data.weighted, backgroundColor: "#2563eb" },
          { label: canvas.dataset.valueLabel, data: data.won, backgroundColor: "#047857" }
        ]
      },
      options: { responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } }
    });
  }

  function message(text) {
    var box = document.getElementById("board-message");
    if (!box) { return; }
    box.textContent = text || "";
    box.hidden = !text;
  }

  function putBack(move) {
    if (move.from) { move.from.insertBefore(move.card, move.next && move.next.parentNode === move.from ? move.next : null); }
    move.card.focus && move.card.focus();
  }

  // Read the page again and swap in its board and forecast (the sums, the moved card's form).
  function refresh() {
    return fetch(location.pathname + location.search, {
      credentials: "same-origin", headers: { Accept: "text/html" }
    }).then(function (response) { return response.text(); }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      ["forecast", "forecast-data", "board"].forEach(function (id) {
        var now = document.getElementById(id), next = fresh.getElementById(id);
        if (now && next) { now.replaceWith(document.adoptNode(next)); }
      });
      drawForecast();
      var board = document.getElementById("board");
      if (board) { board.dataset.refreshed = String(Date.now()); }
    });
  }

  function send(move, stage, reason) {
    var body = document.body;
    var board = document.getElementById("board");
    var data = new FormData();
    data.append("stage", stage);
    data.append("reason", reason || "");
    data.append("asked", "dialog");
    var headers = { Accept: "application/json" };
    headers[body.dataset.csrfHeader] = body.dataset.csrfToken;
    var failed = board ? board.dataset.moveFailed : "";
    board && board.setAttribute("aria-busy", "true");
    fetch("/deals/" + move.card.dataset.deal + "/move", {
      method: "POST", body: data, headers: headers, credentials: "same-origin"
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { ok: response.ok && answer.ok, answer: answer };
      });
    }).then(function (result) {
      if (!result.ok) {
        putBack(move);
        message(result.answer.error || failed);
        return null;
      }
      message("");
      return refresh();
    }).catch(function () {
      putBack(move);
      message(failed);
    }).then(function () {
      var now = document.getElementById("board");
      if (now) { now.removeAttribute("aria-busy"); }
    });
  }

  function askReason(move, column) {
    var dialog = document.getElementById("reason-dialog");
    if (!dialog || !dialog.showModal) { putBack(move); return; }
    var outcome = column.dataset.outcome;
    dialog.querySelectorAll("[data-for]").forEach(function (part) {
      part.hidden = part.dataset.for !== outcome;
    });
    document.getElementById("reason-stage").value = column.dataset.stage;
    var text = document.getElementById("reason-text");
    text.value = "";
    text.required = outcome === "lost";
    var error = document.getElementById("reason-error");
    error.hidden = true;
    error.textContent = "";
    pending = { move: move, stage: column.dataset.stage, outcome: outcome };
    dialog.returnValue = "";
    dialog.showModal();
    text.focus();
  }

  function reasonDialog() {
    var dialog = document.getElementById("reason-dialog");
    if (!dialog) { return; }
    var form = document.getElementById("reason-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!pending) { dialog.close(); return; }
      var reason = document.getElementById("reason-text").value.trim();
      if (pending.outcome === "lost" && !reason) {
        var error = document.getElementById("reason-error");
        var board = document.getElementById("board");
        error.textContent = board ? board.dataset.reasonNeeded : "";
        error.hidden = false;
        return;
      }
      var chosen = pending;
      pending = null;
      dialog.close("sent");
      send(chosen.move, chosen.stage, reason);
    });
    document.getElementById("reason-cancel").addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("close", function () {
      if (pending) { putBack(pending.move); pending = null; }
    });
  }

  function columnOf(target) {
    return target && target.closest ? target.closest("#board .column") : null;
  }

  function highlight(column) {
    document.querySelectorAll("#board .column.drop-target").forEach(function (other) {
      if (other !== column) { other.classList.remove("drop-target"); }
    });
    if (column) { column.classList.add("drop-target"); }
  }

  function dragAndDrop() {
    document.addEventListener("dragstart", function (event) {
      var card = event.target && event.target.closest
        ? event.target.closest("#board .deal-card[draggable=true]") : null;
      if (!card) { return; }
      drag = { card: card, from: card.parentNode, next: card.nextElementSibling };
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", card.dataset.deal);
      card.classList.add("dragging");
    });
    document.addEventListener("dragend", function () {
      if (drag) { drag.card.classList.remove("dragging"); }
      highlight(null);
      drag = null;
    });
    document.addEventListener("dragover", function (event) {
      var column = drag ? columnOf(event.target) : null;
      if (!column) { return; }
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      highlight(column);
    });
    document.addEventListener("drop", function (event) {
      var column = drag ? columnOf(event.target) : null;
      if (!column) { return; }
      event.preventDefault();
      var move = drag;
      drag = null;
      move.card.classList.remove("dragging");
      highlight(null);
      if (column.dataset.stage === move.card.dataset.stage) { return; }
      column.querySelector("ul.cards").appendChild(move.card);
      message("");
      if (column.dataset.outcome === "open") {
        send(move, column.dataset.stage, "");
      } else {
        askReason(move, column);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawForecast();
    if (!document.getElementById("board")) { return; }
    reasonDialog();
    dragAndDrop();
  });
})();
// --- end of the sales pipeline -------------------------------------------------------------

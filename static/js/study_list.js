// Study list: refresh the status and result of studies that are still queued or running.
(function () {
  "use strict";

  var table = document.getElementById("study-table");
  if (!table || !window.XMLHttpRequest) {
    return;
  }
  var statusUrl = table.dataset.statusUrl;
  var POLL_INTERVAL_MS = 3000;
  var timer = null;

  function pendingRows() {
    return Array.prototype.filter.call(table.querySelectorAll("tbody tr[data-study-id]"), function (row) {
      return row.dataset.status === "queued" || row.dataset.status === "running";
    });
  }

  function badge(className, text, spinning) {
    var span = document.createElement("span");
    span.className = "badge badge--" + className;
    if (spinning) {
      var spinner = document.createElement("span");
      spinner.className = "spinner";
      spinner.setAttribute("aria-hidden", "true");
      span.appendChild(spinner);
      span.appendChild(document.createTextNode(" "));
    }
    span.appendChild(document.createTextNode(text));
    return span;
  }

  function update(row, study) {
    row.dataset.status = study.status;
    var statusCell = row.querySelector(".js-status");
    statusCell.replaceChildren(badge(study.badge, study.status_label, study.status === "running"));
    var resultCell = row.querySelector(".js-result");
    if (study.result_label) {
      resultCell.replaceChildren(badge(study.result_badge, study.result_label, false));
      if (study.is_demo) {
        resultCell.appendChild(document.createTextNode(" "));
        resultCell.appendChild(badge("demo", study.demo_label, false));
      }
    }
  }

  function poll() {
    var rows = pendingRows();
    if (!rows.length) {
      window.clearInterval(timer);
      return;
    }
    var byId = {};
    rows.forEach(function (row) {
      byId[row.dataset.studyId] = row;
    });
    var request = new XMLHttpRequest();
    request.open("GET", statusUrl + "?ids=" + Object.keys(byId).join(","));
    request.setRequestHeader("Accept", "application/json");
    request.addEventListener("load", function () {
      if (request.status !== 200) {
        return;
      }
      (JSON.parse(request.responseText).studies || []).forEach(function (study) {
        if (byId[study.id]) {
          update(byId[study.id], study);
        }
      });
    });
    request.send();
  }

  if (pendingRows().length) {
    timer = window.setInterval(poll, POLL_INTERVAL_MS);
  }
})();

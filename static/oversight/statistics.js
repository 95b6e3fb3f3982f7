// Charts of the statistics page, drawn on <canvas> without any library, so the page works offline.
(function () {
  "use strict";

  // IPAexGothic is served by the application, so Japanese labels never depend on the client's fonts.
  var CHART_FONT = '12px "IPAexGothic", sans-serif';
  var COLOURS = { normal: "#2e7d4f", old: "#b07d12", fresh: "#b3261e", bar: "#2f5d8a",
                  mri_recommended: "#b3261e", no_fresh_fracture_found: "#2e7d4f", not_assessable: "#8a6d3b" };

  function readJson(id) {
    var element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  // Return a tick step of 1, 2 or 5 times a power of ten (at least 1, because counts are whole)
  // that divides 0..maximum into at most four intervals.
  function tickStep(maximum) {
    var rough = maximum / 4;
    var power = Math.pow(10, Math.floor(Math.log10(Math.max(rough, 1))));
    var candidates = [1, 2, 5, 10];
    for (var index = 0; index < candidates.length; index += 1) {
      if (candidates[index] * power >= rough) {
        return candidates[index] * power;
      }
    }
    return 10 * power;
  }

  // Draw grouped or stacked bars. series: [{name, colour, values}], one value per label.
  function drawBars(canvas, labels, series, options) {
    var context = canvas.getContext("2d");
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.clientWidth || canvas.width;
    var height = canvas.height;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.height = height + "px";
    context.scale(ratio, ratio);
    context.clearRect(0, 0, width, height);
    context.font = CHART_FONT;

    var left = 40, right = 10, top = 10, bottom = series.length > 1 ? 52 : 36;
    var plotWidth = width - left - right, plotHeight = height - top - bottom;
    var stacked = options && options.stacked;
    var maximum = 0;
    labels.forEach(function (_, index) {
      if (stacked) {
        maximum = Math.max(maximum, series.reduce(function (sum, s) { return sum + (s.values[index] || 0); }, 0));
      } else {
        series.forEach(function (s) { maximum = Math.max(maximum, s.values[index] || 0); });
      }
    });
    if (labels.length === 0 || maximum === 0) {
      context.fillStyle = "#666";
      context.fillText(canvas.dataset.empty || "–", left, top + plotHeight / 2);
      return;
    }

    // Axis with about four round ticks. The axis ends at the first tick at or above the tallest
    // bar, and bars are scaled to that end, so the top label is never below the tallest bar.
    var step = tickStep(maximum);
    var axisMaximum = Math.ceil(maximum / step) * step;
    context.strokeStyle = "#ccc";
    context.fillStyle = "#444";
    context.textAlign = "right";
    for (var tick = 0; tick <= axisMaximum; tick += step) {
      var y = top + plotHeight - (tick / axisMaximum) * plotHeight;
      context.beginPath();
      context.moveTo(left, y);
      context.lineTo(left + plotWidth, y);
      context.stroke();
      context.fillText(String(tick), left - 4, y + 4);
    }

    var slot = plotWidth / labels.length;
    var barWidth = stacked ? slot * 0.7 : (slot * 0.8) / series.length;
    var labelEvery = Math.ceil(labels.length / Math.max(1, Math.floor(plotWidth / 70)));
    labels.forEach(function (label, index) {
      var x = left + index * slot + slot * 0.1;
      var base = top + plotHeight;
      series.forEach(function (s, seriesIndex) {
        var value = s.values[index] || 0;
        var barHeight = (value / axisMaximum) * plotHeight;
        context.fillStyle = s.colour;
        if (stacked) {
          context.fillRect(x, base - barHeight, barWidth, barHeight);
          base -= barHeight;
        } else {
          context.fillRect(x + seriesIndex * barWidth, base - barHeight, barWidth - 1, barHeight);
        }
      });
      if (index % labelEvery === 0) {
        context.fillStyle = "#444";
        context.textAlign = "center";
        context.fillText(label, left + index * slot + slot / 2, top + plotHeight + 14);
      }
    });

    if (series.length > 1) {
      var legendX = left;
      context.textAlign = "left";
      series.forEach(function (s) {
        context.fillStyle = s.colour;
        context.fillRect(legendX, height - 16, 10, 10);
        context.fillStyle = "#333";
        context.fillText(s.name, legendX + 14, height - 7);
        legendX += context.measureText(s.name).width + 32;
      });
    }
  }

  function drawVolume(data, labels, period) {
    var counts = data.overall.studies_by_period[period] || {};
    var keys = Object.keys(counts).sort();
    drawBars(document.getElementById("chart-volume"), keys,
      [{ name: labels.studies, colour: COLOURS.bar, values: keys.map(function (k) { return counts[k]; }) }]);
  }

  function drawResults(data, labels) {
    var results = data.overall.results_by_status;
    var keys = Object.keys(results);
    var series = keys.map(function (key, index) {
      var values = keys.map(function () { return 0; });
      values[index] = results[key];
      return { name: labels.results[key] || key, colour: COLOURS[key] || COLOURS.bar, values: values };
    });
    drawBars(document.getElementById("chart-results"), keys.map(function (k) { return labels.results[k] || k; }),
      series, { stacked: true });
  }

  function drawLevels(data, labels) {
    var byLevel = data.overall.vertebrae_by_level_and_class;
    var levels = Object.keys(byLevel);
    var series = Object.keys(labels.classes).map(function (name) {
      return { name: labels.classes[name], colour: COLOURS[name],
               values: levels.map(function (level) { return byLevel[level][name] || 0; }) };
    });
    drawBars(document.getElementById("chart-levels"), levels, series, { stacked: true });
  }

  function start() {
    var data = readJson("statistics-data");
    var labels = readJson("statistics-labels");
    if (!data || !labels) { return; }
    document.querySelectorAll("canvas.chart").forEach(function (canvas) { canvas.dataset.empty = labels.empty; });
    var period = "day";
    function redraw() {
      drawVolume(data, labels, period);
      drawResults(data, labels);
      drawLevels(data, labels);
    }
    document.querySelectorAll("#period-switch input").forEach(function (input) {
      input.addEventListener("change", function () { period = input.value; drawVolume(data, labels, period); });
    });
    window.addEventListener("resize", redraw);
    redraw();
    // Canvas text does not wait for web fonts, so draw again once the chart font has loaded.
    if (document.fonts && document.fonts.load) {
      document.fonts.load(CHART_FONT).then(redraw, function () { /* keep the fallback rendering */ });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

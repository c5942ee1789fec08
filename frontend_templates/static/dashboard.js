/* Coordinator dashboard: draws each [data-chart] with ECharts from its JSON block
   (<script type="application/json" id="chart-data-KEY">, labels already in the page's language).
   Canvas renderer and tooltips drawn on the canvas: nothing needs inline styles (strict CSP).
   Without JavaScript the tables behind "Show data" hold every figure. */
(function () {
  "use strict";

  var COLORS = ["#2f6fb3", "#e07b39", "#3a9b5c", "#8c5bb5", "#c9a227", "#d1495b"];

  function narrow() {
    return window.matchMedia("(max-width: 575px)").matches;
  }

  function valueAxis(unit) {
    return {
      type: "value",
      minInterval: unit ? 0 : 1,
      axisLabel: { formatter: unit === "%" ? "{value}%" : "{value}" },
      splitLine: { lineStyle: { color: "#e5e7eb" } }
    };
  }

  function categoryAxis(labels, horizontal, line, width) {
    var label;
    if (horizontal) {
      // names of categories, townships, organizations: wrapped on two lines at most
      label = { width: narrow() ? 112 : 160, overflow: "break", interval: 0, lineHeight: 14 };
    } else if (line) {
      // weeks and months: "2026-06-08" → "06-08", as many as fit
      label = {
        hideOverlap: true,
        formatter: function (value) {
          return /^\d{4}-\d{2}-\d{2}$/.test(value) ? value.slice(5) : value;
        }
      };
    } else {
      // a few bands: every label, wrapped under its bar
      label = { interval: 0, overflow: "break", width: Math.max(48, width / labels.length - 8) };
    }
    return {
      type: "category",
      data: labels,
      inverse: horizontal,
      axisTick: { alignWithLabel: true },
      axisLabel: label
    };
  }

  function option(data, width) {
    var horizontal = data.kind === "hbar" || data.kind === "stack";
    var line = data.kind === "line";
    var series = data.series.map(function (s) {
      return {
        name: s.name,
        type: line ? "line" : "bar",
        data: s.values,
        stack: data.kind === "stack" ? "all" : undefined,
        showSymbol: false,
        smooth: false,
        barMaxWidth: 28,
        emphasis: { focus: "series" }
      };
    });
    return {
      color: COLORS,
      animation: false,
      // the container keeps its own aria-label (the chart's title); the figures are in the table
      // behind "Show data" (ECharts' generated description reads empty cells as "NaN")
      aria: { enabled: false },
      textStyle: { fontSize: 12 },
      legend: series.length > 1 ? { type: "scroll", top: 0, left: 0 } : undefined,
      tooltip: {
        trigger: "axis",
        renderMode: "richText",
        confine: true,
        axisPointer: { type: line ? "line" : "shadow" }
      },
      grid: {
        top: series.length > 1 ? 36 : 12,
        left: 8,
        right: 16,
        bottom: 8,
        containLabel: true
      },
      xAxis: horizontal ? valueAxis(data.unit) : categoryAxis(data.labels, false, line, width),
      yAxis: horizontal ? categoryAxis(data.labels, true, line, width) : valueAxis(data.unit),
      series: series
    };
  }

  function draw() {
    if (!window.echarts) {
      return;
    }
    var locale = (document.documentElement.lang || "").indexOf("zh") === 0 ? "ZH" : "EN";
    var charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById("chart-data-" + el.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      var data = JSON.parse(source.textContent);
      if (data.kind === "hbar" || data.kind === "stack") {
        var legend = data.series.length > 1 ? 36 : 12;
        var perRow = data.kind === "hbar" ? 20 + 12 * Math.min(data.series.length, 3) : 36;
        el.style.height = Math.max(160, data.labels.length * perRow + legend + 40) + "px";
      }
      var chart = window.echarts.init(el, null, { renderer: "canvas", locale: locale });
      chart.setOption(option(data, el.clientWidth));
      el.setAttribute("data-drawn", "true");
      charts.push(chart);
    });
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        charts.forEach(function (c) { c.resize(); });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

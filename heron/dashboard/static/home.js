/* Home page: apps, latest events and the events chart, refreshed every 2 s. */
(function () {
  "use strict";
  const root = document.getElementById("home");
  const initial = JSON.parse(document.getElementById("home-data").textContent);
  const chartBox = document.getElementById("events-chart");
  const chartError = document.getElementById("events-chart-error");
  const chart = echarts.init(chartBox);
  window.addEventListener("resize", function () { chart.resize(); });
  const fmt = new Intl.NumberFormat();

  function timeLabel(epoch, step) {
    return heron.time(epoch, initial.timezone, step >= 86400 ? "date" : "time");
  }

  function drawChart(c) {
    const labels = c.buckets.map(function (b) { return timeLabel(b, c.step); });
    const kinds = Object.keys(c.series);
    // Every kind in the legend at once, on as many lines as it takes (never paged): the
    // chart grows by the legend's lines.
    const perLine = Math.max(1, Math.floor(chartBox.clientWidth / 105));
    const rows = Math.max(1, Math.ceil(kinds.length / perLine));
    const height = 270 + 22 * rows + "px";
    if (chartBox.style.height !== height) { chartBox.style.height = height; chart.resize(); }
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { type: "plain", bottom: 0, left: 0, right: 0, itemGap: 8 },
      grid: { left: 55, right: 15, top: 30, bottom: 50 + 22 * rows },
      xAxis: { type: "category", data: labels, name: "time (" + initial.timezone + ")", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: "events per " + (c.step >= 3600 ? (c.step / 3600) + " h" : (c.step / 60) + " min"), minInterval: 1 },
      series: kinds.map(function (k) { return { name: k, type: "bar", stack: "events", data: c.series[k] }; }),
    }, { replaceMerge: ["series"] });
  }

  function renderApps(data) {
    const params = new URLSearchParams(window.location.search);
    const tbody = document.querySelector("#apps-table tbody");
    tbody.replaceChildren.apply(tbody, data.apps.map(function (a) {
      params.set("app", a.app);
      const kinds = Object.entries(a.kinds).map(function ([k, n]) {
        return heron.el("span", { "class": "badge text-bg-light border me-1", text: k + " " + fmt.format(n) });
      });
      return heron.el("tr", { "data-app": a.app }, [
        heron.el("td", {}, [heron.el("span", { "class": "heron-health", "data-health": a.health, text: a.health })]),
        heron.el("td", {}, [heron.el("a", { href: "?" + params.toString(), text: a.app })]),
        heron.el("td", { "class": "text-end heron-num", text: fmt.format(a.total) }),
        heron.el("td", {}, kinds),
        heron.el("td", {}, [heron.el("time", { datetime: String(a.last_received_at), title: a.last_seen, text: heron.ago(a.last_received_at, data.now) })]),
      ]);
    }));
    document.getElementById("home-empty").hidden = data.apps.length > 0;
    document.getElementById("apps-card").hidden = data.apps.length === 0;
  }

  function renderRecent(data) {
    const tbody = document.querySelector("#recent-table tbody");
    tbody.replaceChildren.apply(tbody, data.recent.map(function (e) {
      return heron.el("tr", {}, [
        heron.el("td", {}, [heron.el("time", { title: e.time, text: e.clock })]),
        heron.el("td", { text: e.app }),
        heron.el("td", {}, [heron.el("span", { "class": "badge text-bg-light border", text: e.kind })]),
      ]);
    }));
  }

  function render(data) {
    renderApps(data);
    renderRecent(data);
    chartError.hidden = true;
    drawChart(data.chart);
  }

  drawChart(initial.chart);
  heron.poll(function () { return root.dataset.api + window.location.search; }, 2000, render,
    function (err) { chartError.hidden = false; chartError.textContent = "Could not load new data: " + err.message; });
})();

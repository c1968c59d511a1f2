/* Run class page: mean of a metric over time, one line per value of the chosen dimension. */
(function () {
  "use strict";
  const box = document.getElementById("series-chart");
  if (!box) return;
  const error = document.getElementById("series-error");
  const chart = echarts.init(box);
  window.addEventListener("resize", function () { chart.resize(); });

  function draw(data) {
    const labels = data.buckets.map(function (b) {
      return heron.time(b, data.timezone, "short");
    });
    const names = Object.keys(data.series);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : Number(v).toPrecision(4); } },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 60, right: 15, top: 30, bottom: 70 },
      xAxis: { type: "category", data: labels, name: "time (" + data.timezone + ")", nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: "mean " + box.dataset.metric, scale: true },
      series: names.map(function (n) { return { name: n + " (" + data.counts[n] + ")", type: "line", connectNulls: true, showSymbol: true, symbolSize: 5, data: data.series[n] }; }),
    }, { replaceMerge: ["series"] });
    if (!names.length) {
      chart.setOption({ title: { text: "No values of this metric in the time window", left: "center", top: "middle", textStyle: { fontSize: 14, color: "#6c757d" } } });
    }
  }

  function load() {
    fetch(box.dataset.api, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error("server answered " + r.status); return r.json(); })
      .then(function (d) { error.hidden = true; draw(d); })
      .catch(function (err) { error.hidden = false; error.textContent = "Could not load the chart: " + err.message; });
  }
  load();
  heron.poll(function () { return box.dataset.api; }, 10000, function (d) { error.hidden = true; draw(d); });
})();
